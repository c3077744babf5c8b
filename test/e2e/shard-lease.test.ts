// The shard's Lease as runs see it: kept renewed while a long pass runs, given back at the end, and
// what a run does when it cannot give it back or loses it mid-pass. Each pass is a new
// `node dist/run.js`, against the real apiserver; a held metrics-api backend keeps a pass mid-measure
// for as long as a test needs, so nothing here depends on how fast the machine is.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import { runScalepass, startScalepass } from '../helpers/run.ts';
import { ApiError } from '../../src/kube/rest.ts';
import { create, deployment, scaledObject, specReplicas, pass, getSO, events, type PassJson, suiteSetup } from '../helpers/fixtures.ts';
import { jobTargetRef, jobsOf, scaledJob, sjPath } from '../helpers/scaledjobs.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/scalepass-system/leases';
const LAST_PASS = 'scalepass.dev/last-pass-time';
// short, so a pass outlives it, yet long enough that a renewal on a busy machine still comes in time
// (renewed every 1.3 s, lost after 2.7 s without one)
const LEASE_S = 4;

interface LeaseLive {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

/** Polls the apiserver until a Lease in scalepass-system satisfies pred. */
async function waitForLease(h: Harness, pred: (l: LeaseLive) => boolean, what: string, timeoutMs = 20_000): Promise<LeaseLive> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const l = await h.admin.list<{ items: LeaseLive[] }>(LEASES);
    const hit = l.items.find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not seen on the apiserver within ${timeoutMs} ms`);
}

/** Another run takes the shard over: a PUT with the resourceVersion read, re-read on 409 (the run renews meanwhile). */
async function steal(h: Harness, name: string, holder: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const l = await h.admin.get<LeaseLive>(`${LEASES}/${name}`);
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    try {
      await h.admin.put(`${LEASES}/${name}`, { ...l, spec: { ...l.spec, holderIdentity: holder, leaseDurationSeconds: 60, acquireTime: now, renewTime: now } });
      return;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) throw e;
    }
  }
  throw new Error(`could not take lease ${name}: 20 conflicts in a row`);
}

async function allowed(h: Harness, user: string, namespace: string, verb: string, group: string, resource: string, subresource = ''): Promise<boolean> {
  const r = await h.admin.create<{ status: { allowed: boolean } }>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
    spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`], resourceAttributes: { namespace, verb, group, resource, subresource } },
  });
  return r.status.allowed;
}

