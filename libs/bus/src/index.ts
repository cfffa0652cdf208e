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
  actionOfSubject,
  JOB_STREAM,
  JOB_SUBJECTS,
  type JobAction,
  jobActionFromGitHub,
  jobActions,
  jobSubject,
} from "./subjects.ts";
