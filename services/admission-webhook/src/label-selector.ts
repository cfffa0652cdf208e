// metav1.LabelSelector: syntax checks as the apiserver makes them, and matching against labels.

import type { LabelSelector } from "@octorun/api";

export interface SelectorProblem {
  field: string;
  message: string;
}

// Label keys: optional DNS-1123 subdomain prefix (≤ 253) + "/" + name (≤ 63); values ≤ 63.
const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

export function labelKeyProblem(key: string): string | undefined {
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

export function labelValueProblem(value: string): string | undefined {
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

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case "In":
        if (!has || !values.includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && values.includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
