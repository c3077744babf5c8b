// The pods of a scale target, listed once per namespace and selector per pass: the ready-pod count of
// Value targets and the Resource metrics of cpu/memory triggers read the same LIST, as the HPA reads
// one pod lister for both.
import type { KubeRest } from './rest.ts';
import { listAll } from './resources.ts';
import type { PodInitContainer, ResourcePod } from '../scaling/resource-metrics.ts';
import { cpuMemoryMilli } from '../scaling/quantity.ts';
import { parseTime } from '../scaling/time.ts';

type Quantities = Record<string, string>;
interface ContainerJson {
  name: string;
  restartPolicy?: string;
  resources?: { requests?: Quantities; limits?: Quantities };
}

/** The fields of a core/v1 Pod that the pass reads. */
export interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: {
    nodeName?: string;
    containers?: ContainerJson[];
    initContainers?: ContainerJson[];
    resources?: { requests?: Quantities };
    overhead?: Quantities;
  };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

export class PodLister {
  private readonly rest: KubeRest;
  private readonly signal: AbortSignal | undefined;
  private readonly cache = new Map<string, Promise<Pod[]>>();
  /** signal: the pass deadline; one caller's own timeout must not fail the LIST the others share */
  constructor(rest: KubeRest, signal?: AbortSignal) {
    this.rest = rest;
    this.signal = signal;
  }

  list(namespace: string, selector: string): Promise<Pod[]> {
    const key = `${namespace}\n${selector}`;
    let p = this.cache.get(key);
    if (!p) {
      p = listAll(this.rest, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector }, this.signal, keepPod);
      this.cache.set(key, p);
    }
    return p;
  }

  /** Running and Ready pods matching a selector, as the HPA counts them for Value targets; 0 without a selector. */
  async readyCount(namespace: string, selector: string): Promise<number> {
    if (!selector) return 0;
    return (await this.list(namespace, selector)).filter(isRunningAndReady).length;
  }
}

const keepContainer = (c: ContainerJson): ContainerJson => ({
  name: c.name, ...(c.restartPolicy !== undefined ? { restartPolicy: c.restartPolicy } : {}),
  ...(c.resources ? { resources: { ...(c.resources.requests ? { requests: c.resources.requests } : {}), ...(c.resources.limits ? { limits: c.resources.limits } : {}) } } : {}),
});

/** A listed pod cut down to the fields above: a pod's env, volumes, images and managedFields are not kept. */
export function keepPod(p: Pod): Pod {
  const { spec, status } = p;
  return {
    metadata: { name: p.metadata.name, ...(p.metadata.deletionTimestamp ? { deletionTimestamp: p.metadata.deletionTimestamp } : {}) },
    ...(spec ? { spec: {
      ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
      ...(spec.containers ? { containers: spec.containers.map(keepContainer) } : {}),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(keepContainer) } : {}),
      ...(spec.resources?.requests ? { resources: { requests: spec.resources.requests } } : {}),
      ...(spec.overhead ? { overhead: spec.overhead } : {}),
    } } : {}),
    ...(status ? { status: {
      ...(status.phase !== undefined ? { phase: status.phase } : {}),
      ...(status.startTime !== undefined ? { startTime: status.startTime } : {}),
      ...(status.conditions ? { conditions: status.conditions.map((c) => ({ type: c.type, status: c.status, ...(c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}) })) } : {}),
    } } : {}),
  };
}

export function isRunningAndReady(p: Pod): boolean {
  return !p.metadata.deletionTimestamp && p.status?.phase === 'Running'
    && (p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

/** A Pod as the HPA's replica calculator sees it. */
export function toResourcePod(p: Pod): ResourcePod {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  const readyAt = parseTime(ready?.lastTransitionTime);
  const startTime = parseTime(p.status?.startTime);
  const podRequests = p.spec?.resources?.requests;
  // IsPodLevelRequestsSet: cpu, memory or a hugepages size requested for the pod as a whole
  const podLevel = podRequests !== undefined && Object.keys(podRequests).some((k) => k === 'cpu' || k === 'memory' || k.startsWith('hugepages-'));
  return {
    name: p.metadata.name,
    phase: p.status?.phase ?? '',
    deleted: p.metadata.deletionTimestamp !== undefined,
    // a condition without a transition time counts from the epoch, as a zero metav1.Time would
    ...(ready ? { ready: { status: ready.status, lastTransitionTime: readyAt ?? 0 } } : {}),
    ...(startTime !== undefined ? { startTime } : {}),
    containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, requests: cpuMemoryMilli(c.resources?.requests) })),
    initContainers: (p.spec?.initContainers ?? []).map((c): PodInitContainer => ({
      name: c.name, requests: cpuMemoryMilli(c.resources?.requests), restartable: c.restartPolicy === 'Always',
    })),
    ...(podLevel ? { podRequests: cpuMemoryMilli(podRequests) } : {}),
    ...(p.spec?.overhead ? { overhead: cpuMemoryMilli(p.spec.overhead) } : {}),
  };
}
