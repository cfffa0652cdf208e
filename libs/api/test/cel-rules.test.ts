// The CRDs' own rules (schema and CEL), through a real kube-apiserver with no webhook at all:
// deploy/crds installed as users install them, conversion left to the apiserver. What is refused
// here is refused in every namespace, with the admission webhook down or not installed.

import assert from "node:assert/strict";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { after, before, describe, test } from "node:test";
import { type ControlPlane, installCrds, startControlPlane } from "@octorun/testkit";
import { API_VERSIONS, type ApiVersionName, parseRunnerUrl, RunnerUrlError } from "../src/index.ts";

const NS = "cel";
let cp: ControlPlane;

interface ApiResult {
  code: number;
  body: Record<string, unknown>;
}

/** A raw apiserver call, to read the Status body exactly as a client gets it. */
async function api(method: string, path: string, body?: unknown): Promise<ApiResult> {
  const server = new URL(cp.server);
  const options: RequestOptions = {
    method,
    hostname: server.hostname,
    port: server.port,
    path,
    headers: { "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json" },
  };
  await cp.kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ code: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const path = (version: ApiVersionName, plural: string, name = "") =>
  `/apis/octorun.github.io/${version}/namespaces/${NS}/${plural}${name ? `/${name}` : ""}`;

/**
 * The fields a refusal names. Without the apiserver's notice that it skipped the CEL rules because
 * the schema already refused the object (a cause with no field).
 */
function causes(result: ApiResult): string[] {
  const details = result.body["details"] as { causes?: Array<{ field?: string; message?: string }> } | undefined;
  return (details?.causes ?? [])
    .filter((cause) => !/some validation rules were not checked/.test(cause.message ?? ""))
    .map((cause) => cause.field ?? "");
}

/** Refused by the apiserver itself (no webhook runs here), naming exactly `fields`, each in the message too. */
function assertRefused(result: ApiResult, fields: string[]): void {
  assert.equal(result.code, 422, JSON.stringify(result.body));
  assert.equal(result.body["reason"], "Invalid");
  assert.deepEqual(causes(result), fields);
  for (const field of fields)
    assert.ok(String(result.body["message"]).includes(`${field}: `), String(result.body["message"]));
}

const runner = (version: ApiVersionName, name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: `octorun.github.io/${version}`,
  kind: "Runner",
  metadata: { name },
  spec: { url: "https://github.com/octorun/test-repo", image: { name: "ghcr.io/octorun/runner:v2.288.1" }, ...spec },
});

const runnerSet = (
  version: ApiVersionName,
  name: string,
  selector: unknown,
  labels: Record<string, string> | undefined,
  url = "https://github.com/octorun",
) => ({
  apiVersion: `octorun.github.io/${version}`,
  kind: "RunnerSet",
  metadata: { name },
  spec: { selector, template: { ...(labels ? { metadata: { labels } } : {}), spec: { url } } },
});

before(async () => {
  cp = await startControlPlane();
  await installCrds(cp, { conversion: "None" });
  const created = await cp.kubectl(["create", "namespace", NS]);
  assert.equal(created.code, 0, created.stderr);
});

after(async () => {
  await cp?.stop();
});

