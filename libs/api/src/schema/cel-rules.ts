// The CEL rules (`x-kubernetes-validations`) the CRDs carry, so that the apiserver itself refuses
// what the schema can say is wrong, also where the admission webhook is not called (the namespaces
// it skips, a cluster where it is down or not installed). The webhook keeps what CEL cannot know:
// the configured GitHub Enterprise Server hosts, and who is asking (only the controller may set
// spec.id and spec.os).

import type { LABEL_SELECTOR_OPERATORS } from "../constants.ts";
import type { ValidationRule } from "./json-schema.ts";

/**
 * One rule per field of a Runner's spec except the system-filled ones, on the Runner's root so that
 * each error names its field (`spec.group`) and a field added or removed counts as a change.
 */
export function specImmutableExcept(fields: readonly string[], systemFields: readonly string[]): ValidationRule[] {
  const system = systemFields.map((field) => `spec.${field}`).join(" and ");
  return fields
    .filter((field) => !systemFields.includes(field))
    .map((field) => ({
      // Not `self.spec.?f == oldSelf.spec.?f`: the apiserver estimates optionals' equality far over its cost budget.
      rule: `has(self.spec.${celField(field)}) == has(oldSelf.spec.${celField(field)}) && (!has(self.spec.${celField(field)}) || self.spec.${celField(field)} == oldSelf.spec.${celField(field)})`,
      message: `a Runner's spec is immutable after creation (only ${system}, set by the controller, change)`,
      fieldPath: `.spec.${field}`,
      reason: "FieldValueForbidden",
    }));
}

// The shape of a runner URL as parseRunnerUrl (runner-url.ts) takes it, in RE2 (CEL's regular
// expressions): RE2 has no lookahead, so what the parser says with one is a separate condition
// here. The host is free (any name or address, a port): which hosts are allowed is the webhook's
// and the controller's to say, from their configuration.
const ORIGIN = String.raw`^(?i:https?)://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?`;
// GitHub account names: alphanumerics and single hyphens, not at either end, at most 39 long.
const ACCOUNT = "[A-Za-z0-9](?:-?[A-Za-z0-9])*";
/** Past a scheme and host the URL already has (the rule checks the shape first). */
const PATH = "^[^/]+//[^/]+/";
const ACCOUNT_AT_MOST_39 = `${PATH}[^/]{1,39}(?:/|$)`;
// A trailing `.git` is the clone URL's, not the repository name's.
const REPOSITORY = String.raw`[A-Za-z0-9._-]{1,100}(?:\.git)?`;
const ENTERPRISE = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?";
const ENTERPRISE_URL = `${ORIGIN}/enterprises/${ENTERPRISE}/?$`;
const ACCOUNT_URL = `${ORIGIN}/${ACCOUNT}(?:/${REPOSITORY})?/?$`;
/** `/enterprises` leads to an enterprise, never to an account of that name. */
const UNDER_ENTERPRISES = `${PATH}enterprises(?:/|$)`;
/** A repository may not be named `.` or `..`, nor be empty once `.git` is taken off. */
const DOT_REPOSITORY = String.raw`/(?:\.|\.\.|\.git|\.\.git|\.\.\.git)/?$`;
/** github.com (and www.github.com) only over https; http is for a GitHub Enterprise Server. */
const HTTP_GITHUB_COM = String.raw`^(?i:http://(?:www\.)?github\.com)(?::80)?/`;

/** The longest `spec.url` taken: bounds the cost of the rules below. */
export const MAX_RUNNER_URL_LENGTH = 2048;

export function runnerUrlRules(): ValidationRule[] {
  const matches = (pattern: string) => `self.matches(r'${pattern}')`;
  return [
    {
      rule: `${matches(ENTERPRISE_URL)} || (${matches(ACCOUNT_URL)} && !${matches(UNDER_ENTERPRISES)} && ${matches(ACCOUNT_AT_MOST_39)} && !${matches(DOT_REPOSITORY)})`,
      message:
        "must be a repository (https://HOST/OWNER/REPO), organization (https://HOST/ORG) or enterprise (https://HOST/enterprises/ENTERPRISE) URL, with no credentials, query or fragment",
    },
    {
      rule: `!${matches(HTTP_GITHUB_COM)}`,
      message: "github.com takes https only (http only for a GitHub Enterprise Server host)",
    },
  ];
}

/**
 * On a RunnerSet's spec: the selector selects the template's labels (the RunnerSet would otherwise
 * never see the Runners it creates), with Kubernetes' semantics for every operator. Written with
 * has() rather than optionals (`.?x.orValue({})`), whose cost the apiserver estimates far over its
 * budget; the selector's limits (SELECTOR_LIMITS) bound the rest.
 */
export function selectorMatchesTemplateRule(): ValidationRule {
  // No cel.bind in the apiserver's CRD environment: the labels are spelled out where used.
  const labels = "self.template.metadata.labels";
  const hasLabels = `(has(self.template) && has(self.template.metadata) && has(${labels}))`;
  const valueIn = `(e.key in ${labels} && has(e.values) && ${labels}[e.key] in e.values)`;
  const operators: Record<(typeof LABEL_SELECTOR_OPERATORS)[number], string> = {
    In: valueIn,
    NotIn: `!${valueIn}`,
    Exists: `e.key in ${labels}`,
    DoesNotExist: `!(e.key in ${labels})`,
  };
  // An unknown operator is the operator's own enum to refuse, not this rule's.
  const expression = Object.entries(operators).reduceRight(
    (otherwise, [operator, test]) => `e.operator == '${operator}' ? ${test} : ${otherwise}`,
    "true",
  );
  const matchLabels = `self.selector.matchLabels.all(k, ${hasLabels} && k in ${labels} && ${labels}[k] == self.selector.matchLabels[k])`;
  // With no labels at all, only NotIn and DoesNotExist hold.
  const matchExpressions = `self.selector.matchExpressions.all(e, ${hasLabels} ? (${expression}) : (e.operator == 'NotIn' || e.operator == 'DoesNotExist'))`;
  return {
    rule: `(!has(self.selector.matchLabels) || ${matchLabels}) && (!has(self.selector.matchExpressions) || ${matchExpressions})`,
    message: "`selector` does not match template `labels`",
    fieldPath: ".template.metadata.labels",
  };
}

/**
 * Bounds on a RunnerSet's selector that keep the rule above within the apiserver's CEL cost budget.
 * Label keys and values never exceed Kubernetes' own lengths (317 = a 253-character prefix, "/"
 * and a 63-character name); the counts are far beyond any real selector.
 */
export const SELECTOR_LIMITS = {
  labelKeyLength: 317,
  labelValueLength: 63,
  matchLabels: 256,
  matchExpressions: 64,
  values: 256,
} as const;

export function immutableRule(): ValidationRule {
  return { rule: "self == oldSelf", message: "field is immutable" };
}

// CEL reserves some words; a field named so would need escaping (none of ours is).
const CEL_RESERVED = new Set(
  "in as break const continue else for function if import let loop package namespace return var void while".split(" "),
);

function celField(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || CEL_RESERVED.has(name)) {
    throw new Error(`the field ${name} needs escaping in a CEL rule`);
  }
  return name;
}
