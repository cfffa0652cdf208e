import {
  DiscardPolicy,
  type JetStreamManager,
  NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";
import { BusConfigurationError } from "./errors.ts";
import { JOB_STREAM, JOB_SUBJECTS } from "./subjects.ts";

export interface JobStreamLimits {
  /** 0: keep forever. */
  maxAgeMs: number;
  /** -1: no limit. */
  maxBytes: number;
  maxMessages: number;
  /** How long a message id is remembered; at least 10 minutes so that redelivered webhooks are dropped. */
  duplicateWindowMs: number;
  replicas: number;
}

export const defaultJobStreamLimits: JobStreamLimits = {
  maxAgeMs: 7 * 24 * 3600_000,
  maxBytes: -1,
  maxMessages: -1,
  duplicateWindowMs: 3600_000,
  replicas: 1,
};

const minimumDuplicateWindowMs = 10 * 60_000;

/** The job stream's declaration: file storage, oldest events dropped first when a limit is reached. */
export function jobStreamConfig(limits: JobStreamLimits = defaultJobStreamLimits): Partial<StreamConfig> & {
  name: string;
} {
  if (limits.duplicateWindowMs < minimumDuplicateWindowMs)
    throw new BusConfigurationError(
      `the job stream's duplicate window must be at least ${minimumDuplicateWindowMs / 1000} s (got ${limits.duplicateWindowMs / 1000} s)`,
    );
  if (limits.maxAgeMs > 0 && limits.duplicateWindowMs > limits.maxAgeMs)
    throw new BusConfigurationError("the job stream's duplicate window cannot be longer than its maximum age");
  return {
    name: JOB_STREAM,
    description: "GitHub workflow_job events as octorun job events",
    subjects: [JOB_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    max_msgs: limits.maxMessages,
    duplicate_window: nanos(limits.duplicateWindowMs),
    num_replicas: limits.replicas,
  };
}

/** Fields that can differ between what is declared and what exists; storage cannot be changed in place. */
const compared = [
  "subjects",
  "max_age",
  "max_bytes",
  "max_msgs",
  "duplicate_window",
  "num_replicas",
  "discard",
] as const;

/**
 * Creates the job stream, or updates it when its limits differ from the declaration; leaves it
 * alone when it matches. Safe to run from every replica at every start.
 */
export async function ensureJobStream(
  jsm: JetStreamManager,
  limits: JobStreamLimits = defaultJobStreamLimits,
): Promise<"created" | "updated" | "unchanged"> {
  const wanted = jobStreamConfig(limits);
  const existing = await streamInfo(jsm);
  if (!existing) {
    try {
      await jsm.streams.add(wanted);
      return "created";
    } catch (error) {
      // Another replica created it in the meantime: fall through to compare.
      if (!(await streamInfo(jsm))) throw refine(error);
    }
  }
  const current = (await streamInfo(jsm))?.config;
  if (!current) throw new BusConfigurationError(`the stream ${JOB_STREAM} disappeared while it was being declared`);
  if (current.storage !== wanted.storage)
    throw new BusConfigurationError(
      `the stream ${JOB_STREAM} exists with ${current.storage} storage; it must be file storage (recreate it)`,
    );
  const differs = compared.some((key) => JSON.stringify(current[key]) !== JSON.stringify(wanted[key]));
  if (!differs) return "unchanged";
  try {
    await jsm.streams.update(JOB_STREAM, { ...current, ...wanted });
  } catch (error) {
    throw refine(error);
  }
  return "updated";
}

/** Whether the job stream exists (for readiness of services that do not declare it). */
export async function jobStreamExists(jsm: JetStreamManager): Promise<boolean> {
  return (await streamInfo(jsm)) !== undefined;
}

async function streamInfo(jsm: JetStreamManager) {
  try {
    return await jsm.streams.info(JOB_STREAM);
  } catch (error) {
    if (error instanceof NatsError && error.api_error?.err_code === 10059) return undefined; // stream not found
    throw refine(error);
  }
}

function refine(error: unknown): Error {
  const message = (error as Error).message ?? String(error);
  if (/permission|authorization/i.test(message))
    return new BusConfigurationError(`not allowed to declare the stream ${JOB_STREAM}: ${message}`, { cause: error });
  return error as Error;
}