for (const version of API_VERSIONS) {
  describe(`${version}: a Runner's spec is immutable except spec.id and spec.os`, () => {
    test("changing, adding or removing a spec field is refused naming the field", async () => {
      const name = `immutable-${version}`;
      const created = await api("POST", path(version, "runners"), runner(version, name, { group: "builders" }));
      assert.equal(created.code, 201, JSON.stringify(created.body));
      const changes: Array<[Record<string, unknown>, string[]]> = [
        [{ group: "other" }, ["spec.group"]],
        [{ workdir: "/w" }, ["spec.workdir"]],
        [{ image: null }, ["spec.image"]],
        [{ url: "https://github.com/octorun/other", serviceAccountName: "x" }, ["spec.serviceAccountName", "spec.url"]],
      ];
      if (version === "v1alpha2") changes.push([{ evictionPolicy: "Never" }, ["spec.evictionPolicy"]]);
      for (const [spec, fields] of changes) {
        const changed = await api("PATCH", path(version, "runners", name), { spec });
        assertRefused(changed, fields);
        assert.match(String(changed.body["message"]), /Forbidden: a Runner's spec is immutable after creation/);
      }
    });

    test("spec.id and spec.os change (who may set them is the webhook's to say); metadata changes", async () => {
      const name = `system-${version}`;
      assert.equal((await api("POST", path(version, "runners"), runner(version, name))).code, 201);
      for (const patch of [
        { spec: { id: 12, os: "Linux" } },
        { spec: { id: 13 } },
        { metadata: { labels: { team: "a" }, annotations: { note: "x" } } },
      ]) {
        const changed = await api("PATCH", path(version, "runners", name), patch);
        assert.equal(changed.code, 200, JSON.stringify(changed.body));
      }
    });
  });
}

describe("spec.url has the shape of a repository, organization or enterprise URL", () => {
  // Hosts and ports are free here: which hosts are allowed is configuration, the webhook's and the
  // controller's to apply.
  const accepted = [
    "https://github.com/octorun/test-repo",
    "https://github.com/octorun",
    "https://github.com/octorun/",
    "https://github.com/octorun/test-repo/",
    "https://www.github.com/octorun",
    "https://GitHub.com/OctoRun/Test.Repo",
    "HTTPS://github.com/octorun",
    "https://github.com/o/.github",
    "https://github.com/octorun/repo.git",
    "https://github.com/a-b-c/x_y-z.1",
    `https://github.com/${"a".repeat(39)}`,
    `https://github.com/o/${"r".repeat(100)}`,
    `https://github.com/o/${"r".repeat(100)}.git`,
    "https://github.com/o/a.git.git",
    "https://github.com/enterprises/acme",
    "https://github.com/enterprises/acme-corp/",
    "https://ghes.example.com/team/app",
    "http://ghes.example.com:8443/team",
    "http://127.0.0.1:3000/acme",
    "https://[::1]:8443/acme/app",
  ];
  const refused = [
    "not a url",
    "github.com/octorun",
    "ftp://ghes.example.com/team",
    "http://github.com/octorun",
    "http://www.github.com/octorun/app",
    "https://user:pw@github.com/octorun",
    "https://github.com/octorun?x=1",
    "https://github.com/octorun#readme",
    "https://github.com/",
    "https://github.com",
    "https://github.com//octorun",
    "https://github.com/a/b/c",
    "https://github.com/-octorun",
    "https://github.com/octorun-",
    "https://github.com/octo--run",
    "https://github.com/octo_run",
    `https://github.com/${"a".repeat(40)}`,
    "https://github.com/octorun/re po",
    "https://github.com/octorun/re%20po",
    `https://github.com/o/${"r".repeat(101)}`,
    "https://github.com/octorun/..",
    "https://github.com/octorun/.git",
    "https://github.com/octorun/..git",
    "https://github.com/octorun/...git/",
    `https://github.com/o/${"r".repeat(101)}.git`,
    "https://github.com/octorun//",
    "https://github.com/enterprises",
    "https://github.com/enterprises/",
    "https://github.com/enterprises/-acme",
    "https://github.com/enterprises/acme/app",
    "https://github.com/enterprises/acme_corp",
  ];
  // Not in the tables: what URL parsing rewrites before parseRunnerUrl looks (dot segments such as
  // `/octorun/.`, surrounding spaces), which the CRD refuses as written.
  const hosts = [
    "github.com",
    "www.github.com",
    "ghes.example.com",
    "ghes.example.com:8443",
    "127.0.0.1:3000",
    "[::1]:8443",
  ];

  /** The apiserver's answer to a dry-run create of a Runner (and of a RunnerSet's template) with this URL. */
  async function admitted(version: ApiVersionName, url: string): Promise<{ runner: ApiResult; set: ApiResult }> {
    const runnerResult = await api("POST", `${path(version, "runners")}?dryRun=All`, runner(version, "url", { url }));
    const setResult = await api(
      "POST",
      `${path(version, "runnersets")}?dryRun=All`,
      runnerSet(version, "url", { matchLabels: { a: "b" } }, { a: "b" }, url),
    );
    return { runner: runnerResult, set: setResult };
  }

  for (const version of API_VERSIONS) {
    test(`${version}: each URL is taken or refused naming spec.url (spec.template.spec.url in a RunnerSet)`, async () => {
      for (const url of accepted) {
        const { runner, set } = await admitted(version, url);
        assert.equal(runner.code, 201, `${url}: ${JSON.stringify(runner.body)}`);
        assert.equal(set.code, 201, `${url}: ${JSON.stringify(set.body)}`);
      }
      for (const url of refused) {
        const { runner, set } = await admitted(version, url);
        assertRefused(runner, ["spec.url"]);
        assertRefused(set, ["spec.template.spec.url"]);
      }
    });
  }

  test("the rule and parseRunnerUrl agree on every URL above, once its host is allowed", () => {
    const parses = (url: string) => {
      try {
        parseRunnerUrl(url, { enterpriseHosts: hosts });
        return true;
      } catch (error) {
        if (error instanceof RunnerUrlError) return false;
        throw error;
      }
    };
    assert.deepEqual(
      accepted.filter((url) => !parses(url)),
      [],
      "taken by the CRD, refused by the parser",
    );
    assert.deepEqual(
      refused.filter((url) => parses(url)),
      [],
      "refused by the CRD, taken by the parser",
    );
  });

  test("a URL longer than 2048 characters is refused by its maxLength", async () => {
    const result = await api(
      "POST",
      `${path("v1alpha2", "runners")}?dryRun=All`,
      runner("v1alpha2", "long", { url: `https://github.com/octorun/${"r".repeat(2048)}` }),
    );
    assertRefused(result, ["spec.url"]);
    assert.match(String(result.body["message"]), /Too long: may not be (longer|more) than 2048/);
  });
});

for (const version of API_VERSIONS) {
  describe(`${version}: a RunnerSet's selector`, () => {
    const table: Array<[string, unknown, Record<string, string> | undefined, boolean]> = [
      ["matchLabels within the template's labels", { matchLabels: { a: "1" } }, { a: "1", b: "2" }, true],
      ["a matchLabels value the template differs in", { matchLabels: { a: "1" } }, { a: "2" }, false],
      ["a matchLabels key the template lacks", { matchLabels: { a: "1", c: "3" } }, { a: "1" }, false],
      ["matchLabels and a template without labels", { matchLabels: { a: "1" } }, undefined, false],
      ["In, matching", { matchExpressions: [{ key: "a", operator: "In", values: ["0", "1"] }] }, { a: "1" }, true],
      ["In, another value", { matchExpressions: [{ key: "a", operator: "In", values: ["0"] }] }, { a: "1" }, false],
      ["In, no such label", { matchExpressions: [{ key: "b", operator: "In", values: ["1"] }] }, { a: "1" }, false],
      [
        "NotIn, another value",
        { matchExpressions: [{ key: "a", operator: "NotIn", values: ["0"] }] },
        { a: "1" },
        true,
      ],
      [
        "NotIn, no such label",
        { matchExpressions: [{ key: "b", operator: "NotIn", values: ["1"] }] },
        { a: "1" },
        true,
      ],
      ["NotIn, the value", { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, { a: "1" }, false],
      ["Exists, present", { matchExpressions: [{ key: "a", operator: "Exists" }] }, { a: "1" }, true],
      ["Exists, absent", { matchExpressions: [{ key: "b", operator: "Exists" }] }, { a: "1" }, false],
      ["DoesNotExist, absent", { matchExpressions: [{ key: "b", operator: "DoesNotExist" }] }, { a: "1" }, true],
      ["DoesNotExist, present", { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }, { a: "1" }, false],
      [
        "matchLabels and matchExpressions, both matching",
        { matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "Exists" }] },
        { a: "1", b: "2" },
        true,
      ],
      [
        "matchLabels matching, an expression not",
        { matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "DoesNotExist" }] },
        { a: "1", b: "2" },
        false,
      ],
    ];
    for (const [name, selector, labels, matches] of table) {
      test(`${name}: ${matches ? "taken" : "refused naming spec.template.metadata.labels"}`, async () => {
        const result = await api(
          "POST",
          `${path(version, "runnersets")}?dryRun=All`,
          runnerSet(version, "s", selector, labels),
        );
        if (matches) assert.equal(result.code, 201, JSON.stringify(result.body));
        else {
          assertRefused(result, ["spec.template.metadata.labels"]);
          assert.match(String(result.body["message"]), /`selector` does not match template `labels`/);
        }
      });
    }

    test("an operator Kubernetes does not know is refused naming it", async () => {
      const result = await api(
        "POST",
        `${path(version, "runnersets")}?dryRun=All`,
        runnerSet(version, "op", { matchExpressions: [{ key: "a", operator: "Near", values: ["1"] }] }, { a: "1" }),
      );
      assertRefused(result, ["spec.selector.matchExpressions[0].operator"]);
    });

    test("is immutable; the number of runners and the template change", async () => {
      const name = `immutable-${version}`;
      const created = await api(
        "POST",
        path(version, "runnersets"),
        runnerSet(version, name, { matchLabels: { a: "1" } }, { a: "1" }),
      );
      assert.equal(created.code, 201, JSON.stringify(created.body));
      for (const selector of [
        { matchLabels: { a: "1", b: "2" } },
        { matchExpressions: [{ key: "a", operator: "Exists" }] },
      ]) {
        const changed = await api("PATCH", path(version, "runnersets", name), {
          spec: { selector, template: { metadata: { labels: { a: "1", b: "2" } } } },
        });
        assertRefused(changed, ["spec.selector"]);
        assert.match(String(changed.body["message"]), /spec\.selector: Invalid value: field is immutable/);
      }
      const scaled = await api("PATCH", path(version, "runnersets", name), {
        spec: { runners: 3, template: { metadata: { labels: { a: "1", b: "2" } }, spec: { workdir: "/w" } } },
      });
      assert.equal(scaled.code, 200, JSON.stringify(scaled.body));
    });
  });
}
