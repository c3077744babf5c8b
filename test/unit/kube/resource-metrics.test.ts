// The cluster side of cpu/memory triggers: a PodList and a metrics.k8s.io PodMetricsList, shaped as the
// apiserver and metrics-server return them, become what the HPA's formula reads; one PodMetrics request
// per namespace and one pod LIST per selector per pass, however many triggers ask.
// The local control plane has no metrics-server (it needs kubelets), so a small HTTP server in this test
// stands in for the apiserver and answers with those documents; the requests go out through the real
// KubeRest client.
import { ClientRegistry } from '../../../src/scalers/clients.ts';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../../../src/kube/rest.ts';
import { PodLister, toResourcePod, type Pod } from '../../../src/kube/pods.ts';
import { PodMetricsReader, parseGoDuration, podUsages, type PodMetricsJson } from '../../../src/kube/pod-metrics.ts';
import { LimitRangeReader, readPodTemplateResources } from '../../../src/kube/pod-template.ts';
import { AuthCache } from '../../../src/auth/resolve.ts';
import { Semaphore } from '../../../src/limit.ts';
import { measureTriggers, type MeasureDeps, type MeasureSubject, type TriggerReport } from '../../../src/measure.ts';
import { noopRecorder, type Recorder } from '../../../src/telemetry/recorder.ts';
import type { ScaledObject } from '../../../src/kube/scaledobjects.ts';
import type { ResolvedTarget } from '../../../src/kube/targets.ts';
import { HPA_DEFAULT_TIMING, resourceProposal } from '../../../src/scaling/resource-metrics.ts';
import { DEFAULT_TOLERANCE } from '../../../src/scaling/tolerance.ts';

const NOW = Date.parse('2025-03-01T10:00:00Z');

function podJson(name: string, o: { ready?: string; readySince?: string; phase?: string } = {}) {
  return {
    metadata: { name, generateName: 'web-7d4b9c-', namespace: 'shop', uid: `uid-${name}`, labels: { app: 'web', 'pod-template-hash': '7d4b9c' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9c' }] },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } } }],
      initContainers: [{ name: 'mesh', image: 'envoy', restartPolicy: 'Always', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
      nodeName: 'node-1', restartPolicy: 'Always',
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T09:00:02Z' },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T09:00:03Z' },
        { type: 'Ready', status: o.ready ?? 'True', lastProbeTime: null, lastTransitionTime: o.readySince ?? '2025-03-01T09:00:10Z' },
        { type: 'ContainersReady', status: o.ready ?? 'True', lastProbeTime: null, lastTransitionTime: o.readySince ?? '2025-03-01T09:00:10Z' },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-03-01T09:00:00Z' },
      ],
      hostIP: '10.0.0.1', podIP: '10.1.0.7', startTime: '2025-03-01T09:00:00Z', qosClass: 'Burstable',
    },
  };
}

const POD_LIST = { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '4711' }, items: [podJson('web-7d4b9c-aaaaa'), podJson('web-7d4b9c-bbbbb'), podJson('web-7d4b9c-ccccc')] };

function podMetricsJson(name: string, app: { cpu: string; memory: string }) {
  return {
    metadata: { name, namespace: 'shop', creationTimestamp: '2025-03-01T10:00:00Z', labels: { app: 'web', 'pod-template-hash': '7d4b9c' } },
    timestamp: '2025-03-01T09:59:45Z', window: '15.012s',
    containers: [{ name: 'app', usage: app }, { name: 'mesh', usage: { cpu: '1042817n', memory: '22140Ki' } }],
  };
}

const POD_METRICS = {
  kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {},
  items: [
    podMetricsJson('web-7d4b9c-aaaaa', { cpu: '598211402n', memory: '301248Ki' }),
    podMetricsJson('web-7d4b9c-bbbbb', { cpu: '511003112n', memory: '290000Ki' }),
    podMetricsJson('web-7d4b9c-ccccc', { cpu: '630000000n', memory: '310000Ki' }),
    // another workload's pod in the same namespace
    { ...podMetricsJson('worker-5f6d-zzzzz', { cpu: '2', memory: '1Gi' }), metadata: { name: 'worker-5f6d-zzzzz', namespace: 'shop', labels: { app: 'worker' } } },
  ],
};

interface Served { path: string; query: string }

