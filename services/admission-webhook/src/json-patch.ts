// The one helper that turns "mutated copy vs original" into an RFC 6902 JSON Patch.

export type JsonPatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/** Operations that turn `original` into `modified` (objects are diffed key by key; arrays and scalars are replaced whole). */
export function jsonPatch(original: unknown, modified: unknown, path = ""): JsonPatchOperation[] {
  if (isObject(original) && isObject(modified)) {
    const operations: JsonPatchOperation[] = [];
    for (const key of Object.keys(original)) {
      if (!(key in modified)) operations.push({ op: "remove", path: `${path}/${escapePointer(key)}` });
    }
    for (const [key, value] of Object.entries(modified)) {
      const childPath = `${path}/${escapePointer(key)}`;
      if (!(key in original)) operations.push({ op: "add", path: childPath, value });
      else operations.push(...jsonPatch(original[key], value, childPath));
    }
    return operations;
  }
  if (deepEqual(original, modified)) return [];
  return [{ op: "replace", path, value: modified }];
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && deepEqual(a[key], b[key]));
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 6901: `~` → `~0`, `/` → `~1` (label keys such as `octorun.github.io/runner` contain a slash). */
function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}
