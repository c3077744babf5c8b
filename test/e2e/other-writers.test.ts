// Another writer acts between a pass's reads and its writes: a person scales the Deployment, or a
// second controller writes the ScaledObject's status. The pass must not overwrite what they wrote.
// The metrics source holds its answer until the test has made its change, so the change lands
// exactly between the pass's read and its write.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import { until } from '../helpers/until.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, specReplicas, pass, getSO, condition, suiteSetup } from '../helpers/fixtures.ts';

describe('writes that meet another writer', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(0)));
  after(async () => { await src.close(); });

  it('does not undo a replica change a person made while the pass was measuring: it decides again from the new count', async () => {
    const ns = await h.namespace('e2e-scale-race');
    await create(h, ns, deployment('worker', 1));
    // scale-up by at most one pod per 15 s: from 1 the pass wants 2; from 3 it wants 4
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, maxReplicaCount: 10,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 15 }] } } } },
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
    src.set(8);
    src.hold();
    // the read is held until the Deployment controller has rolled out the person's change, however long
    // the controller-manager's backlog makes that: the trigger must not time out meanwhile
    const running = pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--trigger-timeout-ms', '60000'] });
    await src.held();
    // the person's change, and the controller's status update after it, both land before the pass writes
    await h.admin.put(`${dep}/scale`, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'worker', namespace: ns }, spec: { replicas: 3 } });
    await waitForRollout(h, dep, 3);
    src.release();
    const p = await running;
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await specReplicas(h, dep), 4, `from the person's 3, +1 pod by policy (not back to 2); reason: ${p.report.objects[0]!.reason}`);
    assert.equal(p.report.objects[0]!.current, 3);
    assert.ok(p.logs.some((l) => String(l.msg ?? l.message ?? '').includes('changed since it was read')), 'the re-read is logged');
  });

  it('keeps what another writer put into the status while the pass was measuring', async () => {
    const ns = await h.namespace('e2e-status-race');
    await create(h, ns, deployment('worker', 0));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const soPath = `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/worker`;
    src.set(5);
    src.hold();
    const running = pass(h, { kubeconfig, namespaces: [ns] });
    await src.held();
    const read = await h.admin.get<{ metadata: Record<string, unknown>; status?: Record<string, unknown> }>(soPath);
    await h.admin.put(`${soPath}/status`, { ...read, status: { ...read.status, hpaName: 'keda-hpa-worker',
      conditions: [{ type: 'ExternalCheck', status: 'True', reason: 'Checked', message: 'written by another controller' }] } });
    src.release();
    const p = await running;
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.report.objects[0]!.statusWritten, true);
    const so = await getSO(h, ns, 'worker');
    assert.equal(so.status?.hpaName, 'keda-hpa-worker', 'the other writer\'s field survives');
    assert.equal(condition(so, 'ExternalCheck')?.message, 'written by another controller', 'the other writer\'s condition survives');
    assert.equal(condition(so, 'Active')?.status, 'True', 'and the pass\'s own status is there');
    assert.equal(condition(so, 'Ready')?.status, 'True');
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/worker`), 1);
  });
});

/** The Deployment controller has seen the new count and written its status for it. */
async function waitForRollout(h: Harness, dep: string, replicas: number): Promise<void> {
  await until(`${dep} status.replicas ${replicas}`, async () => {
    const d = await h.admin.get<{ metadata: { generation: number }; status?: { observedGeneration?: number; replicas?: number } }>(dep);
    return d.status?.observedGeneration === d.metadata.generation && d.status.replicas === replicas ? true : undefined;
  });
}