async function apiserver(routes: Record<string, { status?: number; body: unknown }>): Promise<{ url: string; served: Served[]; close(): Promise<void> }> {
  const served: Served[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    served.push({ path: url.pathname, query: url.search });
    const r = routes[url.pathname];
    const status = r ? (r.status ?? 200) : 404;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(r ? r.body : { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', message: 'the server could not find the requested resource', code: 404 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, served, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function restFor(url: string): Promise<KubeRest> {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // plain HTTP to the stand-in: client-node allows it only with skipTLSVerify
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return KubeRest.fromKubeConfig(kc);
}

const TARGET: ResolvedTarget = {
  group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', kindString: 'apps/v1.Deployment',
  objectPath: '/apis/apps/v1/namespaces/shop/deployments/web', scalePath: '/apis/apps/v1/namespaces/shop/deployments/web/scale',
};

function scaledObject(name: string, triggers: ScaledObject['spec']['triggers']): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2025-03-01T08:00:00Z' },
    spec: { scaleTargetRef: { name: 'web' }, minReplicaCount: 1, triggers },
  };
}

/** a ScaledObject's triggers as the pass measures them: env from its target (unused here), pods by the /scale selector */
function subject(so: ScaledObject, selector: string): MeasureSubject {
  return {
    ref: { kind: 'ScaledObject', namespace: so.metadata.namespace, name: so.metadata.name }, triggers: so.spec.triggers,
    env: { namespace: so.metadata.namespace, containers: async () => [], containerField: 'scaleTargetRef.envSourceContainerName', where: 'the scale target' },
    selector,
  };
}

function deps(rest: KubeRest, rec: Recorder = noopRecorder): MeasureDeps {
  return {
    rest, auth: new AuthCache(rest, 'scalepass-system'), rec, slots: new Semaphore(4), deadline: AbortSignal.timeout(10_000), triggerTimeoutMs: 5_000, readinessTiming: HPA_DEFAULT_TIMING,
    remainingMs: () => 10_000, now: () => NOW, scalers: [], clients: new ClientRegistry(), pods: new PodLister(rest), podMetrics: new PodMetricsReader(rest),
  };
}

describe('cpu/memory triggers read pods and metrics.k8s.io', () => {
  let api: Awaited<ReturnType<typeof apiserver>>;
  let rest: KubeRest;
  before(async () => {
    api = await apiserver({
      '/api/v1/namespaces/shop/pods': { body: POD_LIST },
      '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods': { body: POD_METRICS },
    });
    rest = await restFor(api.url);
  });
  after(async () => {
    rest?.close();
    await api?.close();
  });

  it('two objects with cpu and memory triggers on one target make one PodMetrics request and one pod LIST, and the HPA formula runs on them', async () => {
    api.served.length = 0;
    const d = deps(rest);
    const active: string[] = [];
    d.rec = { ...noopRecorder, recordScalerActive: (_ref, t, on) => active.push(`${t.index}:${t.metricName}=${on}`) };
    const reports: TriggerReport[] = [];
    const [cpu, memory] = await measureTriggers(d, subject(scaledObject('web-cpu', [
      { type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } },
      { type: 'memory', metricType: 'AverageValue', metadata: { value: '256Mi', containerName: 'app' } },
    ]), 'app=web,pod-template-hash=7d4b9c'), reports);
    const [again] = await measureTriggers(d, subject(scaledObject('web-cpu-app', [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '80', containerName: 'app' } }]), 'app=web,pod-template-hash=7d4b9c'), []);
    assert.deepEqual(api.served.map((s) => s.path).sort(), ['/api/v1/namespaces/shop/pods', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods']);
    assert.match(api.served.find((s) => s.path === '/api/v1/namespaces/shop/pods')!.query, /labelSelector=app%3Dweb%2Cpod-template-hash%3D7d4b9c/);

    // KEDA reports cpu/memory as active (1) and has no value for them
    assert.deepEqual(active, ['0:cpu=true', '1:memory=true', '0:cpu=true']);
    assert.deepEqual(reports.map((r) => [r.metricName, r.metricType, r.target, r.active, r.value, r.error]), [
      ['cpu', 'Utilization', 50, true, undefined, undefined],
      ['memory', 'AverageValue', 268435456, true, undefined, undefined],
    ]);

    // the worker's sample is not the target's; the samples are 2h after the pods became Ready
    assert.deepEqual(cpu!.resource!.podMetrics, [
      { name: 'web-7d4b9c-aaaaa', timestamp: Date.parse('2025-03-01T09:59:45Z'), windowMs: 15_012, containers: [{ name: 'app', usage: { cpu: 599n, memory: 308477952000n } }, { name: 'mesh', usage: { cpu: 2n, memory: 22671360000n } }] },
      { name: 'web-7d4b9c-bbbbb', timestamp: Date.parse('2025-03-01T09:59:45Z'), windowMs: 15_012, containers: [{ name: 'app', usage: { cpu: 512n, memory: 296960000000n } }, { name: 'mesh', usage: { cpu: 2n, memory: 22671360000n } }] },
      { name: 'web-7d4b9c-ccccc', timestamp: Date.parse('2025-03-01T09:59:45Z'), windowMs: 15_012, containers: [{ name: 'app', usage: { cpu: 630n, memory: 317440000000n } }, { name: 'mesh', usage: { cpu: 2n, memory: 22671360000n } }] },
    ]);
    // whole pods: (599+2 + 512+2 + 630+2) m of 3 x (500m + 100m sidecar) = 1747 / 1800 = 97%, ratio 1.94: ceil(5.82) = 6
    const p1 = resourceProposal(cpu!.resource!, 3, DEFAULT_TOLERANCE, NOW);
    assert.deepEqual('error' in p1 ? p1.error : p1.replicas, 6);
    // container app: (301248 + 290000 + 310000) Ki / 3 = 300416Ki = 293.4Mi against 256Mi, ratio 1.146: ceil(3.44) = 4
    const p2 = resourceProposal(memory!.resource!, 3, DEFAULT_TOLERANCE, NOW);
    assert.deepEqual('error' in p2 ? p2.error : p2.replicas, 4);
    // container app only: 1741m of 1500m = 116% against 80%, ratio 1.45: ceil(4.35) = 5
    const p3 = resourceProposal(again!.resource!, 3, DEFAULT_TOLERANCE, NOW);
    assert.deepEqual('error' in p3 ? p3.error : p3.replicas, 5);
  });

  it('a trigger refused by KEDA reads nothing and reports the error; a ready-pod count reuses the LIST', async () => {
    api.served.length = 0;
    const d = deps(rest);
    const [m] = await measureTriggers(d, subject(scaledObject('bad', [{ type: 'cpu', metadata: { type: 'Utilization', value: '50' } }]), 'app=web'), []);
    assert.match(m!.error!, /^error parsing cpu metadata: scaler cpu info: The 'type' setting is DEPRECATED/);
    assert.equal(m!.resource, undefined);
    assert.deepEqual(api.served, []);
    assert.equal(await d.pods.readyCount('shop', 'app=web'), 3);
    assert.equal(await d.pods.readyCount('shop', 'app=web'), 3);
    assert.equal(api.served.length, 1);
  });

  it('a target without a selector fails the metric as the HPA does, without any request', async () => {
    api.served.length = 0;
    const [m] = await measureTriggers(deps(rest), subject(scaledObject('nosel', [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } }]), ''), []);
    assert.deepEqual(resourceProposal(m!.resource!, 3, DEFAULT_TOLERANCE, NOW), { error: 'selector is required' });
    assert.deepEqual(api.served, []);
  });
});

