// ControllerRevisions of a RunnerSet's template, as the apps/v1 controllers keep them: the
// revision name is `<runnerset>-<hash>`, the hash is FNV-1a (32 bit) of the template's canonical
// JSON and the collision count, encoded in the same safe alphabet Kubernetes uses (no vowels, so
// no words), and the revision number grows by one for each new template.

import type { V1ControllerRevision } from "@kubernetes/client-node";
import type { RunnerTemplateView } from "./types.ts";

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with object keys sorted, so equal templates give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' rand.SafeEncodeString of the decimal hash. */
function safeEncode(text: string): string {
  let out = "";
  for (const char of text) out += SAFE_ALPHABET[char.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

export function templateHash(template: RunnerTemplateView, collisionCount = 0): string {
  const hash = fnv1a32(`${canonicalJson(template)}${collisionCount > 0 ? `#${collisionCount}` : ""}`);
  return safeEncode(String(hash));
}

export function revisionName(runnerSetName: string, hash: string): string {
  return `${runnerSetName}-${hash}`;
}

/** What a revision stores: the template, as StatefulSet revisions store their patch of the spec. */
export function revisionData(template: RunnerTemplateView): { spec: { template: RunnerTemplateView } } {
  return { spec: { template } };
}

/** The existing revision holding exactly this template, if any. */
export function findRevisionOf(
  revisions: readonly V1ControllerRevision[],
  template: RunnerTemplateView,
): V1ControllerRevision | undefined {
  const wanted = canonicalJson(revisionData(template));
  return revisions.find((r) => canonicalJson(r.data) === wanted);
}

export function nextRevisionNumber(revisions: readonly V1ControllerRevision[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.revision ?? 0), 0) + 1;
}
