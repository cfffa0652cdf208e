import { type FamilyGenerator, headerOf, renderFamilies } from "./family.ts";

/**
 * The rendered state metrics of one kind of object, as kube-state-metrics keeps them: per object
 * uid, one piece of exposition text per family, rendered when the object changes. A scrape only
 * writes the pieces out, family by family, so its cost does not depend on rendering.
 */
/** What a store needs of an object: its identity. */
export interface StoredObject {
  metadata?: { uid?: string; namespace?: string; name?: string };
}

export class MetricsStore<T extends StoredObject> {
  readonly families: readonly FamilyGenerator<T>[];
  readonly #headers: string[];
  readonly #rendered = new Map<string, string[]>();

  constructor(families: readonly FamilyGenerator<T>[]) {
    this.families = families;
    this.#headers = families.map(headerOf);
  }

  /** An object was added or changed: render it again. */
  upsert(obj: T): void {
    this.#rendered.set(uidOf(obj), renderFamilies(this.families, obj));
  }

  /** An object was deleted: its series disappear from the next scrape. */
  delete(obj: T): void {
    this.#rendered.delete(uidOf(obj));
  }

  /** For an informer's update: a recreated object (same name, new uid) replaces the old one. */
  replace(oldObj: T, newObj: T): void {
    if (uidOf(oldObj) !== uidOf(newObj)) this.delete(oldObj);
    // A periodic resync hands the same object again: nothing to render.
    if (oldObj === newObj && this.#rendered.has(uidOf(newObj))) return;
    this.upsert(newObj);
  }

  get size(): number {
    return this.#rendered.size;
  }

  /**
   * Writes every family: its HELP and TYPE lines, then each object's lines. Text is handed to
   * `write` in chunks of about `chunkBytes` characters.
   */
  writeTo(write: (chunk: string) => void, chunkBytes = 64 * 1024): void {
    let chunk = "";
    for (let i = 0; i < this.families.length; i++) {
      chunk += this.#headers[i];
      for (const pieces of this.#rendered.values()) {
        chunk += pieces[i];
        if (chunk.length >= chunkBytes) {
          write(chunk);
          chunk = "";
        }
      }
    }
    if (chunk.length > 0) write(chunk);
  }
}

function uidOf(obj: StoredObject): string {
  // Objects always have a uid from the apiserver; namespace/name is a fallback for hand-made ones.
  return obj.metadata?.uid ?? `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}
