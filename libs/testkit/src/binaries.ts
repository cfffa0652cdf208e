import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const scripts = join(dirname(dirname(fileURLToPath(import.meta.url))), "scripts");

/** The pinned component versions, read from scripts/versions.sh (the one place they are written). */
export function pinnedVersions(): Record<"K8S_VERSION" | "ETCD_VERSION" | "KWOK_VERSION" | "NATS_VERSION", string> {
  const text = readFileSync(join(scripts, "versions.sh"), "utf8");
  const versions = Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  return versions as ReturnType<typeof pinnedVersions>;
}

export function cacheDir(): string {
  return process.env.OCTORUN_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "octorun");
}

export interface Binaries {
  dir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  /** The real test node's kubelet (built with the control plane, same version). */
  kubelet: string;
  etcd: string;
  kwok: string;
  kwokStages: string;
  natsServer: string;
}

export function binaries(): Binaries {
  const v = pinnedVersions();
  const dir = join(
    cacheDir(),
    "bin",
    `k8s-v${v.K8S_VERSION}-etcd-v${v.ETCD_VERSION}-kwok-v${v.KWOK_VERSION}-nats-v${v.NATS_VERSION}`,
  );
  return {
    dir,
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubeScheduler: join(dir, "kube-scheduler"),
    kubectl: join(dir, "kubectl"),
    kubelet: join(dir, "kubelet"),
    etcd: join(dir, "etcd"),
    kwok: join(dir, "kwok"),
    kwokStages: join(dir, "kwok-stages.yaml"),
    natsServer: join(dir, "nats-server"),
  };
}

const componentFiles = {
  "kube-apiserver": "kubeApiserver",
  "kube-controller-manager": "kubeControllerManager",
  "kube-scheduler": "kubeScheduler",
  kubectl: "kubectl",
  kubelet: "kubelet",
  etcd: "etcd",
  kwok: "kwok",
  "nats-server": "natsServer",
} as const satisfies Record<string, keyof Binaries>;

export type Component = keyof typeof componentFiles;

/**
 * Builds the named components that are missing (idempotent, one build at a time per machine;
 * about 12 minutes cold for the control plane). `npm run setup` builds them all beforehand.
 */
export function ensureBinaries(components: readonly Component[]): Binaries {
  const bins = binaries();
  const missing = components.filter((component) => !existsSync(bins[componentFiles[component]]));
  if (missing.length > 0) {
    const result = spawnSync("bash", [join(scripts, "build-binaries.sh")], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, OCTORUN_CACHE: cacheDir(), COMPONENTS: missing.join(" ") },
    });
    if (result.status !== 0) throw new Error(`building the test binaries failed (exit ${result.status})`);
  }
  return bins;
}
