// Watches every Runner and keeps the history of each: the phases it went through and the job it
// recorded. The end-to-end tests judge the system by this history.
import { type KubeConfig, Watch } from "@kubernetes/client-node";
import { API_GROUP, RUNNER_RESOURCE, type Runner, STORAGE_VERSION } from "@octorun/api";

export interface RunnerHistory {
  name: string;
  phases: string[];
  /** When each phase was first seen (epoch ms), beside `phases`. */
  phaseTimes: number[];
  /** The GitHub runner name the controller chose, once in status. */
  runnerName?: string;
  jobId?: number;
  jobRecordedAtMs?: number;
  deleted: boolean;
  deletedAtMs?: number;
  /** The phase the Runner was in when its deletion was first seen (deletionTimestamp set). */
  deletionRequestedInPhase?: string;
}

const ORDER = ["Pending", "Idle", "Active", "Complete"];

/** Phases that move backwards (Failed may come from anywhere and is final). */
export function backwardMoves(phases: readonly string[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < phases.length; i++) {
    const before = phases[i - 1]!;
    const after = phases[i]!;
    if (before === "Failed" || before === "Complete") {
      if (after !== before) problems.push(`${before} → ${after}`);
      continue;
    }
    if (after === "Failed") continue;
    if (ORDER.indexOf(after) < ORDER.indexOf(before)) problems.push(`${before} → ${after}`);
  }
  return problems;
}

export class RunnerRecorder {
  readonly histories = new Map<string, RunnerHistory>();
  readonly #kubeConfig: KubeConfig;
  #abort: AbortController | undefined;
  /** Set when the watch ended on its own: the history may have gaps, so a test must fail. */
  watchError: Error | undefined;

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
  }

  async start(namespace = "default"): Promise<this> {
    this.#abort = await new Watch(this.#kubeConfig).watch(
      `/apis/${API_GROUP}/${STORAGE_VERSION}/namespaces/${namespace}/${RUNNER_RESOURCE.plural}`,
      {},
      (type, runner: Runner) => this.#record(type, runner),
      (error) => {
        if (this.#abort && !this.#abort.signal.aborted) this.watchError = (error as Error) ?? new Error("watch ended");
      },
    );
    return this;
  }

  stop(): void {
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.abort();
  }

  /** Runner histories by the job they recorded. */
  byJob(): Map<number, RunnerHistory> {
    const result = new Map<number, RunnerHistory>();
    for (const history of this.histories.values()) if (history.jobId) result.set(history.jobId, history);
    return result;
  }

  /** The history of the Runner registered at GitHub under this name. */
  byRunnerName(runnerName: string): RunnerHistory | undefined {
    for (const history of this.histories.values()) if (history.runnerName === runnerName) return history;
    return undefined;
  }

  #record(type: string, runner: Runner): void {
    const name = runner.metadata?.name ?? "";
    const atMs = Date.now();
    let history = this.histories.get(name);
    if (!history) {
      history = { name, phases: [], phaseTimes: [], deleted: false };
      this.histories.set(name, history);
    }
    const phase = runner.status?.phase;
    if (phase && history.phases.at(-1) !== phase) {
      history.phases.push(phase);
      history.phaseTimes.push(atMs);
    }
    if (runner.status?.runnerName) history.runnerName = runner.status.runnerName;
    if (runner.status?.job?.id && history.jobId !== runner.status.job.id) {
      history.jobId = runner.status.job.id;
      history.jobRecordedAtMs = atMs;
    }
    if (runner.metadata?.deletionTimestamp && !history.deletionRequestedInPhase) {
      history.deletionRequestedInPhase = history.phases.at(-1) ?? "(none)";
    }
    if (type === "DELETED") {
      history.deleted = true;
      history.deletedAtMs = atMs;
    }
  }
}
