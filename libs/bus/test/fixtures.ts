import type { JobEvent } from "../src/index.ts";

/** A valid job event (an assigned job on an org repository, App delivery). */
export function sampleEvent(overrides: Partial<JobEvent> = {}): JobEvent {
  return {
    version: 1,
    deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    action: "assigned",
    job: {
      id: 12877621891,
      runId: 4747967848,
      runAttempt: 1,
      name: "test",
      workflowName: "CI",
      labels: ["self-hosted", "k8s"],
      conclusion: null,
      createdAt: "2023-04-19T21:12:12Z",
      startedAt: "2023-04-19T21:12:20Z",
      completedAt: null,
      htmlUrl: "https://github.com/octo/repo/actions/runs/4747967848/job/1",
    },
    runner: { id: 42, name: "runner-a", groupId: 1, groupName: "Default" },
    repository: { fullName: "octo/repo", url: "https://github.com/octo/repo" },
    owner: { login: "octo", type: "Organization", url: "https://github.com/octo" },
    installationId: 23154469,
    ...overrides,
  };
}

let nextDelivery = 0;

/** A valid job event with a delivery id no other event of this process has (`<prefix>-<pid>-<n>`). */
export function freshEvent(prefix: string, overrides: Partial<JobEvent> = {}): JobEvent {
  return sampleEvent({ deliveryId: `${prefix}-${process.pid}-${++nextDelivery}`, ...overrides });
}
