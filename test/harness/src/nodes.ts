// The harness's simulated nodes and what makes their pods look real:
//   3 Node objects that kwok manages (it plays their kubelets: Ready nodes, Running/Ready pods, finished
//   Job pods, per-node /metrics/resource), the APIService through which metrics-server serves
//   metrics.k8s.io, and the probe Deployment the harness waits on before it calls itself ready.
import { get, type TlsOpts } from './probe.ts';
import type { Proc, Verdict } from './proc.ts';

export const NODE_NAMES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
/**
 * Per node: CPU and memory of a modest real server. Pods: 1000, not a kubelet's default 110, because tests
 * never delete their namespaces and one smoke + e2e run leaves ~95 pods running; a harness reused across
 * runs (harness:up) would otherwise fill its 3 nodes after three runs and later pods would stay Pending.
 */
export const NODE_ALLOCATABLE = { cpu: '32', memory: '128Gi', pods: '1000' };
export const PROBE_NAMESPACE = 'scalepass-harness';
export const PROBE_DEPLOYMENT = 'readiness-probe';
const FAKE = 'kwok.x-k8s.io/node';

export type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: string }>;

export function apiClient(server: string, tls: TlsOpts): Api {
  return (method, path, body) => get(`${server}${path}`, tls, method, body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? {} : { 'content-type': 'application/json' });
}

async function create(api: Api, path: string, obj: unknown): Promise<void> {
  const r = await api('POST', path, obj);
  if (r.status !== 201 && r.status !== 409) throw new Error(`harness: creating ${path} failed: HTTP ${r.status} ${r.body.slice(0, 500)}`);
}

