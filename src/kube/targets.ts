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
  private readonly listed = new Map<string, Promise<Map<string, Scale>>>();
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
   * kinds is a view of spec.replicas, status.replicas and spec.selector).
   */
  async prefetch(namespace: string, resource: 'deployments' | 'statefulsets', signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${resource}`;
    if (this.listed.has(key)) return;
    const p = (async () => {
      const m = new Map<string, Scale>();
      let cont: string | undefined;
      do {
        const page = await this.rest.list<WorkloadList>(`/apis/apps/v1/namespaces/${namespace}/${resource}`, { query: { limit: 500, continue: cont }, signal });
        for (const w of page.items) {
          m.set(w.metadata.name, { specReplicas: w.spec?.replicas ?? 1, statusReplicas: w.status?.replicas ?? 0, selector: formatLabelSelector(w.spec?.selector) });
        }
        cont = page.metadata.continue || undefined;
      } while (cont);
      return m;
    })();
    this.listed.set(key, p);
    await p;
  }

  async readScale(t: ResolvedTarget, signal?: AbortSignal): Promise<Scale> {
    const name = t.objectPath.split('/').pop()!;
    const ns = t.objectPath.split('/')[5]!;
    const listed = this.listed.get(`${ns}/${t.resource}`);
    if (listed && t.group === 'apps') {
      const s = (await listed).get(name);
      if (!s) throw new TargetError(`Target resource doesn't exist (${t.kindString} ${name})`);
      return s;
    }
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

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface WorkloadList {
  items: { metadata: { name: string }; spec?: { replicas?: number; selector?: LabelSelector }; status?: { replicas?: number } }[];
  metadata: { continue?: string };
}

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
