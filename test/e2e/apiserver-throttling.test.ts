// API Priority and Fairness on the real apiserver: a FlowSchema puts the shipped ServiceAccount's requests
// in a priority level with the smallest concurrency share and `limitResponse: Reject`, so whatever goes
// beyond its few seats is answered 429 with Retry-After, as on a busy production apiserver. A pass must
// wait and retry those, not fail the objects. The FlowSchema and its level are removed afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, specReplicas, pass, suiteSetup } from '../helpers/fixtures.ts';
import { SYSTEM_NS } from '../helpers/install.ts';
import { until } from '../helpers/until.ts';

const FC = '/apis/flowcontrol.apiserver.k8s.io/v1';
const NAME = 'scalepass-e2e-throttled';
const OBJECTS = 60;

describe('when the apiserver throttles scalepass (429)', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;

  before(async () => {
    ({ h, kubeconfig, src } = await suiteSetup(5));
    await h.admin.create(`${FC}/prioritylevelconfigurations`, { apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'PriorityLevelConfiguration',
      metadata: { name: NAME },
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: 1, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } } } });
    await h.admin.create(`${FC}/flowschemas`, { apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'FlowSchema',
      metadata: { name: NAME },
      spec: { priorityLevelConfiguration: { name: NAME }, matchingPrecedence: 500, distinguisherMethod: { type: 'ByUser' },
        rules: [{ subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: 'scalepass', namespace: SYSTEM_NS } }],
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }] }] } });
    // the apiserver's acknowledgement: its APF controller marks the FlowSchema as pointing at an existing level
    await until('the FlowSchema is in force', async () => {
      const fs = await h.admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`${FC}/flowschemas/${NAME}`);
      return fs.status?.conditions?.some((c) => c.type === 'Dangling' && c.status === 'False') ? true : undefined;
    }, 30_000);
  });

  after(async () => {
    await h.admin.delete(`${FC}/flowschemas/${NAME}`).catch(() => undefined);
    await h.admin.delete(`${FC}/prioritylevelconfigurations/${NAME}`).catch(() => undefined);
    await src.close();
  });

  it(`waits out the 429s and finishes all ${OBJECTS} objects of the pass`, async () => {
    const ns = await h.namespace('e2e-throttled');
    for (let i = 0; i < OBJECTS; i++) {
      await create(h, ns, deployment(`w${i}`, 1));
      await create(h, ns, scaledObject(`w${i}`, { scaleTargetRef: { name: `w${i}` }, pollingInterval: 1, minReplicaCount: 1, maxReplicaCount: 10,
        triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    }
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 0, p.stderr.slice(-3000));
    assert.ok((p.report.requests.throttled ?? 0) > 0, `the apiserver answered some requests 429: ${JSON.stringify(p.report.requests)}`);
    assert.deepEqual(p.report.objects.filter((o) => o.outcome !== 'evaluated').map((o) => `${o.name}: ${o.detail}`), []);
    // 5 / 2 -> ceil(2.5) = 3 for every one of them
    for (let i = 0; i < OBJECTS; i++) assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w${i}`), 3, `w${i}`);
  });
});
