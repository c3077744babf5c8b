// The scaled resources of keda.sh/v1alpha1 (ScaledObject, ScaledJob), addressed alike: one paged LIST
// for the whole cluster or one per configured namespace, the object and its status subresource by path.
// Every LIST is read a page at a time and each item cut down to the fields the pass reads as soon as its
// page is parsed: what a pass holds grows with those fields, not with managedFields and the rest.
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

/** Items per LIST request, as client-go's pager asks for. */
export const PAGE_SIZE = 500;

/**
 * Every item of a LIST, page by page (`limit` + `continue`; `query.limit` may ask for other pages), each passed through `keep` as its page
 * arrives so that only what it returns outlives the page.
 */
export async function listAll<T, R = T>(rest: KubeRest, path: string, query: Record<string, string | undefined> = {}, signal?: AbortSignal,
  keep: (item: T) => R = (item) => item as unknown as R): Promise<R[]> {
  const out: R[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.list<{ items?: T[] | null; metadata?: { continue?: string } }>(path, { query: { limit: PAGE_SIZE, ...query, continue: cont }, signal });
    for (const item of page.items ?? []) out.push(keep(item));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

/** kubectl's copy of the whole manifest: often the largest annotation, and never read by a pass */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The metadata a pass reads (and writes back with a status): no managedFields, owner references, finalizers. */
export function keepMeta(m: ObjectMeta): ObjectMeta {
  let annotations = m.annotations;
  if (annotations && LAST_APPLIED in annotations) {
    annotations = { ...annotations };
    delete annotations[LAST_APPLIED];
  }
  return {
    name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp,
    ...(m.generation !== undefined ? { generation: m.generation } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * The objects of `kind` in scope. A cluster without this CRD (KEDA's ScaledObject CRD alone, say) has
 * none of them: a 404 for the resource is an empty list, not an error. A status written back later is
 * a PUT of this reduced object: the status subresource takes only its status (and resourceVersion) and
 * keeps the rest as stored.
 */
export async function listScaled<K extends ScaledKind, Spec, Status>(rest: KubeRest, kind: K, namespaces: string[], labelSelector?: string): Promise<{ items: ScaledResource<K, Spec, Status>[]; served: boolean }> {
  const paths = namespaces.length ? namespaces.map((ns) => `${BASE}/namespaces/${ns}/${PLURAL[kind]}`) : [`${BASE}/${PLURAL[kind]}`];
  const items: ScaledResource<K, Spec, Status>[] = [];
  for (const path of paths) {
    try {
      // LIST items carry no kind of their own in every server version, so it is set here
      items.push(...await listAll(rest, path, { labelSelector }, undefined, (o: ScaledResource<K, Spec, Status>): ScaledResource<K, Spec, Status> => ({
        apiVersion: KEDA_API, kind, metadata: keepMeta(o.metadata), spec: o.spec, ...(o.status !== undefined ? { status: o.status } : {}),
      })));
    } catch (e) {
      // a LIST in a namespace that does not exist is an empty 200; a 404 means the resource is not served
      if (e instanceof ApiError && e.status === 404) return { items: [], served: false };
      throw e;
    }
  }
  return { items, served: true };
}

export function objectPath(kind: ScaledKind, m: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${BASE}/namespaces/${m.namespace}/${PLURAL[kind]}/${m.name}`;
}

export function statusPath(kind: ScaledKind, m: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${objectPath(kind, m)}/status`;
}
