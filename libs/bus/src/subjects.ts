/** Job actions as octorun names them; GitHub's `in_progress` (a runner took the job) is `assigned`. */
export const jobActions = ["queued", "waiting", "assigned", "completed"] as const;
export type JobAction = (typeof jobActions)[number];

/** The JetStream stream that holds every job event. */
export const JOB_STREAM = "OCTORUN_JOBS";
/** Every subject of the job stream. */
export const JOB_SUBJECTS = "octorun.jobs.>";
const subjectPrefix = "octorun.jobs.";

/** `octorun.jobs.<action>` */
export function jobSubject(action: JobAction): string {
  return `${subjectPrefix}${action}`;
}

/** The action a job subject carries, or undefined for a subject outside the job stream. */
export function actionOfSubject(subject: string): JobAction | undefined {
  if (!subject.startsWith(subjectPrefix)) return undefined;
  const action = subject.slice(subjectPrefix.length);
  return (jobActions as readonly string[]).includes(action) ? (action as JobAction) : undefined;
}

/** GitHub's `workflow_job` action → octorun's job action; undefined for actions octorun does not handle. */
export function jobActionFromGitHub(action: string): JobAction | undefined {
  switch (action) {
    case "queued":
    case "waiting":
    case "completed":
      return action;
    case "in_progress":
      return "assigned";
    default:
      return undefined;
  }
}
