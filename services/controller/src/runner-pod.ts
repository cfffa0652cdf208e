// The runner Pod as the original octorun built it (reference: runner-pod.md, copied facts):
// named as the Runner, its labels, owned by it, one container `runner` with the registration
// Secret mounted read-only, non-root, the placement, resources, volumes and security fields of
// the spec, and `cluster-autoscaler.kubernetes.io/safe-to-evict` per evictionPolicy and phase.
//
// Deliberate differences from the original, and why:
// - restartPolicy Never (the original: OnFailure). A JIT configuration registers once; a restarted
//   container could not register again, and a failed runner must show as a Failed Pod.
// - Hardened: fsGroup so that the runner's group can read the Secret on a real kubelet, no
//   ServiceAccount token unless spec.serviceAccountName asks for one, RuntimeDefault seccomp, no
//   privilege escalation and no capabilities unless spec.securityContext says otherwise.
// - RUNNER_NAME is the GitHub name the controller chose (unique across namespaces), not the
//   Pod's own name; JIT mode adds RUNNER_JITCONFIG_FILE and has no startup probe on `.runner`
//   (a JIT runner never writes that file).

import type { V1Container, V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import {
  DEFAULT_RUNNER_GROUP,
  DEFAULT_WORKDIR,
  githubRunnerLabels,
  JIT_CONFIG_SECRET_KEY,
  REGISTRATION_TOKEN_SECRET_KEY,
  REGISTRATION_TOKEN_SECRET_SUFFIX,
  RUNNER_NAME_LABEL,
  RUNNER_SECRET_MOUNT_PATH,
  SAFE_TO_EVICT_ANNOTATION,
} from "@octorun/api";
import { ownerReference, Runners } from "@octorun/kube";
import type { RunnerObject } from "./types.ts";

export type RegistrationMode = "jit" | "token";

export const RUNNER_CONTAINER = "runner";
export const SECRET_VOLUME = "registration-token";
export const RUNNER_UID = 1000;
export const RUNNER_GID = 1000;

/** `<runner>-registration-token`, the original's Secret name (it holds a JIT configuration in JIT mode). */
export function runnerSecretName(runnerName: string): string {
  return `${runnerName}${REGISTRATION_TOKEN_SECRET_SUFFIX}`;
}

/** "true" while the cluster autoscaler may evict the runner: IfNotActive and not Active. */
export function safeToEvict(runner: RunnerObject): "true" | "false" {
  const policy = runner.spec?.evictionPolicy ?? "IfNotActive";
  if (policy === "Never") return "false";
  return runner.status?.phase === "Active" ? "false" : "true";
}

export interface RunnerPodInput {
  runner: RunnerObject;
  /** The GitHub runner name (status.runnerName). */
  githubName: string;
  mode: RegistrationMode;
}

export function buildRunnerPod({ runner, githubName, mode }: RunnerPodInput): V1Pod {
  const name = runner.metadata?.name;
  const namespace = runner.metadata?.namespace;
  if (!name || !namespace) throw new Error("buildRunnerPod: the Runner needs a name and a namespace");
  const spec = runner.spec;
  const secretName = runnerSecretName(name);

  const env: V1EnvVar[] = [
    { name: "URL", value: spec.url },
    { name: "RUNNER_NAME", value: githubName },
    { name: "RUNNER_LABELS", value: githubRunnerLabels(runner).join(",") },
    { name: "RUNNER_GROUP", value: spec.group ?? DEFAULT_RUNNER_GROUP },
    { name: "RUNNER_WORKDIR", value: spec.workdir ?? DEFAULT_WORKDIR },
    mode === "jit"
      ? { name: "RUNNER_JITCONFIG_FILE", value: `${RUNNER_SECRET_MOUNT_PATH}/${JIT_CONFIG_SECRET_KEY}` }
      : { name: "RUNNER_TOKEN_FILE", value: `${RUNNER_SECRET_MOUNT_PATH}/${REGISTRATION_TOKEN_SECRET_KEY}` },
  ];
  const volumeMounts: V1VolumeMount[] = [
    { name: SECRET_VOLUME, mountPath: RUNNER_SECRET_MOUNT_PATH, readOnly: true },
    ...((spec.volumeMounts ?? []) as V1VolumeMount[]),
  ];
  const container: V1Container = {
    name: RUNNER_CONTAINER,
    image: spec.image?.name,
    env,
    volumeMounts,
    ...(spec.image?.pullPolicy ? { imagePullPolicy: spec.image.pullPolicy } : {}),
    ...(spec.resources ? { resources: spec.resources as V1Container["resources"] } : {}),
    securityContext: runnerContainerSecurity(spec.securityContext as V1Container["securityContext"]),
    ...(mode === "token"
      ? { startupProbe: { exec: { command: ["cat", ".runner"] }, initialDelaySeconds: 10, periodSeconds: 3 } }
      : {}),
  };
  const volumes: V1Volume[] = [
    // 0440 and the Pod's fsGroup: the files are root's and the runner's group's, readable by that
    // group only (without fsGroup a real kubelet leaves them root:root and the runner cannot read
    // them); the Secret is never writable from the Pod.
    { name: SECRET_VOLUME, secret: { secretName, defaultMode: 0o440 } },
    ...((spec.volumes ?? []) as V1Volume[]),
  ];
  const placement = spec.placement;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { ...(runner.metadata?.labels ?? {}), [RUNNER_NAME_LABEL]: name },
      annotations: { [SAFE_TO_EVICT_ANNOTATION]: safeToEvict(runner) },
      ownerReferences: [ownerReference(Runners, runner)],
    },
    spec: {
      restartPolicy: "Never",
      containers: [container],
      volumes,
      securityContext: {
        runAsUser: RUNNER_UID,
        runAsGroup: RUNNER_GID,
        runAsNonRoot: true,
        fsGroup: RUNNER_GID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      ...(spec.image?.pullSecrets ? { imagePullSecrets: spec.image.pullSecrets as { name?: string }[] } : {}),
      // A runner runs other people's workflows: it gets a Kubernetes token only when its Runner
      // names the ServiceAccount it should act as.
      ...(spec.serviceAccountName
        ? { serviceAccountName: spec.serviceAccountName }
        : { automountServiceAccountToken: false }),
      ...(spec.runtimeClassName ? { runtimeClassName: spec.runtimeClassName } : {}),
      ...(placement?.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
      ...(placement?.affinity ? { affinity: placement.affinity as NonNullable<V1Pod["spec"]>["affinity"] } : {}),
      ...(placement?.tolerations
        ? { tolerations: placement.tolerations as NonNullable<V1Pod["spec"]>["tolerations"] }
        : {}),
    },
  };
}

/**
 * The runner container's security: no privilege escalation, no capabilities and the runtime's
 * default seccomp profile, each unless the Runner's `spec.securityContext` sets that field itself.
 */
export function runnerContainerSecurity(fromSpec: V1Container["securityContext"]): V1Container["securityContext"] {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
    ...(fromSpec ?? {}),
  };
}

/** Pod phase facts the plans need. */
export function podReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}

/** Why a Pod failed, from its runner container's termination (for a condition message). */
export function podFailureMessage(pod: V1Pod): string {
  const status = pod.status?.containerStatuses?.find((c) => c.name === RUNNER_CONTAINER);
  const terminated = status?.state?.terminated;
  if (terminated) {
    return `the runner container exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}`;
  }
  return `the runner Pod failed${pod.status?.reason ? `: ${pod.status.reason}` : ""}${pod.status?.message ? ` — ${pod.status.message}` : ""}`;
}
