import { familyHeader } from "./exposition.ts";

/**
 * One metric family of one kind of object, as kube-state-metrics defines them: a pure function
 * from one object to its sample lines (already rendered, identity labels included).
 */
export interface FamilyGenerator<T> {
  name: string;
  help: string;
  type: "gauge";
  generate(obj: T): string;
}

/** The HELP and TYPE lines of a generator's family. */
export function headerOf(family: FamilyGenerator<unknown>): string {
  return familyHeader(family.name, family.help, family.type);
}

/** Renders every family of one object: the text a store keeps for it, one entry per family. */
export function renderFamilies<T>(families: readonly FamilyGenerator<T>[], obj: T): string[] {
  return families.map((family) => family.generate(obj));
}

/** Unix seconds of an RFC 3339 timestamp, or undefined when absent or unparsable. */
export function unixSeconds(timestamp: string | undefined): number | undefined {
  if (!timestamp) return undefined;
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}
