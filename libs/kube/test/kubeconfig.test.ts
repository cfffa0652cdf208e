import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { KubeConfigError } from "../src/errors.ts";
import { loadKubeConfig } from "../src/kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
const kubeconfig = (server: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server } }],
    users: [{ name: "u", user: { token: "t" } }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
  });
const explicit = join(dir, "explicit");
const fromEnv = join(dir, "from-env");
const home = join(dir, "home");
writeFileSync(explicit, kubeconfig("https://explicit:6443"));
writeFileSync(fromEnv, kubeconfig("https://from-env:6443"));
mkdirSync(join(home, ".kube"), { recursive: true });
writeFileSync(join(home, ".kube", "config"), kubeconfig("https://home:6443"));
const prefix = join(dir, "root");
mkdirSync(join(prefix, "var/run/secrets/kubernetes.io/serviceaccount"), { recursive: true });
writeFileSync(join(prefix, "var/run/secrets/kubernetes.io/serviceaccount/token"), "sa-token");
writeFileSync(join(prefix, "var/run/secrets/kubernetes.io/serviceaccount/ca.crt"), "");
writeFileSync(join(prefix, "var/run/secrets/kubernetes.io/serviceaccount/namespace"), "octorun-system");

describe("loadKubeConfig", () => {
  const cases: { name: string; path?: string; env: NodeJS.ProcessEnv; server?: string; error?: RegExp }[] = [
    {
      name: "an explicit path wins",
      path: explicit,
      env: { KUBECONFIG: fromEnv, HOME: home },
      server: "https://explicit:6443",
    },
    { name: "KUBECONFIG next", env: { KUBECONFIG: fromEnv, HOME: home }, server: "https://from-env:6443" },
    {
      name: "the first file of a KUBECONFIG list",
      env: { KUBECONFIG: `${fromEnv}:${explicit}` },
      server: "https://from-env:6443",
    },
    { name: "~/.kube/config last", env: { HOME: home }, server: "https://home:6443" },
    { name: "a missing explicit path", path: join(dir, "nope"), env: {}, error: /kubeconfig .*nope does not exist/ },
    {
      name: "a missing KUBECONFIG file",
      env: { KUBECONFIG: join(dir, "gone") },
      error: /KUBECONFIG .*gone does not exist/,
    },
    { name: "nothing at all", env: { HOME: join(dir, "empty-home") }, error: /no kubeconfig: set KUBECONFIG/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.error) {
        assert.throws(
          () => loadKubeConfig({ path: c.path, env: c.env }),
          (e) => e instanceof KubeConfigError && c.error!.test(e.message),
        );
      } else {
        assert.equal(loadKubeConfig({ path: c.path, env: c.env }).getCurrentCluster()?.server, c.server);
      }
    });
  }

  test("in a cluster: the service account", () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = "10.0.0.1";
    process.env.KUBERNETES_SERVICE_PORT = "443";
    try {
      const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" }, inClusterPathPrefix: prefix });
      assert.equal(kc.getCurrentCluster()?.server, "https://10.0.0.1:443");
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  });

  test("a file that is not a kubeconfig", () => {
    const bad = join(dir, "bad");
    writeFileSync(bad, "{ not yaml: [");
    assert.throws(
      () => loadKubeConfig({ path: bad, env: {} }),
      (e) => e instanceof KubeConfigError && /cannot be read/.test(e.message),
    );
  });
});
