// Which GitHub client serves a Runner: the controller's own, or one built from the Secret the
// Runner names (spec.githubSecretRef) in its own namespace. One client per credential, so that
// installation discovery, installation tokens, rate-limit budgets and metrics are per credential.
// A Secret is read through the apiserver at most once per refresh interval (a missing or invalid
// one too), so that a RunnerSet of many Runners with a bad Secret costs one read, not a storm;
// a changed Secret (rotation) gets a new client at the next read.

import type { V1Secret } from "@kubernetes/client-node";
import type { RunnerUrl } from "@octorun/api";
import {
  authFromSecretData,
  type GitHubAuthConfig,
  type GitHubClient,
  GitHubCredentialSecretError,
} from "@octorun/github";
import { type KubeClient, Secrets } from "@octorun/kube";
import type { RunnerObject } from "./types.ts";

/** The Secret a Runner names is missing or holds no usable credential; the message names the key at fault. */
export class GitHubCredentialsError extends Error {
  override name = "GitHubCredentialsError";
  /** `namespace/name` of the Secret. */
  readonly secret: string;
  /** The key at fault ("" for the whole Secret). */
  readonly key: string;
  constructor(secret: string, key: string, message: string) {
    super(`GitHub credential Secret ${secret}: ${message}`);
    this.secret = secret;
    this.key = key;
  }
}

export interface GitHubCredentialsOptions {
  client: KubeClient;
  /** The controller's own client: for Runners that name no Secret. */
  fallback: GitHubClient;
  /** Builds a client for a Secret's credential; `credentialName` (`namespace/name`) labels its metrics. */
  clientFor: (auth: GitHubAuthConfig, credentialName: string) => GitHubClient;
  /** How long a read Secret (or its absence) stands before it is read again (default 30 s). */
  refreshMs?: number;
  now?: () => number;
}

interface Entry {
  readAt: number;
  resourceVersion: string | undefined;
  client: GitHubClient | undefined;
  error: GitHubCredentialsError | undefined;
  reading: Promise<void> | undefined;
}

export class GitHubCredentials {
  readonly #o: GitHubCredentialsOptions;
  readonly #now: () => number;
  readonly #refreshMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: GitHubCredentialsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#refreshMs = options.refreshMs ?? 30_000;
  }

  /**
   * A Runner's URL as the controller's own client parses it: its allow-list of GitHub hosts judges
   * every Runner, whatever credential it names (RunnerUrlError when refused).
   */
  parseUrl(url: string): RunnerUrl {
    return this.#o.fallback.parseUrl(url);
  }

  /** The client for a Runner's GitHub calls; GitHubCredentialsError when its Secret is missing or invalid. */
  async clientFor(runner: RunnerObject): Promise<GitHubClient> {
    const name = runner.spec.githubSecretRef?.name;
    if (!name) return this.#o.fallback;
    // Only ever the Runner's own namespace: a reference cannot reach another one.
    const namespace = runner.metadata.namespace ?? "";
    const key = `${namespace}/${name}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        readAt: Number.NEGATIVE_INFINITY,
        resourceVersion: undefined,
        client: undefined,
        error: undefined,
        reading: undefined,
      };
      this.#entries.set(key, entry);
    }
    if (!entry.reading && this.#now() - entry.readAt >= this.#refreshMs) {
      const reading = this.#read(namespace, name, entry);
      entry.reading = reading;
      void reading.then(
        () => (entry.reading = undefined),
        () => (entry.reading = undefined),
      );
    }
    if (entry.reading) await entry.reading;
    if (entry.error) throw entry.error;
    return entry.client as GitHubClient;
  }

  async #read(namespace: string, name: string, entry: Entry): Promise<void> {
    const key = `${namespace}/${name}`;
    // A Kubernetes error (apiserver unreachable, RBAC) is thrown as is, and the next call reads again.
    const secret = await this.#o.client.find<V1Secret>(Secrets, namespace, name);
    entry.readAt = this.#now();
    if (!secret) {
      entry.resourceVersion = undefined;
      entry.client = undefined;
      entry.error = new GitHubCredentialsError(key, "", `not found in namespace ${namespace}`);
      return;
    }
    const resourceVersion = secret.metadata?.resourceVersion;
    // Unchanged: the client stays, and with it the installation token and the rate-limit budget.
    if (resourceVersion !== undefined && resourceVersion === entry.resourceVersion) return;
    entry.resourceVersion = resourceVersion;
    try {
      entry.client = this.#o.clientFor(authFromSecretData(secret.data), key);
      entry.error = undefined;
    } catch (error) {
      if (!(error instanceof GitHubCredentialSecretError)) throw error;
      entry.client = undefined;
      entry.error = new GitHubCredentialsError(key, error.key, error.message);
    }
  }
}