describe('without metrics-server', () => {
  it('the metric fails with the API\'s 404, and the trigger itself does not', async () => {
    const api = await apiserver({ '/api/v1/namespaces/shop/pods': { body: POD_LIST } });
    const rest = await restFor(api.url);
    try {
      const [m] = await measureTriggers(deps(rest), subject(scaledObject('web', [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } }]), 'app=web'), []);
      assert.equal(m!.error, undefined);
      const p = resourceProposal(m!.resource!, 3, DEFAULT_TOLERANCE, NOW);
      assert.ok('error' in p);
      assert.match(p.error, /^failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: GET \/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/shop\/pods: 404 NotFound the server could not find the requested resource$/);
    } finally {
      rest.close();
      await api.close();
    }
  });
});

describe('pod and PodMetrics documents as the formula reads them', () => {
  it('a Pod: phase, deletion, Ready condition, start time, requests of containers, sidecars, pod-level requests and overhead', () => {
    const json = podJson('p', { ready: 'False', readySince: '2025-03-01T09:30:00Z' }) as unknown as Pod;
    assert.deepEqual(toResourcePod(json), {
      name: 'p', phase: 'Running', deleted: false,
      ready: { status: 'False', lastTransitionTime: Date.parse('2025-03-01T09:30:00Z') }, startTime: Date.parse('2025-03-01T09:00:00Z'),
      containers: [{ name: 'app', requests: { cpu: 500n, memory: 268435456000n } }],
      initContainers: [{ name: 'mesh', requests: { cpu: 100n, memory: 67108864000n }, restartable: true }],
    });
    const pending: Pod = { metadata: { name: 'q', deletionTimestamp: '2025-03-01T09:59:00Z' }, spec: { containers: [{ name: 'app' }], resources: { requests: { 'hugepages-2Mi': '4Mi' } }, overhead: { cpu: '250m' } }, status: { phase: 'Pending' } };
    assert.deepEqual(toResourcePod(pending), { name: 'q', phase: 'Pending', deleted: true, containers: [{ name: 'app', requests: {} }], initContainers: [], podRequests: {}, overhead: { cpu: 250n } });
  });

  it('PodMetrics of other pods are left out; cpu in nanocores rounds up to millicores', () => {
    const usages = podUsages(POD_METRICS.items as PodMetricsJson[], new Set(['web-7d4b9c-aaaaa']));
    assert.equal(usages.length, 1);
    assert.equal(usages[0]!.containers[0]!.usage.cpu, 599n);
  });

  const durations: [string, number | undefined][] = [['15s', 15_000], ['10.123s', 10_123], ['1m0s', 60_000], ['1m30.5s', 90_500], ['500ms', 500], ['1h', 3_600_000], ['0', 0], ['', undefined], ['15', undefined], ['s', undefined]];
  for (const [text, ms] of durations) {
    it(`window "${text}" is ${ms === undefined ? 'not a duration' : `${ms} ms`}`, () => assert.equal(parseGoDuration(text), ms));
  }
});

