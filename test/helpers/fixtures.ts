// Workloads and ScaledObjects as a user would write them, created through the real apiserver.
import { harness, type Harness } from './harness.ts';
import { asScalepass } from './install.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';
import { runScalepass, type RunResult } from './run.ts';

export function deployment(name: string, replicas: number, env: { name: string; value?: string; valueFrom?: unknown }[] = []) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', env }] } } },
  };
}

export function statefulSet(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } },
  };
}

export function scaledObject(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) {
  return { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name, ...(annotations ? { annotations } : {}) }, spec };
}

export async function create(h: Harness, ns: string, obj: { apiVersion: string; kind: string }): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const plural = obj.kind.toLowerCase() + (obj.kind.endsWith('s') ? 'es' : 's');
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  await h.admin.create(`${base}/namespaces/${ns}/${plural}`, obj);
}

export async function specReplicas(h: Harness, path: string): Promise<number> {
  const s = await h.admin.get<{ spec: { replicas?: number } }>(`${path}/scale`);
  return s.spec.replicas ?? 0;
}

export interface ScaledObjectLive {
  metadata: { resourceVersion: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; [k: string]: unknown };
}

export async function getSO(h: Harness, ns: string, name: string): Promise<ScaledObjectLive> {
  return h.admin.get(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/${name}`);
}

export function condition(so: ScaledObjectLive, type: string) {
  return so.status?.conditions?.find((c) => c.type === type);
}

export async function events(h: Harness, ns: string, name: string): Promise<{ reason: string; type: string; note: string }[]> {
  const l = await h.admin.list<{ items: { reason: string; type: string; note: string; regarding: { name: string } }[] }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`);
  return l.items.filter((e) => e.regarding.name === name);
}

export interface PassOptions { kubeconfig: string; namespaces: string[]; extraArgs?: string[]; env?: Record<string, string> }

/** One pass in a new process, JSON output parsed. Waits so pollingInterval: 1 objects are due again. */
export async function pass(h: Harness, o: PassOptions): Promise<RunResult & { report: PassJson }> {
  await new Promise((r) => setTimeout(r, 1100));
  const r = await runScalepass(['--namespaces', o.namespaces.join(','), '--output', 'json', '--lease-namespace', 'scalepass-system', ...(o.extraArgs ?? [])], {
    KUBECONFIG: o.kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, ...o.env,
  });
  let report: PassJson;
  try {
    report = JSON.parse(r.stdout) as PassJson;
  } catch {
    throw new Error(`scalepass printed no JSON report (exit ${r.code}); stderr:\n${r.stderr.slice(-3000)}`);
  }
  return { ...r, report };
}

export interface PassJson {
  /** the pass's time (ms): every object is decided as of it, and the shard's Lease records it */
  start: number;
  objects: { kind?: string; namespace: string; name: string; outcome: string; detail?: string; current?: number; desired?: number; reason?: string; active?: boolean; paused?: boolean;
    jobs?: { running: number; pending: number; toCreate: number; created: string[]; toDelete: { name: string; why: string }[]; deleted: string[] };
    scaled: boolean; statusWritten: boolean; loopLatencyMs?: number;
    triggers: { metricName: string; value?: number; active?: boolean; error?: string }[]; events: { reason: string }[] }[];
  requests: Record<string, number>;
  denied: string[];
  listErrors?: { kind: string; error: string }[];
  scheduledStart: { time: string; source: string };
}

/** What most e2e suites start from: the harness, the shipped ServiceAccount's kubeconfig, a metrics-api source. */
export async function suiteSetup(initialValue: number): Promise<{ h: Harness; kubeconfig: string; src: MetricsServer }> {
  const h = await harness();
  return { h, kubeconfig: await asScalepass(h), src: await startMetricsServer(initialValue) };
}
