// metav1.LabelSelector, the one implementation octorun has: syntax checks as the apiserver makes
// them (the webhook), matching with Kubernetes' semantics and the string form (the controller).

import type { LabelSelector } from "./types.generated.ts";

export interface SelectorProblem {
  field: string;
  message: string;
}

// Label keys: optional DNS-1123 subdomain prefix (≤ 253) + "/" + name (≤ 63); values ≤ 63.
const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix))) {
    return "prefix part must be a DNS-1123 subdomain";
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return "name part must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character";
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return "a label value must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character";
  }
  return undefined;
}

/** What is wrong with a selector (empty when it is valid). `field` is where it sits, e.g. `spec.selector`. */
export function selectorProblems(selector: LabelSelector, field: string): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem)
      problems.push({ field: `${field}.matchLabels`, message: `Invalid value: ${JSON.stringify(key)}: ${keyProblem}` });
    const valueProblem = labelValueProblem(String(value));
    if (valueProblem)
      problems.push({
        field: `${field}.matchLabels`,
        message: `Invalid value: ${JSON.stringify(value)}: ${valueProblem}`,
      });
  }
  (selector.matchExpressions ?? []).forEach((expression, index) => {
    const at = `${field}.matchExpressions[${index}]`;
    const keyProblem = labelKeyProblem(expression.key ?? "");
    if (keyProblem)
      problems.push({ field: `${at}.key`, message: `Invalid value: ${JSON.stringify(expression.key)}: ${keyProblem}` });
    const operator = expression.operator;
    if (!(OPERATORS as readonly string[]).includes(operator)) {
      problems.push({
        field: `${at}.operator`,
        message: `Unsupported value: ${JSON.stringify(operator)}: supported values: ${OPERATORS.map((o) => `"${o}"`).join(", ")}`,
      });
      return;
    }
    const values = expression.values ?? [];
    if ((operator === "In" || operator === "NotIn") && values.length === 0) {
      problems.push({
        field: `${at}.values`,
        message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
      });
    }
    if ((operator === "Exists" || operator === "DoesNotExist") && values.length > 0) {
      problems.push({
        field: `${at}.values`,
        message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      });
    }
    values.forEach((value, valueIndex) => {
      const problem = labelValueProblem(value);
      if (problem)
        problems.push({
          field: `${at}.values[${valueIndex}]`,
          message: `Invalid value: ${JSON.stringify(value)}: ${problem}`,
        });
    });
  });
  return problems;
}

/** No matchLabels and no matchExpressions: selects everything (apps/v1 refuses such a selector). */
export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/**
 * Whether the labels satisfy the selector, as metav1.LabelSelectorAsSelector decides: an absent
 * selector matches nothing, an empty one everything, and one with an unknown operator nothing.
 */
export function selectorMatches(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, key);
    const value = have[key] as string;
    switch (operator) {
      case "In":
        if (!present || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (present && values.includes(value)) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * The selector in query-parameter syntax (`a=b,c in (d,e),!f`), keys sorted as kubectl prints
 * them; for RunnerSet status.selector (the scale subresource). A selector with an unknown operator
 * has no string form ("").
 */
export function selectorString(selector: LabelSelector | undefined): string {
  if (!selector) return "";
  const parts: string[] = [];
  for (const key of Object.keys(selector.matchLabels ?? {}).sort()) parts.push(`${key}=${selector.matchLabels?.[key]}`);
  const expressions = [...(selector.matchExpressions ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  for (const { key, operator, values = [] } of expressions) {
    const list = [...values].sort().join(",");
    if (operator === "In") parts.push(`${key} in (${list})`);
    else if (operator === "NotIn") parts.push(`${key} notin (${list})`);
    else if (operator === "Exists") parts.push(key);
    else if (operator === "DoesNotExist") parts.push(`!${key}`);
    else return "";
  }
  return parts.join(",");
}
