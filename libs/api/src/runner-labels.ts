// Runner labels: every metadata label with the prefix `octorun.github.io/` becomes the GitHub
// runner label `key=value` (`octorun.github.io/runner: x` → `runner=x`).

import { LABEL_PREFIX } from "./constants.ts";

/** GitHub accepts at most 100 labels per runner; the runner adds its default ones (self-hosted, OS, architecture). */
export const MAX_GITHUB_LABELS = 100;
export const DEFAULT_GITHUB_LABEL_COUNT = 3;
export const MAX_GITHUB_LABEL_LENGTH = 256;

/** The GitHub runner labels of an object's metadata labels, in key order. */
export function githubRunnerLabels(labels: Record<string, string> | undefined): string[] {
  return Object.keys(labels ?? {})
    .filter((key) => key.startsWith(LABEL_PREFIX) && key.length > LABEL_PREFIX.length)
    .sort()
    .map((key) => `${key.slice(LABEL_PREFIX.length)}=${labels?.[key] ?? ""}`);
}

export interface LabelProblem {
  /** The metadata label key concerned (or "" for the whole set). */
  key: string;
  message: string;
}

/** Why GitHub would refuse these runner labels (empty when it would accept them). */
export function githubLabelProblems(labels: Record<string, string> | undefined): LabelProblem[] {
  const problems: LabelProblem[] = [];
  const keys = Object.keys(labels ?? {}).filter((key) => key.startsWith(LABEL_PREFIX));
  const limit = MAX_GITHUB_LABELS - DEFAULT_GITHUB_LABEL_COUNT;
  if (keys.length > limit) {
    problems.push({
      key: "",
      message: `${keys.length} labels with the prefix ${LABEL_PREFIX}; GitHub allows at most ${limit} custom runner labels`,
    });
  }
  // GitHub runner labels are case-insensitive: two labels that differ only in case are one.
  const seen = new Map<string, string>();
  for (const key of keys.sort()) {
    const name = key.slice(LABEL_PREFIX.length);
    const label = `${name}=${labels?.[key] ?? ""}`;
    if (name.length === 0) problems.push({ key, message: "the label name after the prefix is empty" });
    if (label.length > MAX_GITHUB_LABEL_LENGTH) {
      problems.push({
        key,
        message: `the GitHub label ${JSON.stringify(label)} is longer than ${MAX_GITHUB_LABEL_LENGTH} characters`,
      });
    }
    const folded = label.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      problems.push({
        key,
        message: `gives the same GitHub label as ${other} (GitHub runner labels are case-insensitive)`,
      });
    }
    seen.set(folded, key);
  }
  return problems;
}
