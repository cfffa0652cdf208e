// Runner emulation: plays the part of the GitHub runner inside each runner Pod. It watches Pods on
// a real apiserver; when a runner Pod is Running and Ready it reads the runner's JIT configuration
// from the Secret the Pod mounts (as `run.sh --jitconfig` would), checks it is one GitHub issued,
// and marks that runner online. When the runner's job completes, the runner "exits": the Pod
// becomes Succeeded, as the kubelet reports it after the container ends.
//
// The contract with the controller (configurable, see README.md):
// - runner Pods: the Pods matching `labelSelector` (default: every Pod; Pods without a JIT config are ignored);
// - the JIT configuration: a key named one of `jitConfigKeys` (default `jitconfig`, `encoded_jit_config`)
//   in a Secret that the Pod mounts as a volume (or references from a container env `secretKeyRef`);
// - or, registration-token mode (the original octorun's contract, runner-pod.md): a key named one of
//   `registrationTokenKeys` (default `token`) holding a registration token this GitHub issued, and
//   the container env `URL`, `RUNNER_NAME` (value or fieldRef metadata.name), `RUNNER_LABELS`
//   (comma-separated), `RUNNER_GROUP` (default `Default`): the emulated `config.sh --ephemeral
//   --replace` registers the runner, online at once.
import {
  CoreV1Api,
  type Informer,
  KubeConfig,
  makeInformer,
  type ObjectCache,
  type V1Pod,
} from "@kubernetes/client-node";
import { makeReusingApiClient } from "../kube-api.ts";
import { finishPod } from "../pods.ts";
import type { JobDispatcher, RunnerExit } from "./jobs.ts";
import { registerWithToken, runnerOfJitConfig } from "./runner-sessions.ts";
import type { SimRunner, SimState } from "./state.ts";

export interface RunnerEmulationOptions {
  /** A loaded KubeConfig, or the path of a kubeconfig file. */
  kubeConfig: KubeConfig | string;
  /** Only Pods in this namespace (default: all namespaces). */
  namespace?: string;
  /** Label selector for runner Pods (default: none). */
  labelSelector?: string;
  /** Secret keys that may hold the encoded JIT configuration. */
  jitConfigKeys?: string[];
  /** Secret keys that may hold a registration token (registration-token mode). */
  registrationTokenKeys?: string[];
  /** Nodes whose Pods run real runner processes (a real node): not emulated. */
  ignoreNodes?: string[];
}

export interface EmulatedPod {
  namespace: string;
  name: string;
  runnerId: number | undefined;
  /** Why the Pod did not bring a runner online (no config found, config not issued by this GitHub, …). */
  problem: string | undefined;
}

export class RunnerEmulation implements RunnerExit {
  /** What the emulation made of each Pod it saw, by `namespace/name`. */
  readonly pods = new Map<string, EmulatedPod>();
  private readonly state: SimState;
  private readonly dispatcher: JobDispatcher;
  private readonly options: RunnerEmulationOptions;
  private readonly core: CoreV1Api;
  private readonly kubeConfig: KubeConfig;
  private informer: (Informer<V1Pod> & ObjectCache<V1Pod>) | undefined;
  private readonly work = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(state: SimState, dispatcher: JobDispatcher, options: RunnerEmulationOptions) {
    this.state = state;
    this.dispatcher = dispatcher;
    this.options = options;
    if (typeof options.kubeConfig === "string") {
      this.kubeConfig = new KubeConfig();
      this.kubeConfig.loadFromFile(options.kubeConfig);
    } else {
      this.kubeConfig = options.kubeConfig;
    }
    this.core = makeReusingApiClient(this.kubeConfig, CoreV1Api);
  }

  async start(): Promise<void> {
    const { namespace, labelSelector } = this.options;
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : "/api/v1/pods";
    const list = namespace
      ? () => this.core.listNamespacedPod({ namespace, labelSelector })
      : () => this.core.listPodForAllNamespaces({ labelSelector });
    const informer = makeInformer<V1Pod>(this.kubeConfig, path, list, labelSelector);
    informer.on("add", (pod) => this.enqueue(pod));
    informer.on("update", (pod) => this.enqueue(pod));
    informer.on("delete", (pod) => this.enqueue(pod, true));
    informer.on("error", () => {
      // A broken watch is restarted after a pause (the informer relists).
      if (!this.stopped) setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
    this.informer = informer;
    await informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    await Promise.allSettled(this.work.values());
  }

  /** Serialises the handling of each Pod. */
  private enqueue(pod: V1Pod, deleted = false): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const previous = this.work.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.observe(key, pod, deleted)).catch(() => undefined);
    this.work.set(key, next);
  }

