export { BusConnection, type BusConnectionOptions } from "./connection.ts";
export { type JobConsumerOptions, JobEventConsumer, type JobMessage, type JobMessageHandler } from "./consumer.ts";
export { BusConfigurationError, BusUnavailableError } from "./errors.ts";
export {
  assertJobEvent,
  checkJobEvent,
  decodeJobEvent,
  encodeJobEvent,
  InvalidJobEventError,
  JOB_EVENT_VERSION,
  type JobConclusion,
  type JobEvent,
  jobEventSchema,
} from "./job-event.ts";
export {
  jobConsumerPermissions,
  jobPublisherPermissions,
  jobStreamManagerPermissions,
  mergePermissions,
  type NatsPermissions,
  serviceInbox,
} from "./permissions.ts";
export { type PublishedJobEvent, publishJobEvent } from "./publish.ts";
export {
  type BusConfig,
  busConnectionOptions,
  busSettings,
  type JobStreamConfig,
  jobStreamLimits,
  jobStreamSettings,
} from "./settings.ts";
export {
  defaultJobStreamLimits,
  ensureJobStream,
  type JobStreamLimits,
  jobStreamConfig,
  jobStreamExists,
} from "./stream.ts";
export {
  actionOfSubject,
  JOB_STREAM,
  JOB_SUBJECTS,
  type JobAction,
  jobActionFromGitHub,
  jobActions,
  jobSubject,
} from "./subjects.ts";
