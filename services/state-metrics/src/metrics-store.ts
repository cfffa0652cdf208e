import { type FamilyGenerator, headerOf, renderFamilies } from "./family.ts";

/** What a store needs of an object: its identity. */
export interface StoredObject {
  metadata?: { uid?: string; namespace?: string; name?: string };
}

/** One object's rendered text: all families in one buffer, family i at [offsets[i], offsets[i+1]). */
interface Rendered {
  bytes: Buffer;
  offsets: number[];
}

/**
 * The rendered state metrics of one kind of object, as kube-state-metrics keeps them: per object
 * uid, its exposition text of every family, rendered and UTF-8 encoded when the object changes.
 * A scrape only copies bytes, family by family, so its cost does not depend on rendering.
 */
export class MetricsStore<T extends StoredObject> {
  readonly families: readonly FamilyGenerator<T>[];
  readonly #headers: Buffer[];
  readonly #rendered = new Map<string, Rendered>();

  constructor(families: readonly FamilyGenerator<T>[]) {
    this.families = families;
    this.#headers = families.map((family) => Buffer.from(headerOf(family)));
  }

  /** An object was added or changed: render it again. */
  upsert(obj: T): void {
    const texts = renderFamilies(this.families, obj);
    const offsets = [0];
    let total = 0;
    for (const text of texts) {
      total += Buffer.byteLength(text);
      offsets.push(total);
    }
    // Unpooled: a pooled slice would keep a whole shared 8 KB slab alive for as long as this object lives.
    const bytes = Buffer.allocUnsafeSlow(total);
    for (let i = 0; i < texts.length; i++) bytes.write(texts[i]!, offsets[i]!);
    this.#rendered.set(uidOf(obj), { bytes, offsets });
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
   * Every family in order: its HELP and TYPE lines, then each object's lines, copied into chunks
   * of `chunkBytes`. The chunk buffer is reused: a consumer is done with a chunk when it asks for
   * the next one (so a scrape allocates one buffer, not one per chunk).
   */
  *chunks(chunkBytes = 256 * 1024): Generator<Buffer> {
    let chunk = Buffer.allocUnsafe(chunkBytes);
    let used = 0;
    for (let i = 0; i < this.families.length; i++) {
      const header = this.#headers[i]!;
      if (used + header.length > chunk.length) {
        if (used > 0) yield chunk.subarray(0, used);
        if (header.length > chunk.length) chunk = Buffer.allocUnsafe(header.length);
        used = 0;
      }
      used += header.copy(chunk, used);
      for (const rendered of this.#rendered.values()) {
        const start = rendered.offsets[i]!;
        const length = rendered.offsets[i + 1]! - start;
        if (length === 0) continue;
        if (used + length > chunk.length) {
          if (used > 0) yield chunk.subarray(0, used);
          if (length > chunk.length) chunk = Buffer.allocUnsafe(length);
          used = 0;
        }
        used += rendered.bytes.copy(chunk, used, start, start + length);
      }
    }
    if (used > 0) yield chunk.subarray(0, used);
  }

  /** The whole exposition text of this store (tests; a scrape streams `chunks`). */
  text(chunkBytes?: number): string {
    const parts: Buffer[] = [];
    for (const chunk of this.chunks(chunkBytes)) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts).toString("utf8");
  }
}

function uidOf(obj: StoredObject): string {
  // Objects always have a uid from the apiserver; namespace/name is a fallback for hand-made ones.
  return obj.metadata?.uid ?? `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}
