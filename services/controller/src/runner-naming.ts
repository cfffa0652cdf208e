// GitHub runner names are unique per GitHub scope (repository, organization, enterprise), while
// Runner names are only unique per namespace: two namespaces may both hold a Runner "build-1"
// registered to the same organization. The GitHub name therefore carries the namespace and a
// short hash of the Runner's uid (so a Runner deleted and created again under the same name does
// not collide with a registration GitHub still holds). The chosen name is kept in
// `status.runnerName`; once recorded it never changes.

import { createHash } from "node:crypto";

/** GitHub rejects longer runner names. */
export const MAX_GITHUB_RUNNER_NAME_LENGTH = 64;
const HASH_LENGTH = 8;

export interface RunnerIdentity {
  namespace: string;
  name: string;
  uid: string;
  /** `status.runnerName`, if the controller already chose one. */
  recorded?: string | undefined;
}

/** The runner's GitHub name: the recorded one, else `<namespace>-<name>-<hash of uid>` (≤ 64 characters). */
export function githubRunnerName(identity: RunnerIdentity): string {
  if (identity.recorded) return identity.recorded;
  if (!identity.uid) throw new Error(`Runner ${identity.namespace}/${identity.name} has no uid yet`);
  const hash = createHash("sha256").update(identity.uid).digest("hex").slice(0, HASH_LENGTH);
  const room = MAX_GITHUB_RUNNER_NAME_LENGTH - HASH_LENGTH - 1;
  // Namespace and name are DNS labels/subdomains: already valid in a GitHub runner name.
  let readable = `${identity.namespace}-${identity.name}`;
  if (readable.length > room) readable = readable.slice(0, room).replace(/[-.]+$/, "");
  return `${readable}-${hash}`;
}