function node(name: string, i: number) {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name,
      // kwok manages only nodes with this annotation; metrics-server reads each node's resource metrics
      // from kwok's per-node path instead of a kubelet's /metrics/resource
      annotations: { [FAKE]: 'fake', 'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource` },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    // each node its own pod range, so pod IPs are unique across nodes
    spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`] },
    status: {
      allocatable: NODE_ALLOCATABLE, capacity: NODE_ALLOCATABLE,
      // every simulated kubelet is kwok's one server on 127.0.0.1; metrics-server scrapes it there
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

export async function createNodes(api: Api): Promise<void> {
  for (const [i, name] of NODE_NAMES.entries()) await create(api, '/api/v1/nodes', node(name, i));
}

/**
 * metrics.k8s.io through the aggregation layer. The Service is an ExternalName pointing at 127.0.0.1 (as kwokctl
 * does): the aggregator resolves ExternalName Services itself, so no Endpoints, kube-proxy or aggregator routing
 * is involved; it still verifies metrics-server's cert against metrics-server.kube-system.svc and our CA.
 */
export async function registerMetricsApi(api: Api, port: number, caPem: string): Promise<void> {
  await create(api, '/api/v1/namespaces/kube-system/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'metrics-server', namespace: 'kube-system' },
    spec: { type: 'ExternalName', externalName: '127.0.0.1' },
  });
  await create(api, '/apis/apiregistration.k8s.io/v1/apiservices', {
    apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.metrics.k8s.io' },
    spec: {
      group: 'metrics.k8s.io', version: 'v1beta1', groupPriorityMinimum: 100, versionPriority: 100,
      service: { name: 'metrics-server', namespace: 'kube-system', port },
      caBundle: Buffer.from(caPem).toString('base64'),
    },
  });
}

export async function createProbe(api: Api): Promise<void> {
  await create(api, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROBE_NAMESPACE } });
  await create(api, `/apis/apps/v1/namespaces/${PROBE_NAMESPACE}/deployments`, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: PROBE_DEPLOYMENT },
    spec: {
      replicas: 1, selector: { matchLabels: { app: PROBE_DEPLOYMENT } },
      template: {
        metadata: { labels: { app: PROBE_DEPLOYMENT }, annotations: { 'kwok.x-k8s.io/usage-cpu': '1m', 'kwok.x-k8s.io/usage-memory': '1Mi' } },
        spec: { containers: [{ name: 'probe', image: 'registry.invalid/harness-probe:1' }] },
      },
    },
  });
}

interface PodLite {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** Nodes Ready (kwok) -> probe pod created (controller-manager), bound (scheduler), Running and Ready (kwok). */
export function probePodReady(api: Api, who: { kcm: Proc; scheduler: Proc; kwok: Proc }, found: { pod?: string; node?: string }): () => Promise<Verdict> {
  return async () => {
    const nodes = JSON.parse((await api('GET', '/api/v1/nodes')).body) as { items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[] };
    const notReady = NODE_NAMES.filter((n) => !nodes.items.some((x) => x.metadata.name === n && x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
    if (notReady.length) return { ok: false, waitingOn: who.kwok, why: `nodes not Ready: ${notReady.join(', ')}` };
    const pods = JSON.parse((await api('GET', `/api/v1/namespaces/${PROBE_NAMESPACE}/pods?labelSelector=app%3D${PROBE_DEPLOYMENT}`)).body) as { items: PodLite[] };
    const pod = pods.items[0];
    if (!pod) return { ok: false, waitingOn: who.kcm, why: `no pod of Deployment ${PROBE_NAMESPACE}/${PROBE_DEPLOYMENT} yet` };
    if (!pod.spec.nodeName) return { ok: false, waitingOn: who.scheduler, why: `pod ${pod.metadata.name} not bound to a node` };
    const ready = pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (pod.status.phase !== 'Running' || !ready) {
      return { ok: false, waitingOn: who.kwok, why: `pod ${pod.metadata.name} on ${pod.spec.nodeName} is ${pod.status.phase ?? 'without phase'}, Ready=${ready ? 'True' : 'False'}` };
    }
    found.pod = pod.metadata.name;
    found.node = pod.spec.nodeName;
    return { ok: true };
  };
}

/**
 * The probe pod's node's /metrics/resource lists it. This first read also starts kwok's cumulative CPU counter
 * for the pod (kwok integrates usage from the first time it is asked), so metrics-server's very first scrape
 * already sees CPU time and the second one, a resolution later, yields a rate.
 */
export function probeNodeMetrics(kwokUrl: string, kwok: Proc, pod: string, node: string): () => Promise<Verdict> {
  return async () => {
    const r = await get(`${kwokUrl}/metrics/nodes/${node}/metrics/resource`);
    return r.body.includes(`pod="${pod}"`) ? { ok: true } : { ok: false, waitingOn: kwok, why: `${node}'s /metrics/resource does not list pod ${pod} (HTTP ${r.status})` };
  };
}

/** The APIService is Available (the aggregator reaches metrics-server) and lists the probe pod's usage. */
export function probePodMetrics(api: Api, kwokUrl: string, who: { kwok: Proc; metricsServer: Proc }, pod: string, node: string): () => Promise<Verdict> {
  return async () => {
    const svc = JSON.parse((await api('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io')).body) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
    const avail = svc.status?.conditions?.find((c) => c.type === 'Available');
    if (avail?.status !== 'True') return { ok: false, waitingOn: who.metricsServer, why: `APIService v1beta1.metrics.k8s.io not Available (${avail?.message ?? 'no condition yet'})` };
    const r = await api('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${PROBE_NAMESPACE}/pods/${pod}`);
    if (r.status === 200) return { ok: true };
    // metrics-server needs two scrapes of a pod (CPU is a rate); tell kwok's side apart from its own
    const kubelet = await probeNodeMetrics(kwokUrl, who.kwok, pod, node)();
    if (!kubelet.ok) return kubelet;
    return { ok: false, waitingOn: who.metricsServer, why: `metrics.k8s.io has no usage for pod ${PROBE_NAMESPACE}/${pod} yet (HTTP ${r.status})` };
  };
}
