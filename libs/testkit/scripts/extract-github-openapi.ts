/**
 * Extracts the GitHub REST operations octorun uses, and every component they reference, from
 * `@octokit/openapi` into `src/github-simulator/openapi-subset.json` (committed), so that no install
 * carries the ~400 MB package. Repository, organization, App and rate-limit routes come from
 * GitHub's github.com description, enterprise routes from the GHEC one (they exist only there).
 *
 *   node_modules/.bin/node libs/testkit/scripts/extract-github-openapi.ts [--check]
 *
 * The package is fetched on demand with `npm pack` into ~/.cache/octorun/openapi/<version>/.
 * `--check` compares the committed file with a fresh extraction instead of writing it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

export const OPENAPI_PACKAGE = "@octokit/openapi";
export const OPENAPI_VERSION = "23.0.2";

/** Operation ids per description file. */
export const OPERATIONS = {
  "api.github.com": [
    "apps/get-authenticated",
    "apps/get-org-installation",
    "apps/get-repo-installation",
    "apps/create-installation-access-token",
    "apps/list-webhook-deliveries",
    "apps/redeliver-webhook-delivery",
    "rate-limit/get",
    "actions/create-registration-token-for-repo",
    "actions/create-remove-token-for-repo",
    "actions/generate-runner-jitconfig-for-repo",
    "actions/list-self-hosted-runners-for-repo",
    "actions/get-self-hosted-runner-for-repo",
    "actions/delete-self-hosted-runner-from-repo",
    "actions/create-registration-token-for-org",
    "actions/create-remove-token-for-org",
    "actions/generate-runner-jitconfig-for-org",
    "actions/list-self-hosted-runners-for-org",
    "actions/get-self-hosted-runner-for-org",
    "actions/delete-self-hosted-runner-from-org",
    "actions/list-self-hosted-runner-groups-for-org",
    "actions/get-self-hosted-runner-group-for-org",
    "actions/get-job-for-workflow-run",
  ],
  ghec: [
    "enterprise-admin/create-registration-token-for-enterprise",
    "enterprise-admin/create-remove-token-for-enterprise",
    "actions/generate-runner-jitconfig-for-enterprise",
    "enterprise-admin/list-self-hosted-runners-for-enterprise",
    "enterprise-admin/get-self-hosted-runner-for-enterprise",
    "enterprise-admin/delete-self-hosted-runner-from-enterprise",
    "enterprise-admin/list-self-hosted-runner-groups-for-enterprise",
  ],
} as const;

export type DocumentName = keyof typeof OPERATIONS;

const FILES: Record<DocumentName, string> = {
  "api.github.com": "generated/api.github.com.json",
  ghec: "generated/ghec.json",
};

/** Components every simulated error response needs even if no selected operation names them. */
const ALWAYS = ["#/components/schemas/basic-error", "#/components/schemas/validation-error-simple"];

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

export interface OpenApiSubset {
  package: string;
  version: string;
  documents: Record<
    DocumentName,
    {
      file: string;
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: Record<string, Record<string, unknown>>;
    }
  >;
}

export const subsetPath = join(dirname(fileURLToPath(import.meta.url)), "../src/github-simulator/openapi-subset.json");

export function packageDir(version: string = OPENAPI_VERSION): string {
  return join(homedir(), ".cache/octorun/openapi", version, "package");
}

/** True when the package's description files are in the cache (the check test runs only then). */
export function packagePresent(version: string = OPENAPI_VERSION): boolean {
  return Object.values(FILES).every((file) => existsSync(join(packageDir(version), file)));
}

/** `npm pack` + unpack of just the two description files. */
export function fetchPackage(version: string = OPENAPI_VERSION): void {
  if (packagePresent(version)) return;
  const root = join(homedir(), ".cache/octorun/openapi");
  const dest = join(root, version);
  mkdirSync(dest, { recursive: true });
  const tarball = execFileSync(
    "npm",
    ["pack", `${OPENAPI_PACKAGE}@${version}`, "--silent", "--pack-destination", root],
    { encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .pop();
  if (!tarball) throw new Error(`npm pack ${OPENAPI_PACKAGE}@${version} printed no file name`);
  execFileSync("tar", [
    "xzf",
    join(root, tarball),
    "-C",
    dest,
    "package/package.json",
    ...Object.values(FILES).map((f) => `package/${f}`),
  ]);
}

function resolvePointer(doc: Record<string, unknown>, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`external $ref not supported: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null || !(key in node)) throw new Error(`dangling $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function collectRefs(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
  } else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") into.add(value);
      else collectRefs(value, into);
    }
  }
}

/** The pure part: picks the operations and the transitive closure of their `$ref`s. */
export function extractDocument(doc: Record<string, unknown>, operationIds: readonly string[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  const wanted = new Set(operationIds);
  const found = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of METHODS) {
      const op = item[method] as { operationId?: string } | undefined;
      if (op?.operationId && wanted.has(op.operationId)) {
        paths[path] ??= {};
        (paths[path] as Record<string, unknown>)[method] = op;
        found.add(op.operationId);
      }
    }
  }
  const missing = operationIds.filter((id) => !found.has(id));
  if (missing.length > 0) throw new Error(`operations not in the description: ${missing.join(", ")}`);

  const refs = new Set<string>(ALWAYS);
  collectRefs(paths, refs);
  const done = new Set<string>();
  const components: Record<string, Record<string, unknown>> = {};
  while (done.size < refs.size) {
    for (const ref of [...refs]) {
      if (done.has(ref)) continue;
      done.add(ref);
      const target = resolvePointer(doc, ref);
      // "#/components/<kind>/<name>"
      const kind = ref.split("/")[2] as string;
      const key = (ref.split("/")[3] ?? "").replace(/~1/g, "/").replace(/~0/g, "~");
      components[kind] ??= {};
      (components[kind] as Record<string, unknown>)[key] = target;
      collectRefs(target, refs);
    }
  }
  // Stable order, so the committed file diffs cleanly.
  const sorted: Record<string, Record<string, unknown>> = {};
  for (const kind of Object.keys(components).sort()) {
    sorted[kind] = Object.fromEntries(
      Object.entries(components[kind] as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { openapi: doc.openapi as string, paths: sortedPaths, components: sorted };
}

export function extractSubset(version: string = OPENAPI_VERSION): OpenApiSubset {
  const dir = packageDir(version);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; version: string };
  const documents = {} as OpenApiSubset["documents"];
  for (const name of Object.keys(OPERATIONS) as DocumentName[]) {
    const doc = JSON.parse(readFileSync(join(dir, FILES[name]), "utf8")) as Record<string, unknown>;
    documents[name] = { file: FILES[name], ...extractDocument(doc, OPERATIONS[name]) };
  }
  return { package: pkg.name, version: pkg.version, documents };
}

export function readCommittedSubset(): OpenApiSubset {
  return JSON.parse(readFileSync(subsetPath, "utf8")) as OpenApiSubset;
}

export function subsetMatchesPackage(): boolean {
  return isDeepStrictEqual(readCommittedSubset(), extractSubset());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  fetchPackage();
  if (process.argv.includes("--check")) {
    const ok = subsetMatchesPackage();
    console.log(
      ok
        ? "openapi-subset.json matches the package"
        : "openapi-subset.json differs from the package: run without --check",
    );
    process.exit(ok ? 0 : 1);
  }
  const subset = extractSubset();
  writeFileSync(subsetPath, `${JSON.stringify(subset, null, 2)}\n`);
  console.log(`wrote ${subsetPath} from ${subset.package}@${subset.version}`);
}
