// What the scale target's pod template declares for cpu and memory, for KEDA's missing-requests check
// (scaling/validation.ts checkResourceTriggers). KEDA's webhook reads the Deployment or StatefulSet and,
// only for a container without the request or limit, the LimitRanges of the namespace; so does this.
import type { KubeRest } from './rest.ts';
import type { ResolvedTarget } from './targets.ts';
import type { PodTemplateResources } from '../scaling/types.ts';
import { cpuMemoryMilli } from '../scaling/quantity.ts';

type Quantities = Record<string, string>;
interface Workload {
  spec?: { template?: { spec?: { containers?: { name: string; resources?: { requests?: Quantities; limits?: Quantities } }[] } } };
}
interface LimitRangeList {
  items: { spec?: { limits?: { type?: string; default?: Quantities; defaultRequest?: Quantities }[] } }[];
}

/** KEDA's isWorkloadResourceSet / isContainerResourceSetInLimitRangeObject: a request or a limit above 0. */
function declares(requests: Quantities | undefined, limits: Quantities | undefined, resource: 'cpu' | 'memory'): boolean {
  return (cpuMemoryMilli(requests)[resource] ?? 0n) > 0n || (cpuMemoryMilli(limits)[resource] ?? 0n) > 0n;
}

/** LimitRanges, listed at most once per namespace per pass. */
export class LimitRangeReader {
  private readonly rest: KubeRest;
  private readonly signal: AbortSignal | undefined;
  private readonly cache = new Map<string, Promise<{ cpu: boolean; memory: boolean }>>();
  constructor(rest: KubeRest, signal?: AbortSignal) {
    this.rest = rest;
    this.signal = signal;
  }

  /** whether a Container-type LimitRange defaults the request or limit above 0; a failed LIST counts as none, as in KEDA */
  defaults(namespace: string): Promise<{ cpu: boolean; memory: boolean }> {
    let p = this.cache.get(namespace);
    if (!p) {
      p = this.rest.list<LimitRangeList>(`/api/v1/namespaces/${namespace}/limitranges`, { signal: this.signal }).then(
        (l) => {
          const items = (l.items ?? []).flatMap((i) => i.spec?.limits ?? []).filter((x) => x.type === 'Container');
          return {
            cpu: items.some((x) => declares(x.defaultRequest, x.default, 'cpu')),
            memory: items.some((x) => declares(x.defaultRequest, x.default, 'memory')),
          };
        },
        () => ({ cpu: false, memory: false }),
      );
      this.cache.set(namespace, p);
    }
    return p;
  }
}

/**
 * For an apps/v1 Deployment or StatefulSet: its containers' cpu/memory declarations, and the namespace
 * defaults when some container lacks one of `resources`. Undefined for other kinds (KEDA checks none).
 * `get` reads the workload once per pass (the cache that also serves container env).
 */
export async function readPodTemplateResources(
  get: (path: string) => Promise<unknown>,
  limitRanges: LimitRangeReader,
  target: ResolvedTarget,
  namespace: string,
  resources: ReadonlySet<'cpu' | 'memory'>,
): Promise<PodTemplateResources | undefined> {
  if (target.group !== 'apps' || target.version !== 'v1' || (target.kind !== 'Deployment' && target.kind !== 'StatefulSet')) return undefined;
  const workload = (await get(target.objectPath)) as Workload | undefined;
  const containers = (workload?.spec?.template?.spec?.containers ?? []).map((c) => ({
    name: c.name,
    cpu: declares(c.resources?.requests, c.resources?.limits, 'cpu'),
    memory: declares(c.resources?.requests, c.resources?.limits, 'memory'),
  }));
  const lacking = containers.some((c) => [...resources].some((r) => !c[r]));
  const namespaceDefaults = lacking ? await limitRanges.defaults(namespace) : { cpu: false, memory: false };
  return { containers, namespaceDefaults };
}
