// The real world the controller's behaviour tests run in: kube-apiserver with the CRDs from
// deploy/crds (controller-manager for garbage collection, kwok nodes so Pods become Running and
// Ready), a real nats-server, the GitHub simulator (runner emulation watching runner Pods), and the
// github-ingress service as its own process between the simulator's webhooks and NATS.
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BusConnection } from "@octorun/bus";
import { createGitHubClient } from "@octorun/github";
import { RunnerSets, Runners } from "@octorun/kube";
import { createLogger, Redactor } from "@octorun/runtime";
import {
  type ControlPlane,
  freePort,
  GitHubSimulator,
  imageNodeFlags,
  installCrds,
  type NatsServer,
  startControlPlane,
  startNatsServer,
  waitFor,
} from "@octorun/testkit";
import { Registry } from "prom-client";
import { Controller, type ControllerOptions } from "../src/controller.ts";
import type { RunnerObject, RunnerSetObject } from "../src/types.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
// The real node binary (node_modules/.bin/node is a shell wrapper: a signal to it would not reach node).
export const NODE = process.execPath;
export const WEBHOOK_SECRET = "controller-test-hook";

export interface World {
  cp: ControlPlane;
  nats: NatsServer;
  sim: GitHubSimulator;
  /** A PAT the controller uses with the simulator. */
  token: string;
  /** `${sim.url}/acme`: the organization Runners register to. */
  orgUrl: string;
  ingress: ChildProcess;
  /** Where github-ingress receives webhooks. */
  ingressUrl: string;
  stop(): Promise<void>;
}

