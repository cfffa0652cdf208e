import type { KubernetesObject } from "@kubernetes/client-node";
import { KubeClient, type KubeList, type ListOptions, type ResourceType } from "@octorun/kube";

/**
 * A KubeClient whose lists come back already trimmed: an informer's first list holds every
 * object of a page run until the whole list is in, so trimming each page as it arrives keeps the
 * start-up peak (10,000 Runners with their managed fields) out of the heap.
 */
export class TrimmingKubeClient extends KubeClient {
  readonly #trimmers: ReadonlyMap<string, (obj: KubernetesObject) => KubernetesObject>;

  constructor(
    base: KubeClient,
    trimmers: readonly (readonly [type: ResourceType, trim: (obj: KubernetesObject) => KubernetesObject])[],
  ) {
    super(base.kubeConfig, { fieldManager: base.fieldManager });
    this.#trimmers = new Map(trimmers.map(([type, trim]) => [`${type.group}/${type.plural}`, trim]));
  }

  override async list<T extends KubernetesObject>(type: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const page = await super.list<T>(type, options);
    const trim = this.#trimmers.get(`${type.group}/${type.plural}`);
    if (trim) for (const item of page.items) trim(item);
    return page;
  }
}
