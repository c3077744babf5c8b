// Scale targets are addressed generically through the /scale subresource of whatever scaleTargetRef
// names. Kinds are resolved to resources through discovery once per group/version per run.
import { ApiError, type KubeRest } from './rest.ts';
import { listAll } from './resources.ts';
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
  /** of the target (the /scale subresource shares it): the precondition of the replica write */
  resourceVersion: string;
}

/** The target changed between our read and our write (409): re-read and decide again. */
export class ScaleConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaleConflict';
  }
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
  /** a LIST that failed (403 in one namespace, a timeout) is remembered as undefined: its objects GET their own /scale */
  private readonly listed = new Map<string, Promise<Map<string, Scale> | undefined>>();
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

  /**
   * One LIST per namespace and kind instead of a GET of /scale per object: for Deployments and
   * StatefulSets the scale is derived from the objects themselves (the /scale subresource of these
   * kinds is a view of spec.replicas, status.replicas and spec.selector). Never throws: a failed LIST
   * only means its objects read their own /scale, where a real error then belongs to that object alone.
   */
  async prefetch(namespace: string, resource: 'deployments' | 'statefulsets', signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${resource}`;
    if (this.listed.has(key)) return;
    const p = listAll(this.rest, `/apis/apps/v1/namespaces/${namespace}/${resource}`, {}, signal, (w: Workload): [string, Scale] => [w.metadata.name, {
      specReplicas: w.spec?.replicas ?? 1, statusReplicas: w.status?.replicas ?? 0,
      selector: formatLabelSelector(w.spec?.selector), resourceVersion: w.metadata.resourceVersion ?? '',
    }]).then((entries) => new Map(entries), () => undefined);
    this.listed.set(key, p);
    await p;
  }

  /** The target's scale: from this pass's LIST when there is one, else its /scale; `fresh` always reads /scale. */
  async readScale(t: ResolvedTarget, signal?: AbortSignal, fresh = false): Promise<Scale> {
    const name = t.objectPath.split('/').pop()!;
    const ns = t.objectPath.split('/')[5]!;
    const listed = fresh || t.group !== 'apps' ? undefined : await this.listed.get(`${ns}/${t.resource}`);
    if (listed) {
      const s = listed.get(name);
      if (!s) throw new TargetError(`Target resource doesn't exist (${t.kindString} ${name})`);
      return s;
    }
    try {
      const s = await this.rest.get<ScaleObject>(t.scalePath, { signal });
      return { specReplicas: s.spec?.replicas ?? 0, statusReplicas: s.status?.replicas ?? 0, selector: s.status?.selector ?? '', resourceVersion: s.metadata?.resourceVersion ?? '' };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new TargetError(`Target resource doesn't exist (${t.kindString} ${name})`);
      throw e;
    }
  }

  /**
   * Writes spec.replicas with the resourceVersion that was read, as the HPA and KEDA update /scale: a
   * change made since (a person, another controller) is never overwritten; it is a ScaleConflict.
   */
  async setReplicas(t: ResolvedTarget, read: Scale, replicas: number, signal?: AbortSignal): Promise<void> {
    const [, , , , , namespace, , name] = t.objectPath.split('/');
    try {
      await this.rest.put(t.scalePath, {
        apiVersion: 'autoscaling/v1', kind: 'Scale',
        metadata: { name, namespace, resourceVersion: read.resourceVersion || undefined },
        spec: { replicas },
      }, { signal });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) throw new ScaleConflict(`${t.kindString} ${namespace}/${name} changed since it was read`);
      throw e;
    }
  }
}

interface ScaleObject { metadata?: { resourceVersion?: string }; spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } }

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface Workload { metadata: { name: string; resourceVersion?: string }; spec?: { replicas?: number; selector?: LabelSelector }; status?: { replicas?: number } }

/** metav1.FormatLabelSelector: the string form /scale reports in status.selector. */
export function formatLabelSelector(sel: LabelSelector | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => ({ key: k, text: `${k}=${v}` }));
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    const text = e.operator === 'In' ? `${e.key} in (${values})` : e.operator === 'NotIn' ? `${e.key} notin (${values})`
      : e.operator === 'Exists' ? e.key : `!${e.key}`;
    parts.push({ key: e.key, text });
  }
  return parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((p) => p.text).join(',');
}

interface ListedPod { spec?: { nodeName?: string }; status?: { phase?: string } }

/** Pods matching a selector that are not finished, as kubernetes-workload counts them. */
export async function countPods(rest: KubeRest, namespace: string, selector: string, signal?: AbortSignal): Promise<number> {
  return (await unfinishedPods(rest, namespace, selector, signal)).length;
}

/** Distinct nodes of the pods countPods counts, unscheduled ones excluded (kubernetes-workload groupByNode). */
export async function countPodNodes(rest: KubeRest, namespace: string, selector: string, signal?: AbortSignal): Promise<number> {
  const pods = await unfinishedPods(rest, namespace, selector, signal);
  return new Set(pods.flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : []))).size;
}

async function unfinishedPods(rest: KubeRest, namespace: string, selector: string, signal?: AbortSignal): Promise<ListedPod[]> {
  const pods = await listAll(rest, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector }, signal,
    (p: ListedPod): ListedPod => ({ spec: { nodeName: p.spec?.nodeName }, status: { phase: p.status?.phase } }));
  return pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
}
