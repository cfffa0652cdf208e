import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { RUNNER_ID_ANNOTATION, RUNNER_OS_ANNOTATION } from "@octorun/api";
import { RUNNER_NAME_INDEX, runnerIndexers } from "../src/job-events.ts";
import { githubRunnerName, MAX_GITHUB_RUNNER_NAME_LENGTH } from "../src/runner-naming.ts";
import { registrationToFinish, secretMayExistUnseen } from "../src/runner-plan.ts";
import { buildRunnerPod, safeToEvict } from "../src/runner-pod.ts";
import type { RunnerObject } from "../src/types.ts";
import { runner } from "./fixtures.ts";

describe("GitHub runner names", () => {
  test("carry the namespace and differ across namespaces for the same Runner name", () => {
    const a = githubRunnerName({ namespace: "team-a", name: "build", uid: "u1" });
    const b = githubRunnerName({ namespace: "team-b", name: "build", uid: "u2" });
    assert.match(a, /^team-a-build-[0-9a-f]{8}$/);
    assert.notEqual(a, b);
  });
  test("differ for a Runner deleted and created again under the same name", () => {
    assert.notEqual(
      githubRunnerName({ namespace: "n", name: "x", uid: "u1" }),
      githubRunnerName({ namespace: "n", name: "x", uid: "u2" }),
    );
  });
  test("ambiguous dashes do not collide (a-b in c vs b in c-a)", () => {
    assert.notEqual(
      githubRunnerName({ namespace: "c", name: "a-b", uid: "1" }),
      githubRunnerName({ namespace: "c-a", name: "b", uid: "2" }),
    );
  });
  test("are cut to GitHub's length without a trailing dash", () => {
    const name = githubRunnerName({ namespace: "n".repeat(63), name: "r".repeat(200), uid: "u" });
    assert.ok(name.length <= MAX_GITHUB_RUNNER_NAME_LENGTH);
    assert.doesNotMatch(name, /--/);
  });
  test("the recorded name wins", () => {
    assert.equal(githubRunnerName({ namespace: "n", name: "x", uid: "u", recorded: "chosen" }), "chosen");
  });
});

describe("finding a runner for a job event", () => {
  test("by the GitHub name it registers under, before any status recorded that name", () => {
    const fresh = runner({ name: "build" });
    assert.deepEqual(runnerIndexers[RUNNER_NAME_INDEX](fresh), [
      githubRunnerName({ namespace: "ns", name: "build", uid: "uid-build" }),
    ]);
  });
  test("by the recorded name once there is one", () => {
    const recorded = runner({ name: "build", status: { runnerName: "chosen-earlier" } });
    assert.deepEqual(runnerIndexers[RUNNER_NAME_INDEX](recorded), ["chosen-earlier"]);
  });
});

describe("a registration cut short after its Secret", () => {
  const secret = (annotations: Record<string, string>): V1Secret => ({ metadata: { name: "r1-runner", annotations } });
  test("is finished from the Secret's runner id and OS", () => {
    const cut = secret({ [RUNNER_ID_ANNOTATION]: "42", [RUNNER_OS_ANNOTATION]: "linux" });
    assert.deepEqual(registrationToFinish(runner(), cut), { id: 42, os: "linux" });
    assert.deepEqual(registrationToFinish(runner(), secret({ [RUNNER_ID_ANNOTATION]: "42" })), { id: 42 });
  });
  test("is left alone when spec.id is set, or the Secret names no usable id", () => {
    const cut = secret({ [RUNNER_ID_ANNOTATION]: "42" });
    assert.equal(registrationToFinish(runner({ spec: { id: 42 } as RunnerObject["spec"] }), cut), undefined);
    for (const bad of ["", "x", "-1", "1.5"])
      assert.equal(registrationToFinish(runner(), secret({ [RUNNER_ID_ANNOTATION]: bad })), undefined, bad);
    assert.equal(registrationToFinish(runner(), secret({})), undefined);
  });
});

