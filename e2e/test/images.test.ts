// The four service images, built from their Dockerfiles (npm run images), run as containers on the
// real node's containerd (`ctr run --net-host`, as a Pod with hostNetwork would) against the real
// control plane, nats-server and GitHub simulator, and each becomes ready: the image carries what
// its service needs, starts with its CMD's flags as its non-root user, and reads mounted config.
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type BuiltImage,
  type ControlPlane,
  ensureImages,
  freePort,
  GitHubSimulator,
  installCrds,
  type NatsServer,
  ProcessGroup,
  realNodeSupport,
  startControlPlane,
  startNatsServer,
  waitFor,
} from "@octorun/testkit";

const support = realNodeSupport();
const skip = support.ok ? false : process.env.CI ? false : support.why;
const SERVICES = ["controller", "admission-webhook", "github-ingress", "state-metrics"] as const;

describe("the service images run as containers and become ready", { skip }, () => {
  let cp: ControlPlane;
  let nats: NatsServer;
  let github: GitHubSimulator;
  let group: ProcessGroup;
  let configDir: string;
  let images: Record<(typeof SERVICES)[number], BuiltImage>;

  // Building the four images after an edit takes minutes on two cores (seconds when nothing changed).
  before(
    async () => {
      if (!support.ok) throw new Error(`CI must run the real-node tier: ${support.why}`);
      images = ensureImages(SERVICES);
      [cp, nats, github] = await Promise.all([
        startControlPlane({ realNode: true }),
        startNatsServer(),
        new GitHubSimulator().start(),
      ]);
      for (const service of SERVICES) await cp.realNode?.importImage(images[service].archive);
      github.addOrganization("octo-org");
      // The services run as uid 65532: their mounted configuration must be readable to them.
      configDir = mkdtempSync(join(tmpdir(), "octorun-images-"));
      chmodSync(configDir, 0o755);
      const { appId, privateKey } = github.createApp();
      writeFileSync(join(configDir, "github-app.pem"), privateKey, { mode: 0o644 });
      writeFileSync(join(configDir, "app-id"), String(appId));
      copyFileSync(cp.kubeconfigPath, join(configDir, "kubeconfig"));
      copyFileSync(cp.webhookTls.certFile, join(configDir, "tls.crt"));
      copyFileSync(cp.webhookTls.keyFile, join(configDir, "tls.key"));
      for (const file of ["kubeconfig", "tls.crt", "tls.key"]) chmodSync(join(configDir, file), 0o644);
      await cp.kubectl(["create", "namespace", "octorun-system"]);
      // The controller and state-metrics are ready once their Runner and RunnerSet caches are filled.
      await installCrds(cp);
      group = new ProcessGroup(mkdtempSync(join(tmpdir(), "octorun-images-run-")));
    },
    { timeout: 1_200_000 },
  );
  after(async () => {
    await group?.stop();
    await Promise.all([cp?.stop(), nats?.stop(), github?.stop()]);
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  for (const service of SERVICES) {
    test(`${service}: /healthz and /readyz answer 200 from the container`, async () => {
      const healthPort = await freePort();
      const env: Record<string, string> = {
        HEALTH_HOST: "127.0.0.1",
        HEALTH_PORT: String(healthPort),
        ...serviceEnv(service, await freePort()),
      };
      const socket = join(cp.kubeconfigPath, "..", "realnode", "containerd.sock");
      const child = group.start(service, "ctr", [
        "-a",
        socket,
        "-n",
        "k8s.io",
        "run",
        "--rm",
        "--net-host",
        "--mount",
        `type=bind,src=${configDir},dst=/config,options=rbind:ro`,
        ...Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
        images[service].ref,
        `octorun-image-${service}`,
      ]);
      try {
        for (const path of ["/healthz", "/readyz"]) {
          await waitFor(
            `${service} ${path}`,
            async () => {
              if (child.exitCode !== null) throw new Error(`the container exited with ${child.exitCode}`);
              return (await fetch(`http://127.0.0.1:${healthPort}${path}`)).ok;
            },
            { timeoutMs: 60_000, intervalMs: 250 },
          ).catch((error: Error) => {
            throw new Error(`${error.message}\n${group.logTail(service, 30)}`);
          });
        }
      } finally {
        await group.stopOne(service, 10_000);
      }
    });
  }

  function serviceEnv(service: (typeof SERVICES)[number], port: number): Record<string, string> {
    const natsEnv = { NATS_URL: nats.url };
    switch (service) {
      case "controller":
        return {
          KUBECONFIG: "/config/kubeconfig",
          ...natsEnv,
          POD_NAME: "controller-image",
          GITHUB_API_URL: github.apiUrl,
          GITHUB_APP_ID: String(github.state.apps.keys().next().value),
          GITHUB_APP_PRIVATE_KEY_FILE: "/config/github-app.pem",
        };
      case "state-metrics":
        return { KUBECONFIG: "/config/kubeconfig", ...natsEnv, METRICS_HOST: "127.0.0.1", METRICS_PORT: String(port) };
      case "github-ingress":
        return { ...natsEnv, WEBHOOK_SECRET: "image-test-secret", HTTP_HOST: "127.0.0.1", HTTP_PORT: String(port) };
      case "admission-webhook":
        return {
          TLS_CERT_FILE: "/config/tls.crt",
          TLS_KEY_FILE: "/config/tls.key",
          WEBHOOK_HOST: "127.0.0.1",
          WEBHOOK_PORT: String(port),
        };
    }
  }
});
