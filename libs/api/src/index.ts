export * from "./constants.ts";
export {
  ConversionError,
  convertObject,
  type KubernetesObject,
  octorunVersionOf,
  runnerFromV1alpha1,
  runnerSetFromV1alpha1,
  runnerSetToV1alpha1,
  runnerToV1alpha1,
} from "./conversion.ts";
export {
  CONVERSION_WEBHOOK_PATH,
  type CustomResourceDefinition,
  type PrinterColumn,
  resolvedSchema,
  runnerCrd,
  runnerSetCrd,
  WEBHOOK_SERVICE,
} from "./crd.ts";
export {
  isEmptySelector,
  type SelectorProblem,
  selectorMatches,
  selectorProblems,
  selectorString,
} from "./label-selector.ts";
export type { ObjectMeta, OwnerReference } from "./object-meta.ts";
export {
  ARCHITECTURE_LABELS,
  DEFAULT_GITHUB_LABEL_COUNT,
  distinctiveJobLabel,
  githubLabelProblems,
  githubRunnerLabels,
  type LabelProblem,
  MAX_GITHUB_LABEL_LENGTH,
  MAX_GITHUB_LABELS,
  OS_LABELS,
  type RunnerLabelOffer,
  type RunnerLabelSource,
  runnerLabelOffer,
  runnerTakesJob,
} from "./runner-labels.ts";
export {
  enterpriseHostsSetting,
  parseRunnerUrl,
  type RunnerScope,
  type RunnerUrl,
  RunnerUrlError,
  type RunnerUrlOptions,
} from "./runner-url.ts";
export type * from "./types.generated.ts";
export { type SchemaViolation, schemaViolations } from "./validation.ts";
