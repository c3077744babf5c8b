// Scale targets are addressed generically through the /scale subresource of whatever scaleTargetRef
// names. Kinds are resolved to resources through discovery once per group/version per run.
import { ApiError, type KubeRest } from './rest.ts';
import type { ScaleTargetRef } from '../scaling/types.ts';

export interface ResolvedTarget {
  group: string;
  version: string;
  kind: string;
  resource: string;
  /** `apps/v1.Deployment`, as KEDA writes status.scaleTargetKind */
  kindString: string;
  scalePath: string;
  objectPath: string;
}

export interface Scale {
  specReplicas: number;
  statusReplicas: number;
  selector: string;
}

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

interface ApiResourceList { resources: { name: string; kind: string; namespaced: boolean }[] }

export class TargetResolver {
  private readonly discovery = new Map<string, Promise<ApiResourceList | undefined>>();
  private readonly rest: KubeRest;
  constructor(rest: KubeRest) {
    this.rest = rest;
  }

  private resources(group: string, version: string): Promise<ApiResourceList | undefined> {
    const key = `${group}/${version}`;
    let p = this.discovery.get(key);
    if (!p) {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      p = this.rest.get<ApiResourceList>(path).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      });
      this.discovery.set(key, p);
    }
    return p;
  }

  async resolve(namespace: string, ref: ScaleTargetRef): Promise<ResolvedTarget> {
    // KEDA: an empty apiVersion means apps/v1 whatever the kind; an empty kind means Deployment
    const apiVersion = ref.apiVersion?.trim() || 'apps/v1';
    const kind = ref.kind?.trim() || 'Deployment';
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) as [string, string] : ['', apiVersion];
    let resource: string | undefined;
    if (group === 'apps' && kind === 'Deployment') resource = 'deployments';
    else if (group === 'apps' && kind === 'StatefulSet') resource = 'statefulsets';
    else {
      const list = await this.resources(group, version);
      const r = list?.resources.find((x) => x.kind === kind && !x.name.includes('/'));
      if (!r) throw new TargetError(`scaleTargetRef: kind ${kind} is not served by ${apiVersion}`);
      if (!list!.resources.some((x) => x.name === `${r.name}/scale`)) {
        throw new TargetError(`Target resource doesn't expose /scale subresource (${apiVersion} ${kind})`);
      }
      resource = r.name;
    }
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const objectPath = `${base}/namespaces/${namespace}/${resource}/${ref.name}`;
    return { group, version, kind, resource, kindString: `${group ? group + '/' : ''}${version}.${kind}`, objectPath, scalePath: `${objectPath}/scale` };
  }

  async readScale(t: ResolvedTarget, signal?: AbortSignal): Promise<Scale> {
    try {
      const s = await this.rest.get<{ spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } }>(t.scalePath, { signal });
      return { specReplicas: s.spec?.replicas ?? 0, statusReplicas: s.status?.replicas ?? 0, selector: s.status?.selector ?? '' };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new TargetError(`Target resource doesn't exist (${t.kindString} ${t.objectPath.split('/').pop()})`);
      throw e;
    }
  }

  async setReplicas(t: ResolvedTarget, replicas: number): Promise<void> {
    await this.rest.mergePatch(t.scalePath, { spec: { replicas } });
  }
}

interface PodList { items: { status?: { phase?: string; conditions?: { type: string; status: string }[] }; metadata?: { deletionTimestamp?: string } }[] }

/** Running and Ready pods matching a selector, as the HPA counts them for Value targets. */
export async function countReadyPods(rest: KubeRest, namespace: string, selector: string, signal?: AbortSignal): Promise<number> {
  if (!selector) return 0;
  const pods = await rest.list<PodList>(`/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: selector }, signal });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running'
    && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

/** Pods matching a selector that are not finished, as kubernetes-workload counts them. */
export async function countPods(rest: KubeRest, namespace: string, selector: string, signal?: AbortSignal): Promise<number> {
  const pods = await rest.list<PodList>(`/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: selector }, signal });
  return pods.items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
}
