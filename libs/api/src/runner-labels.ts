// Runner labels, and which jobs a runner can take: one home for both, so that the controller
// registers the labels that state-metrics matches jobs against.
//
// A runner's GitHub labels are its plain `spec.labels` (`gpu`, `arm64`) and, for every metadata
// label with the prefix `octorun.github.io/`, the label `key=value` (`octorun.github.io/runner: x`
// → `runner=x`). GitHub adds `self-hosted` and the labels of the OS and architecture the runner
// runs on.

import { LABEL_PREFIX } from "./constants.ts";

/** GitHub accepts at most 100 labels per runner; the runner adds its default ones (self-hosted, OS, architecture). */
export const MAX_GITHUB_LABELS = 100;
export const DEFAULT_GITHUB_LABEL_COUNT = 3;
export const MAX_GITHUB_LABEL_LENGTH = 256;

/** GitHub's default labels of a self-hosted runner's operating system and architecture (lower case). */
export const OS_LABELS: ReadonlySet<string> = new Set(["linux", "windows", "macos"]);
export const ARCHITECTURE_LABELS: ReadonlySet<string> = new Set(["x64", "arm", "arm64"]);
const SELF_HOSTED = "self-hosted";

/** What a Runner, or a RunnerSet's template, says about its GitHub labels. */
export interface RunnerLabelSource {
  metadata?: { labels?: Record<string, string> };
  spec?: { labels?: readonly string[] };
}

/** The GitHub labels octorun registers a runner with: `spec.labels` in order, then the `key=value` labels in key order. */
export function githubRunnerLabels(runner: RunnerLabelSource | undefined): string[] {
  const metadataLabels = runner?.metadata?.labels ?? {};
  const keyValue = Object.keys(metadataLabels)
    .filter((key) => key.startsWith(LABEL_PREFIX) && key.length > LABEL_PREFIX.length)
    .sort()
    .map((key) => `${key.slice(LABEL_PREFIX.length)}=${metadataLabels[key] ?? ""}`);
  // GitHub labels ignore case: a label given twice is registered once (admission refuses it anyway).
  const seen = new Set<string>();
  return [...(runner?.spec?.labels ?? []), ...keyValue].filter((label) => {
    const folded = label.toLowerCase();
    if (seen.has(folded)) return false;
    seen.add(folded);
    return true;
  });
}

/** The labels a runner offers a job, ready to compare with many jobs. */
export interface RunnerLabelOffer {
  /** The runner's own labels, lower case. */
  readonly labels: ReadonlySet<string>;
  /** Whether its own labels name an operating system / an architecture (then that is the only one it offers). */
  readonly namesOs: boolean;
  readonly namesArchitecture: boolean;
}

export function runnerLabelOffer(runner: RunnerLabelSource | undefined): RunnerLabelOffer {
  const labels = new Set(githubRunnerLabels(runner).map((label) => label.toLowerCase()));
  const names = (set: ReadonlySet<string>) => [...labels].some((label) => set.has(label));
  return { labels, namesOs: names(OS_LABELS), namesArchitecture: names(ARCHITECTURE_LABELS) };
}

/**
 * Whether a runner can take a job, by GitHub's rule: every label the job's `runs-on` asks for
 * (ignoring case) is one of the runner's. `self-hosted` always is. The runner's OS and
 * architecture labels are added by the runner from the machine it runs on, which a Runner does
 * not declare: any is taken as offered unless the runner's own labels name one (`arm64`), then
 * only that one. A job that asks for no label at all is for no self-hosted runner.
 */
export function runnerTakesJob(offer: RunnerLabelOffer, jobLabels: readonly string[]): boolean {
  if (jobLabels.length === 0) return false;
  return jobLabels.every((asked) => {
    const label = asked.toLowerCase();
    if (label === SELF_HOSTED || offer.labels.has(label)) return true;
    if (OS_LABELS.has(label)) return !offer.namesOs;
    if (ARCHITECTURE_LABELS.has(label)) return !offer.namesArchitecture;
    return false;
  });
}

/**
 * The first label a job asks for that only a runner's own labels can offer (not `self-hosted`,
 * an OS or an architecture), lower case; undefined when it asks for none. A runner that takes the
 * job carries it, so it narrows the runners worth comparing.
 */
export function distinctiveJobLabel(jobLabels: readonly string[]): string | undefined {
  for (const asked of jobLabels) {
    const label = asked.toLowerCase();
    if (label !== SELF_HOSTED && !OS_LABELS.has(label) && !ARCHITECTURE_LABELS.has(label)) return label;
  }
  return undefined;
}

export interface LabelProblem {
  /** Where: a metadata label's key, or an index into `spec.labels`; neither for the whole set. */
  key?: string;
  index?: number;
  message: string;
}

/** Why GitHub would refuse these runner labels (empty when it would accept them). */
export function githubLabelProblems(runner: RunnerLabelSource | undefined): LabelProblem[] {
  const problems: LabelProblem[] = [];
  const metadataLabels = runner?.metadata?.labels ?? {};
  const plain = runner?.spec?.labels ?? [];
  const keys = Object.keys(metadataLabels).filter((key) => key.startsWith(LABEL_PREFIX));
  const limit = MAX_GITHUB_LABELS - DEFAULT_GITHUB_LABEL_COUNT;
  if (keys.length + plain.length > limit) {
    problems.push({
      message: `${plain.length} labels in spec.labels and ${keys.length} metadata labels with the prefix ${LABEL_PREFIX}; GitHub allows at most ${limit} custom runner labels`,
    });
  }
  // GitHub runner labels are case-insensitive: two labels that differ only in case are one.
  const seen = new Map<string, string>();
  const check = (label: string, where: { key: string } | { index: number }, name: string) => {
    if (label.length > MAX_GITHUB_LABEL_LENGTH) {
      problems.push({
        ...where,
        message: `the GitHub label ${JSON.stringify(label)} is longer than ${MAX_GITHUB_LABEL_LENGTH} characters`,
      });
    }
    const folded = label.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      problems.push({
        ...where,
        message: `gives the same GitHub label as ${other} (GitHub runner labels are case-insensitive)`,
      });
    }
    seen.set(folded, name);
  };
  plain.forEach((label, index) => {
    if (label.trim() === "" || label.trim() !== label || label.includes(",")) {
      problems.push({ index, message: "a GitHub label is not empty and has no commas and no surrounding spaces" });
      return;
    }
    check(label, { index }, `spec.labels[${index}]`);
  });
  for (const key of keys.sort()) {
    const name = key.slice(LABEL_PREFIX.length);
    if (name.length === 0) problems.push({ key, message: "the label name after the prefix is empty" });
    check(`${name}=${metadataLabels[key] ?? ""}`, { key }, key);
  }
  return problems;
}
