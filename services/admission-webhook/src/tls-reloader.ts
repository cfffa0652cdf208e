// The serving certificate and key from files, loaded again when they change (cert-manager and the
// kubelet replace mounted Secret files by swapping a symlink). A watch reacts at once; a poll
// catches what a watch misses (some volume types send no events).

import { X509Certificate } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname } from "node:path";
import { createSecureContext } from "node:tls";
import type { Logger } from "@octorun/runtime";

export interface KeyMaterial {
  cert: Buffer;
  key: Buffer;
  /** Expiry of the certificate (the first in the chain). */
  notAfter: Date;
}

export interface CertificateReloaderOptions {
  certFile: string;
  keyFile: string;
  logger: Logger;
  /** Called with the new material after it was read and checked. */
  onChange: (material: KeyMaterial) => void;
  onFailure?: (error: unknown) => void;
  pollIntervalMs?: number;
}

export class CertificateError extends Error {
  override name = "CertificateError";
}

/** Reads and checks a certificate and its key (a pair that does not match throws). */
export function readKeyMaterial(certFile: string, keyFile: string): KeyMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (error) {
    throw new CertificateError(`cannot read the serving certificate or key: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    createSecureContext({ cert, key }); // throws on a key that does not match the certificate
    return { cert, key, notAfter: new Date(new X509Certificate(cert).validTo) };
  } catch (error) {
    throw new CertificateError(
      `the serving certificate ${certFile} and key ${keyFile} are not a valid pair: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export class CertificateReloader {
  readonly #options: CertificateReloaderOptions;
  #current: KeyMaterial | undefined;
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  constructor(options: CertificateReloaderOptions) {
    this.#options = options;
  }

  /** Loads the files (throws a CertificateError if they are unusable) and starts watching them. */
  start(): KeyMaterial {
    this.#current = readKeyMaterial(this.#options.certFile, this.#options.keyFile);
    for (const directory of new Set([dirname(this.#options.certFile), dirname(this.#options.keyFile)])) {
      try {
        const watcher = watch(directory, () => this.#schedule());
        watcher.on("error", () => undefined); // the poll still runs
        this.#watchers.push(watcher);
      } catch {
        // No watch on this file system: the poll alone will do.
      }
    }
    this.#timer = setInterval(() => this.check(), this.#options.pollIntervalMs ?? 10_000);
    this.#timer.unref();
    return this.#current;
  }

  stop(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
  }

  /** Loads the files again if they changed; keeps the material in use when the new files are unusable (e.g. half written). */
  check(): void {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(this.#options.certFile);
      key = readFileSync(this.#options.keyFile);
    } catch {
      return; // in the middle of a swap; the next event or poll sees the final files
    }
    if (this.#current && cert.equals(this.#current.cert) && key.equals(this.#current.key)) return;
    try {
      const material = readKeyMaterial(this.#options.certFile, this.#options.keyFile);
      this.#current = material;
      this.#options.onChange(material);
      this.#options.logger.info("serving certificate reloaded", {
        certFile: this.#options.certFile,
        notAfter: material.notAfter.toISOString(),
      });
    } catch (error) {
      this.#options.onFailure?.(error);
      this.#options.logger.warn("serving certificate changed but cannot be used yet; keeping the previous one", {
        error: (error as Error).message,
      });
    }
  }

  #schedule(): void {
    // A Secret update swaps several files: wait for the burst of events to end.
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.check(), 100);
  }
}