export async function startWorld(options: {
  kwokNodes?: number;
  namespaces: string[];
  /** GitHub's primary rate limit per hour for the token (5,000 for a personal access token). */
  githubRateLimit?: number;
}): Promise<World> {
  const cp = await startControlPlane({ kwokNodes: options.kwokNodes ?? 1, controllerManager: true });
  const stops: (() => Promise<unknown>)[] = [() => cp.stop()];
  try {
    // Conversion left to the apiserver: no admission webhook runs here, and the controller speaks v1alpha2 only.
    await installCrds(cp, { conversion: "None" });
    for (const ns of options.namespaces) await cp.kubectl(["create", "namespace", ns]);
    const nats = await startNatsServer();
    stops.unshift(() => nats.stop());
    const sim = new GitHubSimulator({
      runners: { kubeConfig: cp.kubeConfig },
      ...(options.githubRateLimit ? { rateLimit: options.githubRateLimit } : {}),
    });
    await sim.start();
    stops.unshift(() => sim.stop());
    sim.addOrganization("acme");
    sim.addRepository("acme/app");
    const token = sim.addPersonalAccessToken({ scopes: ["admin:org", "repo"] });
    const ingress = await startIngress(nats.url);
    stops.unshift(() => stopProcess(ingress.child));
    sim.setWebhook({ url: ingress.url, secret: WEBHOOK_SECRET });
    return {
      cp,
      nats,
      sim,
      token,
      orgUrl: `${sim.url}/acme`,
      ingress: ingress.child,
      ingressUrl: ingress.url,
      stop: async () => {
        for (const stop of stops) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw error;
  }
}

export async function startIngress(natsUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const healthPort = await freePort();
  const child = spawn(
    NODE,
    [...imageNodeFlags(ROOT, "github-ingress"), join(ROOT, "services", "github-ingress", "src", "index.ts")],
    {
      env: {
        ...process.env,
        NATS_URL: natsUrl,
        WEBHOOK_SECRET,
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: String(port),
        HEALTH_HOST: "127.0.0.1",
        HEALTH_PORT: String(healthPort),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await waitFor(
    "github-ingress ready",
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.ok,
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
  return { child, url: `http://127.0.0.1:${port}/api/github/webhooks` };
}

export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** A controller in this process, against the world (fast GitHub retries so fault tests stay short). */
export function startController(world: World, overrides: Partial<ControllerOptions> = {}) {
  const registry = new Registry();
  const redactor = new Redactor();
  redactor.add(world.token);
  const logger = createLogger({ service: "controller-test", level: process.env.TEST_LOG_LEVEL ?? "error", redactor });
  const bus = new BusConnection({ servers: [world.nats.url], name: "controller-test", logger });
  const github = createGitHubClient({
    auth: { type: "token", token: world.token },
    apiBaseUrl: world.sim.apiUrl,
    enterpriseHosts: [new URL(world.sim.url).host],
    registry,
    rateLimit: { serverErrorRetries: 0, maxWaitMs: 1_000 },
  });
  const controller = new Controller({
    kubeConfig: world.cp.kubeConfig,
    github,
    githubForCredential: (auth, credentialName) =>
      createGitHubClient({
        auth,
        credentialName,
        apiBaseUrl: world.sim.apiUrl,
        enterpriseHosts: [new URL(world.sim.url).host],
        registry,
        rateLimit: { serverErrorRetries: 0, maxWaitMs: 1_000 },
      }),
    bus,
    identity: "controller-test",
    registry,
    logger,
    runnerPlan: {
      onlineCheckDelayMs: 1_500, // Ready times have second precision: 0.5–1.5 s after Ready
      onlineCheckBaseMs: 300,
      registrationBackoffBaseMs: 200,
      registrationBackoffMaxMs: 1_000,
      completedGraceMs: 2_000,
    },
    runnerSetPlan: { failureBackoffBaseMs: 200, failureBackoffMaxMs: 2_000 },
    ...overrides,
  });
  return {
    controller,
    registry,
    bus,
    async start() {
      await controller.start();
    },
    async stop() {
      await controller.stop();
      await bus.close();
    },
  };
}

export function runnerManifest(
  namespace: string,
  name: string,
  url: string,
  extra: Partial<RunnerObject["spec"]> = {},
): RunnerObject {
  return {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "Runner",
    metadata: { name, namespace, labels: { "octorun.github.io/runner": name } },
    spec: { url, image: { name: "ghcr.io/octorun/runner:test" }, ...extra },
  };
}

export function runnerSetManifest(
  namespace: string,
  name: string,
  url: string,
  runners: number,
  extra: Partial<RunnerSetObject["spec"]> = {},
): RunnerSetObject {
  return {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "RunnerSet",
    metadata: { name, namespace },
    spec: {
      runners,
      selector: { matchLabels: { "octorun.github.io/runnerset": name } },
      template: {
        metadata: { labels: { "octorun.github.io/runnerset": name } },
        spec: { url, image: { name: "ghcr.io/octorun/runner:test" } },
      },
      ...extra,
    },
  };
}

export { RunnerSets, Runners };

/**
 * Completes a job in the simulator; its runner "exits" (Pod Succeeded). The simulator's Pod status
 * update does not retry a conflict with kwok's own status writes, so on a 409 the Pod is finished
 * the same way through the control plane.
 */
export async function completeJob(world: World, jobId: number, namespace: string, pod: string): Promise<void> {
  try {
    await world.sim.completeJob(jobId, "success");
  } catch (error) {
    const code = (error as { code?: number }).code;
    // 404: the controller already removed the Pod (the completed event can arrive before the simulator's Pod update).
    if (code === 404) return;
    if (code !== 409) throw error;
    await world.cp.finishPod(namespace, pod, "Succeeded");
  }
}

/** The controller as its own process (its composition root), against the world. */
export async function startControllerProcess(
  world: World,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; healthPort: number; rssMb(): number }> {
  const healthPort = await freePort();
  const logFile = process.env.CONTROLLER_LOG_DIR
    ? openSync(join(process.env.CONTROLLER_LOG_DIR, `controller-${healthPort}.log`), "a")
    : "ignore";
  const child = spawn(
    NODE,
    [
      ...imageNodeFlags(ROOT, "controller"),
      // A CPU profile of the controller, written when it stops (`node --cpu-prof`).
      ...(process.env.OCTORUN_CONTROLLER_PROFILE_DIR
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.OCTORUN_CONTROLLER_PROFILE_DIR}`]
        : []),
      join(ROOT, "services", "controller", "src", "index.ts"),
    ],
    {
      env: {
        ...process.env,
        KUBECONFIG: world.cp.kubeconfigPath,
        NATS_URL: world.nats.url,
        GITHUB_TOKEN: world.token,
        GITHUB_API_URL: world.sim.apiUrl,
        GITHUB_ENTERPRISE_HOSTS: new URL(world.sim.url).host,
        LEADER_ELECT: "false",
        HEALTH_HOST: "127.0.0.1",
        HEALTH_PORT: String(healthPort),
        LOG_LEVEL: "warn",
        ...env,
      },
      stdio: ["ignore", logFile, "inherit"],
    },
  );
  await waitFor(
    "controller ready",
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.ok,
    {
      timeoutMs: 60_000,
      intervalMs: 200,
    },
  );
  return {
    child,
    healthPort,
    rssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
      return kb / 1024;
    },
  };
}
