// Authorization of metrics API requests by the kube-apiserver, as extension apiservers delegate it:
// one SubjectAccessReview per user and attributes, each answer kept for a short while (the HPA asks
// every sync period, and the aggregator's availability check every few seconds).

import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceType } from "@octorun/kube";
import type { AccessAttributes } from "./custom-metrics-api.ts";
import type { UserInfo } from "./request-header-auth.ts";

const SubjectAccessReviews: ResourceType = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};

export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

interface SubjectAccessReview extends KubernetesObject {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export interface AccessReviewerOptions {
  kube: KubeClient;
  /** How long an answer is kept (the apiserver's webhook authorizer keeps them 5 minutes allowed, 30 s denied). */
  cacheMs?: number;
  now?: () => number;
}

export class AccessReviewer {
  readonly #kube: KubeClient;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { decision: AccessDecision; at: number }>();

  constructor(options: AccessReviewerOptions) {
    this.#kube = options.kube;
    this.#cacheMs = options.cacheMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  async review(user: UserInfo, attributes: AccessAttributes): Promise<AccessDecision> {
    const key = JSON.stringify([user, attributes]);
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached && now - cached.at < this.#cacheMs) return cached.decision;
    const spec = {
      user: user.username,
      groups: user.groups,
      extra: user.extra,
      ...("resource" in attributes
        ? { resourceAttributes: attributes.resource }
        : { nonResourceAttributes: attributes.nonResource }),
    };
    const review = await this.#kube.create<SubjectAccessReview>(SubjectAccessReviews, {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec,
    } as KubernetesObject);
    const decision: AccessDecision = {
      allowed: review.status?.allowed === true && review.status?.denied !== true,
      reason: review.status?.reason || review.status?.evaluationError || "",
    };
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { decision, at: now });
    return decision;
  }
}