describe("the runner Pod", () => {
  const r = runner({
    metadata: { labels: { "octorun.github.io/runner": "r1", "octorun.github.io/gpu": "yes", team: "x" } },
    spec: {
      url: "https://github.com/acme/repo",
      group: "g",
      workdir: "w",
      image: { name: "img:2", pullPolicy: "Always", pullSecrets: [{ name: "pull" }] },
      placement: {
        nodeSelector: { pool: "runners" },
        tolerations: [{ key: "k", operator: "Exists" }],
        affinity: { nodeAffinity: {} },
      },
      resources: { limits: { cpu: "2" } },
      securityContext: { readOnlyRootFilesystem: true },
      serviceAccountName: "sa",
      runtimeClassName: "gvisor",
      volumes: [{ name: "cache", emptyDir: {} }],
      volumeMounts: [{ name: "cache", mountPath: "/cache" }],
    },
  });
  const pod = buildRunnerPod({ runner: r, githubName: "ns-r1-abc", mode: "jit" });
  const container = pod.spec?.containers[0];

  test("is named, labelled and owned as the Runner", () => {
    assert.equal(pod.metadata?.name, "r1");
    assert.equal(pod.metadata?.labels?.["octorun.github.io/gpu"], "yes");
    assert.equal(pod.metadata?.labels?.["runner.octorun.github.io/name"], "r1");
    assert.deepEqual(pod.metadata?.ownerReferences?.[0], {
      apiVersion: "octorun.github.io/v1alpha2",
      kind: "Runner",
      name: "r1",
      uid: "uid-r1",
      controller: true,
      blockOwnerDeletion: true,
    });
  });
  test("has the environment contract", () => {
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual(env, {
      URL: "https://github.com/acme/repo",
      RUNNER_NAME: "ns-r1-abc",
      RUNNER_LABELS: "gpu=yes,runner=r1",
      RUNNER_GROUP: "g",
      RUNNER_WORKDIR: "w",
      RUNNER_JITCONFIG_FILE: "/var/run/secrets/runner.octorun.github.io/registration-token/jitconfig",
    });
  });
  test("mounts the Secret read-only first, then the spec's volumes", () => {
    assert.deepEqual(container?.volumeMounts?.[0], {
      name: "registration-token",
      mountPath: "/var/run/secrets/runner.octorun.github.io/registration-token",
      readOnly: true,
    });
    assert.equal(container?.volumeMounts?.[1]?.name, "cache");
    assert.equal(pod.spec?.volumes?.[0]?.secret?.secretName, "r1-registration-token");
    assert.equal(pod.spec?.volumes?.[1]?.name, "cache");
  });
  test("runs non-root with the spec's placement, resources and security fields", () => {
    assert.deepEqual(pod.spec?.securityContext, {
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(container?.image, "img:2");
    assert.equal(container?.imagePullPolicy, "Always");
    assert.deepEqual(pod.spec?.imagePullSecrets, [{ name: "pull" }]);
    assert.deepEqual(container?.resources, { limits: { cpu: "2" } });
    assert.deepEqual(container?.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
      readOnlyRootFilesystem: true,
    });
    assert.equal(pod.spec?.serviceAccountName, "sa");
    assert.equal(pod.spec?.automountServiceAccountToken, undefined, "a named ServiceAccount keeps its token");
    assert.equal(pod.spec?.runtimeClassName, "gvisor");
    assert.deepEqual(pod.spec?.nodeSelector, { pool: "runners" });
    assert.deepEqual(pod.spec?.tolerations, [{ key: "k", operator: "Exists" }]);
    assert.deepEqual(pod.spec?.affinity, { nodeAffinity: {} });
    assert.equal(pod.spec?.restartPolicy, "Never");
  });
  test("without spec.serviceAccountName or spec.securityContext: no token, hardened container defaults", () => {
    const plain = buildRunnerPod({
      runner: runner({ spec: { url: "https://github.com/a" } }),
      githubName: "x",
      mode: "jit",
    });
    assert.equal(plain.spec?.automountServiceAccountToken, false);
    assert.equal(plain.spec?.serviceAccountName, undefined);
    assert.deepEqual(plain.spec?.containers[0]?.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });
  test("a spec.securityContext field wins over the container default it names", () => {
    const privileged = buildRunnerPod({
      runner: runner({
        spec: {
          url: "https://github.com/a",
          securityContext: { allowPrivilegeEscalation: true, capabilities: { add: ["SYS_ADMIN"] } },
        },
      }),
      githubName: "x",
      mode: "jit",
    });
    assert.deepEqual(privileged.spec?.containers[0]?.securityContext, {
      allowPrivilegeEscalation: true,
      capabilities: { add: ["SYS_ADMIN"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });
  test("token mode points at the token file and probes for .runner", () => {
    const tokenPod = buildRunnerPod({ runner: r, githubName: "n", mode: "token" });
    const c = tokenPod.spec?.containers[0];
    assert.equal(
      c?.env?.find((e) => e.name === "RUNNER_TOKEN_FILE")?.value,
      "/var/run/secrets/runner.octorun.github.io/registration-token/token",
    );
    assert.deepEqual(c?.startupProbe?.exec?.command, ["cat", ".runner"]);
  });

  const table: [string, "Never" | "IfNotActive" | undefined, string | undefined, string][] = [
    ["IfNotActive, Pending", "IfNotActive", "Pending", "true"],
    ["IfNotActive, Idle", "IfNotActive", "Idle", "true"],
    ["IfNotActive, Active", "IfNotActive", "Active", "false"],
    ["default policy, Active", undefined, "Active", "false"],
    ["default policy, Idle", undefined, "Idle", "true"],
    ["Never, Idle", "Never", "Idle", "false"],
  ];
  for (const [name, policy, phase, expected] of table) {
    test(`safe-to-evict: ${name} → ${expected}`, () => {
      const subject = runner({
        spec: { url: "https://github.com/a", ...(policy ? { evictionPolicy: policy } : {}) },
        status: { phase: phase as "Idle" },
      });
      assert.equal(safeToEvict(subject), expected);
      assert.equal(
        buildRunnerPod({ runner: subject, githubName: "x", mode: "jit" }).metadata?.annotations?.[
          "cluster-autoscaler.kubernetes.io/safe-to-evict"
        ],
        expected,
      );
    });
  }
});

describe("asking the apiserver for a Secret the cache does not show, before registering", () => {
  const leadSince = Date.parse("2026-11-29T12:00:00Z");
  const ask = (createdAt: string, registrationBegun = false, soleRegistrarSince: number | undefined = leadSince) =>
    secretMayExistUnseen({ createdAt: Date.parse(createdAt), soleRegistrarSince, registrationBegun });
  test("not for a Runner created after this process became the only registrar, on its first attempt", () => {
    assert.equal(ask("2026-11-29T12:00:01Z"), false);
  });
  test("for a Runner from before (an earlier leader may have written it), at the same second, or of unknown age", () => {
    assert.equal(ask("2026-11-29T11:59:59Z"), true);
    assert.equal(ask("2026-11-29T12:00:00Z"), true);
    assert.equal(ask("not a time"), true);
  });
  test("after this process began registering it (a Secret of its own may exist), or while it is not leading", () => {
    assert.equal(ask("2026-11-29T12:00:01Z", true), true);
    const notLeading = { createdAt: Date.parse("2026-11-29T12:00:01Z"), soleRegistrarSince: undefined };
    assert.equal(secretMayExistUnseen({ ...notLeading, registrationBegun: false }), true);
  });
});
