// job-latency's floor, run as its own process: the least any consumer of job-assigned events must
// do. It consumes the same stream (a consumer of its own, from the moment it starts), finds the
// Runner by the GitHub runner name in a table the bench prepared, and writes the status the
// controller would write (the same pure decision, applyJobEvent) in one merge-patch of the status
// subresource. Nothing else: no cache, no optimistic lock, no Event, no retry.
//
// Environment: NATS_URL, KUBECONFIG, FLOOR_RUNNERS (a JSON file: Runner objects as they were Idle).
// Prints "ready" once its consumer exists; stops on SIGTERM (its consumer is deleted).
import { readFileSync } from "node:fs";
import { decodeJobEvent, JOB_STREAM, jobSubject } from "@octorun/bus";
import { KubeClient, loadKubeConfig, patchStatus } from "@octorun/kube";
import { AckPolicy, connect, DeliverPolicy } from "nats";
import { applyJobEvent } from "../../services/controller/src/job-event-apply.ts";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import { Runners } from "../../services/controller/test/env.ts";

const CONSUMER = "bench-floor";

const runners = new Map<string, RunnerObject>();
for (const runner of JSON.parse(readFileSync(process.env.FLOOR_RUNNERS ?? "", "utf8")) as RunnerObject[]) {
  if (runner.status?.runnerName) runners.set(runner.status.runnerName, runner);
}
const client = new KubeClient(loadKubeConfig(), { fieldManager: "bench-floor" });
const nc = await connect({ servers: process.env.NATS_URL });
const jsm = await nc.jetstreamManager();
await jsm.consumers.delete(JOB_STREAM, CONSUMER).catch(() => undefined);
await jsm.consumers.add(JOB_STREAM, {
  durable_name: CONSUMER,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.New,
  filter_subject: jobSubject("assigned"),
  max_ack_pending: 1000,
});
const messages = await (await nc.jetstream().consumers.get(JOB_STREAM, CONSUMER)).consume({ max_messages: 100 });
await warmUp();
process.stdout.write("ready\n");

process.on("SIGTERM", async () => {
  await messages.close();
  await jsm.consumers.delete(JOB_STREAM, CONSUMER).catch(() => undefined);
  await nc.close();
  process.exit(0);
});

/**
 * A fresh process would meet its first events with cold code and no connection to the apiserver
 * (the controller has run for a while): the decision is run a few hundred times on a made-up
 * event and the apiserver is read a few times, which writes nothing.
 */
async function warmUp(): Promise<void> {
  const [runner] = runners.values();
  if (!runner) return;
  const event = {
    action: "assigned",
    job: { id: 1, runId: 1, runAttempt: 1, name: "warm-up", workflowName: null, startedAt: null },
    runner: { id: null, name: runner.status?.runnerName ?? null, groupId: null, groupName: null },
    repository: { fullName: "acme/app" },
  } as unknown as Parameters<typeof applyJobEvent>[1];
  for (let i = 0; i < 500; i++) applyJobEvent(runner.status, event, new Date(), runner.metadata.generation);
  for (let i = 0; i < 10; i++)
    await Promise.all(
      Array.from({ length: 8 }, () => client.get(Runners, runner.metadata.namespace, runner.metadata.name ?? "")),
    );
}

for await (const message of messages) {
  // Each event is written as it comes, without waiting for the one before (the controller's 32
  // workers do the same).
  void (async () => {
    const event = decodeJobEvent(message.data);
    const runner = event.runner.name ? runners.get(event.runner.name) : undefined;
    if (runner) {
      const outcome = applyJobEvent(runner.status, event, new Date(), runner.metadata.generation);
      if (outcome.type === "apply") await patchStatus(client, Runners, runner, { ...outcome.status });
    }
    message.ack();
  })().catch((error: Error) => {
    process.stderr.write(`floor: ${error.message}\n`);
    message.nak();
  });
}
