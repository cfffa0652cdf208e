// Label selectors in their string form, as a `labelSelector` or `metricLabelSelector` query
// parameter carries them (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`): parsed once, then matched.

export class SelectorSyntaxError extends Error {
  constructor(selector: string, reason: string) {
    super(`invalid label selector "${selector}": ${reason}`);
    this.name = "SelectorSyntaxError";
  }
}

type Requirement =
  | { key: string; op: "exists" | "absent" }
  | { key: string; op: "in" | "notin"; values: ReadonlySet<string> };

export type ParsedSelector = readonly Requirement[];

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Parses a selector string; the empty string selects everything. */
export function parseSelector(selector: string): ParsedSelector {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(selector, selector)) {
    const text = part.trim();
    if (text === "") throw new SelectorSyntaxError(selector, "empty requirement");
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
    if (set) {
      const values = set[3]!.split(",").map((v) => v.trim());
      for (const value of values) checkValue(selector, value);
      requirements.push({ key: checkKey(selector, set[1]!), op: set[2] as "in" | "notin", values: new Set(values) });
      continue;
    }
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
    if (equality) {
      const value = checkValue(selector, equality[3]!);
      requirements.push({
        key: checkKey(selector, equality[1]!),
        op: equality[2] === "!=" ? "notin" : "in",
        values: new Set([value]),
      });
      continue;
    }
    if (text.startsWith("!")) requirements.push({ key: checkKey(selector, text.slice(1).trim()), op: "absent" });
    else requirements.push({ key: checkKey(selector, text), op: "exists" });
  }
  return requirements;
}

export function selectorMatches(selector: ParsedSelector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return selector.every((req) => {
    const present = Object.hasOwn(have, req.key);
    if (!("values" in req)) return present === (req.op === "exists");
    const inSet = present && req.values.has(have[req.key]!);
    return req.op === "in" ? inSet : !inSet;
  });
}

function splitTopLevel(selector: string, text: string): string[] {
  if (text.trim() === "") return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if (depth < 0 || depth > 1) throw new SelectorSyntaxError(selector, "unbalanced parentheses");
    if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new SelectorSyntaxError(selector, "unbalanced parentheses");
  parts.push(text.slice(start));
  return parts;
}

function checkKey(selector: string, key: string): string {
  if (key.length > 317 || !KEY.test(key)) throw new SelectorSyntaxError(selector, `bad label key "${key}"`);
  return key;
}

function checkValue(selector: string, value: string): string {
  if (!VALUE.test(value)) throw new SelectorSyntaxError(selector, `bad label value "${value}"`);
  return value;
}
