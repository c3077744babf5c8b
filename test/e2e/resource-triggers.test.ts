// cpu/memory triggers against the real apiserver, as the shipped ServiceAccount. The local control plane
// has no kubelets and so no metrics-server: these tests cover what does not need pod usage (KEDA's
// validation against the real Deployment and LimitRange, the RBAC of the metrics.k8s.io read, and a
// cpu metric that cannot be read failing only the replica formula). Scaling on measured usage is left
// to a harness with nodes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import { create, scaledObject, specReplicas, pass, getSO, condition, events } from '../helpers/fixtures.ts';

function deployment(name: string, replicas: number, requests?: Record<string, string>) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', ...(requests ? { resources: { requests } } : {}) }] } } },
  };
}

const cpu50 = { type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } };

describe('cpu and memory triggers', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    src = await startMetricsServer(0);
  });
  after(async () => { await src?.close(); });

  it('refuses a cpu trigger on a Deployment whose container requests no cpu, until a LimitRange gives containers a default', async () => {
    const ns = await h.namespace('e2e-cpu-requests');
    await create(h, ns, deployment('web', 2));
    await create(h, ns, scaledObject('web', { scaleTargetRef: { name: 'web' }, pollingInterval: 1, minReplicaCount: 1, triggers: [cpu50] }));
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.deepEqual(p1.report.denied, [], 'RBAC denials');
    const ready = condition(await getSO(h, ns, 'web'), 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.message, "the scaledobject has a cpu trigger but the container app doesn't have the cpu request defined");
    assert.ok((await events(h, ns, 'web')).some((e) => e.reason === 'ScaledObjectCheckFailed' && e.note === ready?.message));
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/web`), 2);

    await create(h, ns, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'defaults' }, spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '250m' }, default: { cpu: '500m' } }] } } as { apiVersion: string; kind: string });
    const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.deepEqual(p2.report.denied, [], 'RBAC denials');
    assert.equal(condition(await getSO(h, ns, 'web'), 'Ready')?.status, 'True', p2.report.objects[0]!.reason);
  });

  it('refuses an object whose only triggers are cpu/memory without minReplicaCount, in KEDA\'s words', async () => {
    const ns = await h.namespace('e2e-cpu-zero');
    await create(h, ns, deployment('web', 1, { cpu: '100m', memory: '64Mi' }));
    await create(h, ns, scaledObject('web', { scaleTargetRef: { name: 'web' }, pollingInterval: 1,
      triggers: [cpu50, { type: 'memory', metricType: 'AverageValue', metadata: { value: '128Mi' } }] }));
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(condition(await getSO(h, ns, 'web'), 'Ready')?.message, "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)");
  });

  it('a cpu metric that cannot be computed yet fails only the formula: a queue trigger still scales 0 -> 1 -> 4, and the read is allowed by the shipped RBAC', async () => {
    const ns = await h.namespace('e2e-cpu-nometrics');
    await create(h, ns, deployment('worker', 0, { cpu: '100m' }));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, maxReplicaCount: 10,
      triggers: [cpu50, { type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
    src.set(7);
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p1.code, 0, p1.stderr);
    assert.equal(await specReplicas(h, dep), 1, 'the queue trigger activates; cpu does not');
    const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
    const o = p2.report.objects[0]!;
    assert.equal(await specReplicas(h, dep), 4, `ceil(7 / 2) = 4 although cpu failed: ${o.reason}`);
    // the pod activation created a moment ago has no sample yet (metrics-server needs two scrapes 10 s
    // apart), so the HPA's calculation has nothing to work with; an RBAC refusal would show in `denied`
    assert.match(o.reason ?? '', /cpu: failed to get cpu utilization: /);
    for (const p of [p1, p2]) assert.deepEqual(p.report.denied, [], 'RBAC denials');
    assert.equal(o.triggers[0]!.active, true, 'KEDA reports cpu as active');
    assert.equal(o.triggers[0]!.error, undefined, 'not a KEDA trigger error');
    const so = await getSO(h, ns, 'worker');
    assert.equal(condition(so, 'Ready')?.status, 'True');
    assert.deepEqual(so.status?.resourceMetricNames, ['cpu']);
    assert.ok(!(await events(h, ns, 'worker')).some((e) => e.reason === 'KEDAScalerFailed'));
  });
});