  private async observe(key: string, pod: V1Pod, deleted: boolean): Promise<void> {
    if (pod.spec?.nodeName && this.options.ignoreNodes?.includes(pod.spec.nodeName)) return;
    const namespace = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    const known = this.pods.get(key);
    const ready =
      !deleted &&
      pod.status?.phase === "Running" &&
      (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    if (!ready) {
      // The runner process is gone (or not up yet): GitHub sees it offline.
      const runner = known?.runnerId !== undefined ? this.state.runners.get(known.runnerId) : undefined;
      if (runner && runner.pod?.name === name && runner.pod.namespace === namespace) runner.status = "offline";
      if (deleted) this.pods.delete(key);
      return;
    }
    if (known?.runnerId !== undefined) return;
    const entry: EmulatedPod = { namespace, name, runnerId: undefined, problem: undefined };
    this.pods.set(key, entry);
    const secrets = await this.readSecrets(pod);
    const encoded = pick(secrets, this.keys());
    const registrationToken = pick(secrets, this.options.registrationTokenKeys ?? ["token"]);
    if (encoded === undefined && registrationToken !== undefined) {
      const registered = this.register(pod, registrationToken);
      if (typeof registered === "string") {
        entry.problem = registered;
        return;
      }
      entry.runnerId = registered.id;
      registered.pod = { namespace, name };
      this.dispatcher.schedule();
      return;
    }
    if (encoded === undefined) {
      entry.problem = `no Secret with a key ${this.keys().join(" or ")} is mounted`;
      return;
    }
    const runner = runnerOfJitConfig(this.state, encoded);
    if (!runner) {
      entry.problem = "the JIT configuration was not issued by this GitHub (or its runner was removed)";
      return;
    }
    entry.runnerId = runner.id;
    runner.status = "online";
    runner.os = "linux";
    // As on GitHub, the runner carries the default labels besides the custom ones it was
    // configured with: self-hosted and those of the OS and architecture it runs on.
    const defaults = ["self-hosted", "Linux", "X64"].filter(
      (label) => !runner.labels.some((l) => l.name.toLowerCase() === label.toLowerCase()),
    );
    runner.labels = [
      ...defaults.map((label) => ({ id: this.state.nextId("label", 1), name: label, type: "read-only" as const })),
      ...runner.labels,
    ];
    runner.pod = { namespace, name };
    this.dispatcher.schedule();
  }

  private keys(): string[] {
    return this.options.jitConfigKeys ?? ["jitconfig", "encoded_jit_config"];
  }

  /** `config.sh --unattended --ephemeral --replace` with a registration token, from the Pod's env: the runner exists and is online. */
  private register(pod: V1Pod, token: string): SimRunner | string {
    const container = pod.spec?.containers?.[0];
    const env = (name: string): string | undefined => {
      const variable = container?.env?.find((e) => e.name === name);
      if (variable?.value !== undefined) return variable.value;
      if (variable?.valueFrom?.fieldRef?.fieldPath === "metadata.name") return pod.metadata?.name;
      return undefined;
    };
    const name = env("RUNNER_NAME");
    if (!name) return "registration-token mode needs the RUNNER_NAME env";
    const registered = registerWithToken(this.state, {
      token,
      name,
      labels: (env("RUNNER_LABELS") ?? "").split(","),
      runnerGroup: env("RUNNER_GROUP") || "Default",
      workFolder: env("RUNNER_WORKDIR") || "_work",
    });
    if (typeof registered !== "string") registered.status = "online";
    return registered;
  }

  /** The string data of every Secret the Pod mounts or references. */
  private async readSecrets(pod: V1Pod): Promise<Record<string, string>[]> {
    const namespace = pod.metadata?.namespace ?? "";
    const secretNames = new Set<string>();
    for (const volume of pod.spec?.volumes ?? []) {
      if (volume.secret?.secretName) secretNames.add(volume.secret.secretName);
    }
    for (const container of pod.spec?.containers ?? []) {
      for (const env of container.env ?? []) {
        if (env.valueFrom?.secretKeyRef?.name) secretNames.add(env.valueFrom.secretKeyRef.name);
      }
    }
    const found: Record<string, string>[] = [];
    for (const secretName of secretNames) {
      try {
        const secret = await this.core.readNamespacedSecret({ namespace, name: secretName });
        found.push(
          Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8").trim()]),
          ),
        );
      } catch {
        // Not there (yet): the kubelet would not start the Pod either.
      }
    }
    return found;
  }

  /** The ephemeral runner exits after its job: its Pod's container ends with exit code 0. */
  async runnerExited(runner: SimRunner): Promise<void> {
    if (!runner.pod) return;
    await finishPod(this.core, runner.pod.namespace, runner.pod.name, "Succeeded");
  }
}

function pick(secrets: Record<string, string>[], keys: string[]): string | undefined {
  for (const data of secrets) {
    for (const key of keys) {
      if (data[key]) return data[key];
    }
  }
  return undefined;
}
