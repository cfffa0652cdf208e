#!/usr/bin/env node
// The root commands: setup, test, bench, dev. This file runs on whatever Node the machine has
// (20 is enough), bootstraps what is missing — pnpm, the dependencies (Node 24 among them), the
// real control-plane and nats-server binaries — idempotently and out loud, then hands the real
// work to the pinned Node 24 from node_modules.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, "");
const nodeVersion = rootPackage.devDependencies.node;
const cache = process.env.OCTORUN_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "octorun");
const binDir = join(root, "node_modules", ".bin");
// The binary itself: node_modules/.bin/node is a /bin/sh wrapper that does not pass signals on.
const nodeBinDir = join(root, "node_modules", "node", "bin");

function say(message) {
  process.stderr.write(`[octorun] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function mustRun(command, args, options) {
  const status = run(command, args, options);
  if (status !== 0) {
    say(`${command} ${args.join(" ")} failed with exit code ${status}`);
    process.exit(status);
  }
}

/** pnpm at the exact version of packageManager: the one on PATH if it matches, else a private copy. */
function ensurePnpm() {
  const onPath = spawnSync("pnpm", ["--version"], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim() === pnpmVersion) return "pnpm";
  const prefix = join(cache, `pnpm-${pnpmVersion}`);
  const pnpmBin = join(prefix, "node_modules", ".bin", "pnpm");
  if (!existsSync(pnpmBin)) {
    say(`installing pnpm ${pnpmVersion} into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    mustRun("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `pnpm@${pnpmVersion}`,
    ]);
  }
  return pnpmBin;
}

/** Dependencies, Node 24 included; skipped when the lockfile has not changed since the last install. */
function ensureDependencies(pnpm) {
  const lock = readFileSync(join(root, "pnpm-lock.yaml"));
  const digest = createHash("sha256").update(lock).digest("hex");
  const marker = join(root, "node_modules", ".octorun-installed");
  const pinnedNode = join(nodeBinDir, "node");
  if (existsSync(marker) && readFileSync(marker, "utf8") === digest && existsSync(pinnedNode)) return;
  say(`installing dependencies with pnpm ${pnpmVersion} (Node ${nodeVersion} comes with them)`);
  mustRun(pnpm, ["install", "--frozen-lockfile", "--reporter=append-only"], { env: { ...process.env, CI: "true" } });
  writeFileSync(marker, digest);
}

/** kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kubectl, kwok, nats-server. */
function ensureBinaries() {
  mustRun("bash", [join(root, "libs/testkit/scripts/build-binaries.sh")], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, OCTORUN_CACHE: cache },
  });
}

/**
 * Debian tools some tests use (they skip, saying so, without them; CI must have them): shellcheck
 * for the runner's entrypoint, docker-compose to check the compose file, promtool (package
 * prometheus) for the metrics exposition; for the real test node containerd, runc, the CNI plugins
 * and iproute2; for building the images buildah, debootstrap and busybox-static. Installed when
 * this runs as root with apt-get, as on CI; otherwise named. A key is a command or an absolute path.
 */
const systemTools = {
  shellcheck: "shellcheck",
  "docker-compose": "docker-compose",
  promtool: "prometheus",
  containerd: "containerd",
  runc: "runc",
  "/usr/lib/cni/bridge": "containernetworking-plugins",
  ip: "iproute2",
  buildah: "buildah",
  debootstrap: "debootstrap",
  busybox: "busybox-static",
};

function ensureSystemTools() {
  const missing = Object.entries(systemTools).filter(([tool]) =>
    tool.startsWith("/") ? !existsSync(tool) : spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0,
  );
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg);
  const canInstall = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
  if (!canInstall) {
    say(
      `optional tools missing (${packages.join(", ")}); the tests that need them will skip. Install them with apt-get.`,
    );
    return;
  }
  say(`installing ${packages.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (
    run("apt-get", ["update", "-qq"], { env }) !== 0 ||
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env }) !== 0
  ) {
    say(`could not install ${packages.join(", ")}; the tests that need them will skip`);
  }
}

/**
 * The images of octorun (the four services and the runner, from their Dockerfiles; all of them, or
 * `images`) as OCI archives for the real test node, built with buildah on bases made here (no
 * registry can be reached). Needs root and the tools above; without them the real-node tests skip.
 */
function ensureImages({ required, images }) {
  if (process.getuid?.() !== 0) {
    if (required) {
      say("building images needs root (buildah, debootstrap)");
      process.exit(3);
    }
    say("not root: the images are not built and the real-node tests will skip");
    return;
  }
  const status = run("bash", [join(root, "libs/testkit/scripts/build-images.sh")], {
    env: { ...process.env, OCTORUN_CACHE: cache, ...(images ? { IMAGES: images.join(" ") } : {}) },
  });
  if (status !== 0) {
    say(`building the images failed (exit ${status})`);
    if (required || process.env.CI) process.exit(status);
  }
}

function setup() {
  const pnpm = ensurePnpm();
  ensureDependencies(pnpm);
  ensureBinaries();
  ensureSystemTools();
  // The bases, the Pod sandbox and the runner image, which change seldom; the service images,
  // which change with every edit of a service, are built by the test that runs them (or `npm run images`).
  ensureImages({ required: false, images: ["pause", "runner"] });
  return pnpm;
}

/**
 * Runs a script of ours on the pinned Node, with that Node first on PATH for its children, and
 * passes SIGINT/SIGTERM on so that Ctrl-C or a supervisor stops everything it started.
 */
function onPinnedNode(script, args) {
  const env = {
    ...process.env,
    PATH: [nodeBinDir, binDir, process.env.PATH ?? ""].join(delimiter),
    OCTORUN_CACHE: cache,
    NO_PROXY: ["127.0.0.1", "localhost", process.env.NO_PROXY].filter(Boolean).join(","),
    no_proxy: ["127.0.0.1", "localhost", process.env.no_proxy].filter(Boolean).join(","),
  };
  const child = spawn(join(nodeBinDir, "node"), [join(root, script), ...args], { stdio: "inherit", cwd: root, env });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

const [command = "help", ...args] = process.argv.slice(2);
switch (command) {
  case "setup":
    setup();
    say(`ready: Node ${nodeVersion}, pnpm ${pnpmVersion}, binaries in ${cache}/bin`);
    break;
  case "test":
    setup();
    process.exit(await onPinnedNode("scripts/run-tests.mjs", args));
    break;
  case "bench":
    setup();
    process.exit(await onPinnedNode("e2e/bench/run.ts", args));
    break;
  case "images":
    ensureDependencies(ensurePnpm());
    ensureSystemTools();
    ensureImages({ required: true });
    break;
  case "versions":
    setup();
    process.exit(await onPinnedNode("scripts/versions.mjs", args));
    break;
  case "dev":
    setup();
    process.exit(await onPinnedNode("e2e/src/sandbox/main.ts", args));
    break;
  default:
    say(
      "usage: npm run setup | npm test [-- files…] | npm run bench [-- names…] | npm run dev | npm run images | node scripts/octorun.mjs versions",
    );
    process.exit(command === "help" ? 0 : 2);
}
