// More objects in a namespace than one LIST page holds (500, as client-go's pager asks for): the pass
// reads every page of ScaledObjects and of their targets, and still sees and decides every object.
// The targets are StatefulSets, listed per namespace like Deployments: the harness runs no StatefulSet
// controller, so 510 of them leave no backlog in the controller-manager (510 Deployments kept its
// rate-limited client busy for minutes, and later tests waiting on Deployment rollouts timed out).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { statefulSet, scaledObject, pass, suiteSetup } from '../helpers/fixtures.ts';
import { listAll, keepMeta, type ObjectMeta } from '../../src/kube/resources.ts';

const OBJECTS = 510;

describe('LISTs longer than a page', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  let ns: string;
  before(async () => {
    ({ h, kubeconfig, src } = await suiteSetup(7));
    ns = await h.namespace('e2e-paging');
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < OBJECTS) {
        const i = next++;
        await h.admin.create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, statefulSet(`w${i}`, 0));
        await h.admin.create(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, scaledObject(`w${i}`, {
          scaleTargetRef: { kind: 'StatefulSet', name: `w${i}` }, pollingInterval: 1,
          triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }],
        }));
      }
    }));
  });
  after(async () => { await src.close(); });

  it('a pass over 510 ScaledObjects and their StatefulSets evaluates every one, past the first page of each LIST', async () => {
    const { report, code, stderr } = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--dry-run'] });
    assert.equal(code, 0, stderr.slice(-2000));
    const names = new Set(report.objects.map((o) => o.name));
    assert.equal(names.size, OBJECTS);
    assert.ok(names.has('w0') && names.has(`w${OBJECTS - 1}`));
    assert.deepEqual(report.objects.filter((o) => o.outcome !== 'evaluated').map((o) => `${o.name}: ${o.detail}`), []);
    // every target's replicas came from the StatefulSet LIST, the last page's too: no /scale read of its own
    assert.ok(report.objects.every((o) => o.current === 0 && o.desired === 1), 'each 0 -> 1 decided from the listed StatefulSet');
    assert.equal(report.requests.get ?? 0, 0);
    // two pages of ScaledObjects, two of StatefulSets, one (empty) of ScaledJobs
    assert.equal(report.requests.list, 5);
  });

  it('each page is cut to the fields the pass reads as it arrives', async () => {
    const before = h.admin.counts.list ?? 0;
    const items = await listAll(h.admin, `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, { limit: '200' }, undefined,
      (o: { metadata: ObjectMeta & { managedFields?: unknown } }) => keepMeta(o.metadata));
    assert.equal(items.length, OBJECTS);
    assert.equal((h.admin.counts.list ?? 0) - before, 3, 'pages of 200 followed by their continue tokens');
    assert.ok(items.every((m) => m.uid && m.resourceVersion && m.creationTimestamp && !('managedFields' in m)));
  });
});