describe("the pod template, for KEDA's missing-requests check", () => {
  const deployment = (containers: unknown[]) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { template: { spec: { containers } } } });

  it('reads requests and limits of each container, and LimitRanges only when a container lacks one', async () => {
    const api = await apiserver({
      '/apis/apps/v1/namespaces/shop/deployments/web': { body: deployment([
        { name: 'app', resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } } },
        { name: 'proxy', resources: { requests: { cpu: '0', memory: '64Mi' } } },
      ]) },
      '/api/v1/namespaces/shop/limitranges': { body: { kind: 'LimitRangeList', apiVersion: 'v1', metadata: {}, items: [
        { metadata: { name: 'pods' }, spec: { limits: [{ type: 'Pod', max: { cpu: '4' } }] } },
        { metadata: { name: 'defaults' }, spec: { limits: [{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '100m' } }] } },
      ] } },
    });
    const rest = await restFor(api.url);
    try {
      const auth = new AuthCache(rest, 'scalepass-system');
      const limits = new LimitRangeReader(rest);
      const get = (p: string) => auth.get(p);
      assert.deepEqual(await readPodTemplateResources(get, limits, TARGET, 'shop', new Set(['memory'])), {
        containers: [{ name: 'app', cpu: true, memory: true }, { name: 'proxy', cpu: false, memory: true }], namespaceDefaults: { cpu: false, memory: false },
      });
      assert.deepEqual(api.served.map((s) => s.path), ['/apis/apps/v1/namespaces/shop/deployments/web']);
      // a cpu request of 0 is no request: the namespace's Container default counts instead
      assert.deepEqual((await readPodTemplateResources(get, limits, TARGET, 'shop', new Set(['cpu', 'memory'])))!.namespaceDefaults, { cpu: true, memory: false });
      await readPodTemplateResources(get, limits, TARGET, 'shop', new Set(['cpu']));
      assert.deepEqual(api.served.map((s) => s.path), ['/apis/apps/v1/namespaces/shop/deployments/web', '/api/v1/namespaces/shop/limitranges']);
      // KEDA checks only Deployments and StatefulSets
      assert.equal(await readPodTemplateResources(get, limits, { ...TARGET, group: 'example.com', kind: 'Worker' }, 'shop', new Set(['cpu'])), undefined);
    } finally {
      rest.close();
      await api.close();
    }
  });
});
