// On KEDA's own CRDs. A cluster that once ran KEDA keeps its CRDs, whose status schema is structural:
// the apiserver prunes every status field it does not define. This suite swaps the ScaledObject CRD's
// status schema for KEDA's (the fields of KEDA's ScaledObjectStatus, v2.x, written out here as KEDA's
// CRD defines them) for its duration, checks the apiserver really prunes, and shows that what scalepass
// keeps between passes survives: the HPA's default 300 s downscale stabilization and a `behavior`
// window hold across passes, and a quiet pass writes nothing. The shipped CRD is put back afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, getSO, scaledObject, specReplicas, pass, suiteSetup } from '../helpers/fixtures.ts';
import { until } from '../helpers/until.ts';

const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh';
const HISTORY = 'scalepass.dev/hpa-history';

const str = { type: 'string' };
const int32 = { type: 'integer', format: 'int32' };
/** KEDA's ScaledObjectStatus schema (keda.sh_scaledobjects.yaml, status), descriptions left out. */
const KEDA_STATUS_SCHEMA = {
  type: 'object',
  properties: {
    authenticationsTypes: str,
    compositeScalerName: str,
    conditions: { type: 'array', items: { type: 'object', required: ['status', 'type'], properties: { message: str, reason: str, status: str, type: str } } },
    externalMetricNames: { type: 'array', items: str },
    health: { type: 'object', additionalProperties: { type: 'object', properties: { numberOfFailures: int32, status: str } } },
    hpaName: str,
    lastActiveTime: { type: 'string', format: 'date-time' },
    originalReplicaCount: int32,
    pausedReplicaCount: int32,
    resourceMetricNames: { type: 'array', items: str },
    scaleTargetGVKR: { type: 'object', required: ['group', 'kind', 'resource', 'version'], properties: { group: str, kind: str, resource: str, version: str } },
    scaleTargetKind: str,
    triggersActivity: { type: 'object', additionalProperties: { type: 'object', properties: { isActive: { type: 'boolean' } } } },
    triggersTypes: str,
  },
};

interface CrdVersion { name: string; schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }
interface Crd { metadata: { resourceVersion: string }; spec: { versions: CrdVersion[] } }

const trigger = (url: string) => ({ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } });

describe('on KEDA\'s CRDs (status fields KEDA does not define are pruned)', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  let shipped: Crd;

  async function putStatusSchema(schema: unknown): Promise<void> {
    const crd = await h.admin.get<Crd>(CRD);
    for (const v of crd.spec.versions) v.schema.openAPIV3Schema.properties.status = schema;
    await h.admin.put(CRD, crd);
  }

  before(async () => {
    ({ h, kubeconfig, src } = await suiteSetup(0));
    shipped = await h.admin.get<Crd>(CRD);
    await putStatusSchema(KEDA_STATUS_SCHEMA);
    // the apiserver's acknowledgement that KEDA's schema is in force: an unknown status field is pruned
    const ns = await h.namespace('e2e-keda-crd-probe');
    await create(h, ns, deployment('probe', 0));
    await create(h, ns, scaledObject('probe', { scaleTargetRef: { name: 'probe' }, triggers: [trigger(src.url)] }));
    const path = `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/probe/status`;
    await until('the apiserver prunes status fields outside KEDA\'s schema', async () => {
      const so = await h.admin.get<{ status?: Record<string, unknown> }>(path);
      await h.admin.put(path, { ...so, status: { hpaName: 'probe', recommendations: [{ time: new Date().toISOString(), replicas: 1 }] } });
      const after = await h.admin.get<{ status?: Record<string, unknown> }>(path);
      return after.status?.hpaName === 'probe' && after.status.recommendations === undefined ? true : undefined;
    }, 30_000);
  });

  after(async () => {
    const crd = await h.admin.get<Crd>(CRD);
    await h.admin.put(CRD, { ...shipped, metadata: { ...shipped.metadata, resourceVersion: crd.metadata.resourceVersion } });
    await src.close();
  });

  it('holds a scale-down for the HPA\'s default 300 s stabilization across passes, and a quiet pass writes nothing', async () => {
    const ns = await h.namespace('e2e-keda-crd-legacy');
    await create(h, ns, deployment('web', 1));
    await create(h, ns, scaledObject('web', { scaleTargetRef: { name: 'web' }, pollingInterval: 1, minReplicaCount: 1, maxReplicaCount: 10, triggers: [trigger(src.url)] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    src.set(8);
    // 8 / 2 = 4 (the default scale-up limit from 1 is max(2 x 1, 4) = 4)
    let p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await specReplicas(h, dep), 4, p.report.objects[0]!.reason);
    const so = await getSO(h, ns, 'web') as { metadata: { annotations?: Record<string, string> }; status?: Record<string, unknown> };
    assert.ok(so.metadata.annotations?.[HISTORY], 'the history is kept in its annotation');
    assert.equal(so.status?.recommendations, undefined, 'KEDA\'s schema keeps no such status field');

    src.set(2);
    // 2 / 2 = 1, but the 300 s window remembers 4: held. (Without the history it would drop to 1.)
    p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 4, `held by the stabilization window: ${p.report.objects[0]!.reason}`);
    // and again, with nothing changed: nothing written
    p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 4, p.report.objects[0]!.reason);
    const writes = ['patch', 'update', 'create'].reduce((n, v) => n + (p.report.requests[v] ?? 0), 0);
    assert.equal(writes, 0, `write requests in a quiet pass on KEDA's CRD: ${JSON.stringify(p.report.requests)}`);
    assert.deepEqual(p.report.denied, []);
  });

  it('applies a behavior scale-down window across passes', async () => {
    const ns = await h.namespace('e2e-keda-crd-behavior');
    await create(h, ns, deployment('api', 1));
    const windowS = 15;
    await create(h, ns, scaledObject('api', { scaleTargetRef: { name: 'api' }, pollingInterval: 1, minReplicaCount: 1, maxReplicaCount: 10,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: windowS, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } } } },
      triggers: [trigger(src.url)] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/api`;
    src.set(6);
    let p = await pass(h, { kubeconfig, namespaces: [ns] });
    // 6 / 2 = 3
    assert.equal(await specReplicas(h, dep), 3, p.report.objects[0]!.reason);
    const scaledAt = Date.now();
    src.set(1);
    // 1 / 2 -> 1, held at 3 while the 15 s window remembers 3 (this pass starts 1-3 s after the last)
    p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.ok(Date.now() - scaledAt < windowS * 1000, 'the second pass ran within the window');
    assert.equal(await specReplicas(h, dep), 3, `held: ${p.report.objects[0]!.reason}`);
    // once the window has passed, the recommendation of 1 applies
    while (Date.now() < scaledAt + (windowS + 1) * 1000) await new Promise((r) => setTimeout(r, 250));
    p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 1, p.report.objects[0]!.reason);
  });
});