describe('shard lease', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(5)));
  after(async () => { await src.close(); });

  // the backend may be held for longer than the default trigger timeouts
  const trigger = (url: string) => ({ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2', timeout: '60000' } });
  const runArgs = (ns: string) => ['--namespaces', ns, '--output', 'json', '--lease-namespace', 'scalepass-system', '--trigger-timeout-ms', '60000'];
  // the duration through the environment, so that a build without the setting still runs (and shows what it does)
  const runEnv = (durationS: number) => ({ KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, SCALEPASS_LEASE_DURATION_SECONDS: String(durationS) });

  it('records every pass in the Lease: its time is the report\'s, and the history keeps the passes before it, oldest first', async () => {
    const ns = await h.namespace('e2e-lease-history');
    src.set(3);
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger(src.url)] }));
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
    const iso = (ms: number) => new Date(ms).toISOString();
    const lease = await waitForLease(h, (l) => l.metadata.annotations?.[LAST_PASS] === iso(p2.report.start), 'the second pass recorded');
    assert.equal(lease.metadata.annotations?.['scalepass.dev/pass-history'], `${iso(p1.report.start)},${iso(p2.report.start)}`);
  });

  it('a pass whose lease cannot be given back still prints its plan and exits 0', async () => {
    const ns = await h.namespace('e2e-lease-keep');
    // a ServiceAccount allowed to read and create its Lease but not to update it: giving it back (a PUT) is refused
    const user = `system:serviceaccount:${ns}:runner`;
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
    await h.admin.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'runner' } });
    await h.admin.create(`${rbac}/rolebindings`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'scalepass' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'scalepass' }, subjects: [{ kind: 'ServiceAccount', name: 'runner', namespace: ns }] });
    await h.admin.create(`${rbac}/roles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'lease-no-update' },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create'] }] });
    await h.admin.create(`${rbac}/rolebindings`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'lease-no-update' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-no-update' }, subjects: [{ kind: 'ServiceAccount', name: 'runner', namespace: ns }] });
    // the authorizer sees new bindings after an informer delay: wait until it answers with them
    for (let i = 0; ; i++) {
      if (await allowed(h, user, ns, 'create', 'coordination.k8s.io', 'leases') && await allowed(h, user, ns, 'update', 'apps', 'deployments', 'scale')) break;
      assert.ok(i < 100, 'RBAC bindings not in effect after 100 checks');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await allowed(h, user, ns, 'update', 'coordination.k8s.io', 'leases'), false, 'the Lease may not be updated');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger(src.url)] }));

    // a long duration: no renewal (also a PUT) falls within this pass
    const p = await pass(h, { kubeconfig: await h.tokenKubeconfig(ns, 'runner'), namespaces: [ns], extraArgs: ['--lease-namespace', ns], env: { SCALEPASS_LEASE_DURATION_SECONDS: '600' } });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.report.objects[0]!.outcome, 'evaluated', JSON.stringify(p.report.objects[0]));
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 1);
    const warning = p.logs.find((l) => String(l.msg).startsWith('could not give the shard lease back'));
    assert.ok(warning, `a warning about the lease; logs:\n${p.stderr.slice(-2000)}`);
    assert.equal(warning.level, 'warn');
    assert.match(String(warning.lease), new RegExp(`^${ns}/scalepass-[0-9a-f]{8}-shard-0$`));
    assert.match(String(warning.error), /403/);
    assert.match(String(warning.msg), /expires by its duration \(600 s after its last renewal\)/);
    assert.match(String(warning.msg), /the next pass evaluates every object again/);
    const leaseName = String(warning.lease).slice(ns.length + 1);
    const lease = await h.admin.get<LeaseLive>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName}`);
    assert.ok(lease.spec.holderIdentity, 'the lease stays with the run until it expires');
    assert.ok(!p.logs.some((l) => l.msg === 'pass failed'), p.stderr);
  });

  it('a pass that outlives its lease duration keeps the lease renewed, so a second run of the shard is refused', async () => {
    const ns = await h.namespace('e2e-lease-renew');
    const slow = await startMetricsServer(5);
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger(slow.url)] }));
    slow.hold();
    const first = startScalepass(runArgs(ns), runEnv(LEASE_S));
    try {
      await slow.held();
      const held = await waitForLease(h, (l) => !!l.spec.holderIdentity?.endsWith(`-${first.pid}`), 'the first run holds the lease');
      // still held while the pass is mid-measure, and renewed past the end of its first term
      const renewed = await waitForLease(h, (l) => l.metadata.name === held.metadata.name && l.spec.holderIdentity === held.spec.holderIdentity
        && Date.parse(l.spec.renewTime ?? '') - Date.parse(l.spec.acquireTime ?? '') > LEASE_S * 1000, `the lease renewed beyond its ${LEASE_S} s duration`, 20_000);
      assert.equal(renewed.spec.leaseDurationSeconds, LEASE_S);
      const second = await runScalepass(runArgs(ns), runEnv(LEASE_S));
      assert.equal(second.code, 1, second.stderr);
      assert.ok(second.logs.some((l) => l.msg === 'another run holds this shard; nothing done'), second.stderr);
      assert.equal(second.stdout, '', 'the refused run prints no plan');
      slow.release();
      const r = await first.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 1, 'the held run finished and scaled');
      const after = await h.admin.get<LeaseLive>(`${LEASES}/${held.metadata.name}`);
      assert.equal(after.spec.holderIdentity, undefined, 'given back at the end');
      assert.ok(after.metadata.annotations?.[LAST_PASS], 'the pass was recorded');
    } finally {
      first.kill();
      await slow.close();
    }
  });

  it('a run that loses its lease mid-pass writes nothing', async () => {
    const ns = await h.namespace('e2e-lease-lost');
    const slow = await startMetricsServer(5);
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [trigger(slow.url)] }));
    const before = await getSO(h, ns, 'w');
    slow.hold();
    const run = startScalepass(runArgs(ns), runEnv(LEASE_S));
    try {
      await slow.held();
      const ours = await waitForLease(h, (l) => !!l.spec.holderIdentity?.endsWith(`-${run.pid}`), 'the run holds the lease');
      await steal(h, ours.metadata.name, 'another-run');
      // its next renewal finds the Lease taken; only then is the backend answered
      const noticed = await run.waitForLog((l) => String(l.msg).startsWith('shard lease lost'), 15_000).then(() => true, () => false);
      slow.release();
      const r = await run.done;
      assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 0, `scaled by a run that had lost its lease; stderr:\n${r.stderr.slice(-2000)}`);
      assert.equal((await getSO(h, ns, 'w')).metadata.resourceVersion, before.metadata.resourceVersion, 'ScaledObject status written');
      assert.deepEqual((await events(h, ns, 'w')).map((e) => e.reason), [], 'events created');
      assert.ok(noticed, `the loss is logged while the pass runs; stderr:\n${r.stderr.slice(-2000)}`);
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as PassJson;
      assert.equal(report.objects[0]!.outcome, 'failed');
      assert.equal(report.objects[0]!.detail, 'shard lease lost: not writing');
      const lostLine = r.logs.find((l) => String(l.msg).startsWith('shard lease lost'))!;
      assert.equal(lostLine.level, 'error');
      assert.match(String(lostLine.error), /taken by another-run/);
      const lease = await h.admin.get<LeaseLive>(`${LEASES}/${ours.metadata.name}`);
      assert.equal(lease.spec.holderIdentity, 'another-run', 'the other run keeps the lease');
      assert.equal(lease.metadata.annotations?.[LAST_PASS], undefined, 'no last-pass time recorded by the run that lost it');
    } finally {
      run.kill();
      await slow.close();
    }
  });

  it('a run that loses its lease mid-pass creates no Jobs for a ScaledJob and leaves its status alone', async () => {
    const ns = await h.namespace('e2e-lease-lost-sj');
    const slow = await startMetricsServer(3);
    await create(h, ns, scaledJob('batch', { jobTargetRef: jobTargetRef(), pollingInterval: 1, triggers: [trigger(slow.url)] }));
    const before = await h.admin.get<{ metadata: { resourceVersion: string } }>(sjPath(ns, 'batch'));
    slow.hold();
    const run = startScalepass(runArgs(ns), runEnv(LEASE_S));
    try {
      await slow.held();
      const ours = await waitForLease(h, (l) => !!l.spec.holderIdentity?.endsWith(`-${run.pid}`), 'the run holds the lease');
      await steal(h, ours.metadata.name, 'another-run');
      await run.waitForLog((l) => String(l.msg).startsWith('shard lease lost'), 15_000);
      slow.release();
      const r = await run.done;
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(await jobsOf(h, ns, 'batch'), [], 'Jobs created by a run that had lost its lease');
      assert.equal((await h.admin.get<{ metadata: { resourceVersion: string } }>(sjPath(ns, 'batch'))).metadata.resourceVersion, before.metadata.resourceVersion, 'ScaledJob status written');
      assert.deepEqual((await events(h, ns, 'batch')).map((e) => e.reason), [], 'events created');
      const o = (JSON.parse(r.stdout) as PassJson).objects.find((x) => x.name === 'batch')!;
      assert.deepEqual([o.outcome, o.detail], ['failed', 'shard lease lost: not writing']);
    } finally {
      run.kill();
      await slow.close();
    }
  });
});
