/** A standard Kubernetes condition (metav1.Condition). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionUpdate = Omit<Condition, "lastTransitionTime" | "message"> & { message?: string };

/**
 * The conditions with `update` set, as a new array (the input is not changed). The condition's
 * lastTransitionTime moves to `now` only when its status changes (or it is new); a change of
 * reason or message alone keeps the old time. Other conditions keep their place.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message ?? "",
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : toRfc3339(now),
    ...(update.observedGeneration !== undefined ? { observedGeneration: update.observedGeneration } : {}),
  };
  if (!existing) return [...list, next];
  return list.map((c) => (c.type === update.type ? next : c));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** metav1.Time is RFC 3339 with second precision. */
export function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime is RFC 3339 with exactly six fractional digits. */
export function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
