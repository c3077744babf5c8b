// The scaled resources of keda.sh/v1alpha1 (ScaledObject, ScaledJob), addressed alike: one paged LIST
// for the whole cluster or one per configured namespace, the object and its status subresource by path.
import { ApiError, type KubeRest } from './rest.ts';

export type ScaledKind = 'ScaledObject' | 'ScaledJob';

export const KEDA_API = 'keda.sh/v1alpha1';
const BASE = `/apis/${KEDA_API}`;
const PLURAL: Record<ScaledKind, string> = { ScaledObject: 'scaledobjects', ScaledJob: 'scaledjobs' };

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ScaledResource<K extends ScaledKind, Spec, Status> {
  apiVersion: typeof KEDA_API;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** Every item of a LIST, page by page (500 a page). */
export async function listAll<T>(rest: KubeRest, path: string, query: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.list<{ items: T[]; metadata: { continue?: string } }>(path, { query: { ...query, limit: 500, continue: cont }, signal });
    out.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return out;
}

/**
 * The objects of `kind` in scope. A cluster without this CRD (KEDA's ScaledObject CRD alone, say) has
 * none of them: a 404 for the resource is an empty list, not an error. LIST items carry no kind of
 * their own in every server version, so it is set here.
 */
export async function listScaled<K extends ScaledKind, Spec, Status>(rest: KubeRest, kind: K, namespaces: string[], labelSelector?: string): Promise<{ items: ScaledResource<K, Spec, Status>[]; served: boolean }> {
  const paths = namespaces.length ? namespaces.map((ns) => `${BASE}/namespaces/${ns}/${PLURAL[kind]}`) : [`${BASE}/${PLURAL[kind]}`];
  const items: ScaledResource<K, Spec, Status>[] = [];
  for (const path of paths) {
    try {
      items.push(...await listAll<ScaledResource<K, Spec, Status>>(rest, path, { labelSelector }));
    } catch (e) {
      // a LIST in a namespace that does not exist is an empty 200; a 404 means the resource is not served
      if (e instanceof ApiError && e.status === 404) return { items: [], served: false };
      throw e;
    }
  }
  return { items: items.map((o) => ({ ...o, apiVersion: KEDA_API, kind })), served: true };
}

export function objectPath(kind: ScaledKind, m: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${BASE}/namespaces/${m.namespace}/${PLURAL[kind]}/${m.name}`;
}

export function statusPath(kind: ScaledKind, m: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${objectPath(kind, m)}/status`;
}
