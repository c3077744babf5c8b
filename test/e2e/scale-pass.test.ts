// One pass at a time, as the CronJob runs them: each pass a new `node dist/run.js` process,
// authenticated as the shipped ServiceAccount, against the real apiserver.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import { isDue } from '../../src/scaling/due.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, statefulSet, scaledObject, specReplicas, pass, getSO, condition, events, suiteSetup } from '../helpers/fixtures.ts';

const metricsTrigger = (url: string, extra: Record<string, string> = {}) => ({
  type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2', ...extra },
});

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const writes = (r: Record<string, number>) => (r.patch ?? 0) + (r.update ?? 0) + (r.create ?? 0);

function cronWindow(fromMin: number, toMin: number): { start: string; end: string } {
  const at = (m: number) => { const d = new Date(Date.now() + m * 60_000); return `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`; };
  return { start: at(fromMin), end: at(toMin) };
}

describe('scale pass', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(0)));
  after(async () => { await src.close(); });

  it('scales a Deployment 0 -> 1 -> 4 -> 0 on a metrics-api trigger over consecutive passes: with cooldownPeriod 1, at 0 after the first inactive pass, as KEDA', async () => {
    const ns = await h.namespace('e2e-mapi');
    await create(h, ns, deployment('worker', 0));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, cooldownPeriod: 1, maxReplicaCount: 10, triggers: [metricsTrigger(src.url)] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
    src.set(7);
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p1.code, 0, p1.stderr);
    assert.deepEqual(p1.report.denied, [], 'RBAC denials');
    assert.equal(await specReplicas(h, dep), 1, 'activation goes to max(min,1) first, as KEDA does');
    assert.equal(p1.report.objects[0]!.triggers[0]!.value, 7);
    assert.ok((await events(h, ns, 'worker')).some((e) => e.reason === 'KEDAScaleTargetActivated'));

    const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 4, `ceil(7/2) = 4; reason: ${p2.report.objects[0]!.reason}`);
    assert.equal(condition(await getSO(h, ns, 'worker'), 'Active')?.status, 'True');

    src.set(0);
    const p3 = await pass(h, { kubeconfig, namespaces: [ns] });
    const lastActive = p2.report.start;
    // KEDA: lastActiveTime = the last active poll (whole seconds), scale in when it + 1 s < now; the
    // passes are more than 1 s apart (the helper waits 1.1 s before each), so the first inactive one does
    assert.ok(p3.report.start - lastActive > 1000, `passes ${p3.report.start - lastActive} ms apart`);
    assert.equal(await specReplicas(h, dep), 0, `first inactive pass, cooldown 1 s over: ${p3.report.objects[0]!.reason}`);
    assert.equal((await getSO(h, ns, 'worker')).status?.lastActiveTime, isoSeconds(lastActive), 'lastActiveTime is the last active evaluation, as KEDA leaves it');
    assert.ok((await events(h, ns, 'worker')).some((e) => e.reason === 'KEDAScaleTargetDeactivated'));
    const quiet = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 0);
    assert.equal(writes(quiet.report.requests), 0, `a quiet pass at rest writes nothing: ${JSON.stringify(quiet.report.requests)}`);
    for (const p of [p1, p2, p3, quiet]) assert.deepEqual(p.report.denied, []);
  });

  it('scales in at the first pass more than cooldownPeriod after the last active evaluation, and the cooling passes write nothing', async () => {
    const ns = await h.namespace('e2e-cooldown');
    const cooldownS = 8;
    await create(h, ns, deployment('worker', 4));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, cooldownPeriod: cooldownS, maxReplicaCount: 10, triggers: [metricsTrigger(src.url)] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
    src.set(7);
    const active = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(active.code, 0, active.stderr);
    assert.equal(await specReplicas(h, dep), 4, `ceil(7/2) = 4: ${active.report.objects[0]!.reason}`);
    const busy = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(writes(busy.report.requests), 0, `an active pass that changes nothing writes nothing: ${JSON.stringify(busy.report.requests)}`);
    const last = busy.report.start;
    // KEDA's rule on the passes' own times: lastActiveTime (whole seconds) + cooldownPeriod < the pass's time
    const deadline = Math.floor(last / 1000) * 1000 + cooldownS * 1000;
    src.set(0);
    const seen: string[] = [];
    let cooling = 0;
    for (let i = 0; i < 12; i++) {
      const p = await pass(h, { kubeconfig, namespaces: [ns] });
      const o = p.report.objects[0]!;
      const want = p.report.start > deadline ? 0 : 4;
      seen.push(`${p.report.start - last} ms after: ${o.current} -> ${o.desired} (${o.reason})`);
      assert.equal(await specReplicas(h, dep), want, seen.join('\n'));
      if (want === 0) break;
      cooling++;
      assert.equal(condition(await getSO(h, ns, 'worker'), 'Active')?.reason, 'ScalerCooldown', seen.join('\n'));
      if (cooling > 1) assert.equal(writes(p.report.requests), 0, `a cooling pass after the first writes nothing: ${JSON.stringify(p.report.requests)}`);
    }
    assert.equal(await specReplicas(h, dep), 0, seen.join('\n'));
    assert.ok(cooling >= 1, `passes ~2.5 s apart cool down first for ${cooldownS} s: ${seen.join('\n')}`);
    assert.equal((await getSO(h, ns, 'worker')).status?.lastActiveTime, isoSeconds(last));
  });

  it('scales a Deployment 0 -> 3 -> 0 on a cron trigger window', async () => {
    const ns = await h.namespace('e2e-cron');
    await create(h, ns, deployment('batch', 0));
    const inside = cronWindow(-1, 3);
    await create(h, ns, scaledObject('batch', { scaleTargetRef: { name: 'batch' }, pollingInterval: 1, cooldownPeriod: 0,
      triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: inside.start, end: inside.end, desiredReplicas: '3' } }] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/batch`;
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 1);
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, dep), 3);
    // move the window away: the trigger turns inactive and, after the (zero) cooldown, the Deployment goes to 0
    const away = cronWindow(120, 180);
    await h.admin.mergePatch(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/batch`, { spec: { triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: away.start, end: away.end, desiredReplicas: '3' } }] } });
    let replicas = 3;
    for (let i = 0; i < 3 && replicas !== 0; i++) {
      await pass(h, { kubeconfig, namespaces: [ns] });
      replicas = await specReplicas(h, dep);
    }
    assert.equal(replicas, 0);
  });

  it('scales on a kubernetes-workload trigger: the pods of another Deployment, counted through the apiserver', async () => {
    const ns = await h.namespace('e2e-workload');
    // the replicaset controller creates 4 pods for it; scheduled onto the simulated nodes they run and count
    await create(h, ns, deployment('monitored', 4));
    await create(h, ns, deployment('follower', 0));
    await create(h, ns, scaledObject('follower', { scaleTargetRef: { name: 'follower' }, pollingInterval: 1,
      triggers: [{ type: 'kubernetes-workload', metadata: { podSelector: 'app=monitored', value: '2' } }] }));
    for (let i = 0; i < 50; i++) {
      const pods = await h.admin.list<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app=monitored' } });
      if (pods.items.length === 4) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p1.report.objects[0]!.triggers[0]!.value, 4);
    assert.equal(p1.report.objects[0]!.triggers[0]!.metricName, `s0-workload-${ns}`);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/follower`), 1);
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/follower`), 2, 'ceil(4 / 2) = 2');
    assert.deepEqual(p1.report.denied, []);
  });

  it('divides a Value target by the Ready pods only: a pod whose readiness fails does not count', async () => {
    const ns = await h.namespace('e2e-value');
    await create(h, ns, deployment('reader', 2));
    await create(h, ns, scaledObject('reader', { scaleTargetRef: { name: 'reader' }, pollingInterval: 1, maxReplicaCount: 10,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 900, periodSeconds: 15 }] } } } },
      triggers: [{ ...metricsTrigger(src.url), metricType: 'Value' }] }));
    const podsPath = `/api/v1/namespaces/${ns}/pods`;
    type Pod = { metadata: { name: string }; status: { phase?: string; conditions?: { type: string; status: string }[] } };
    const readyPods = async () => (await h.admin.list<{ items: Pod[] }>(podsPath, { query: { labelSelector: 'app=reader' } })).items
      .filter((p) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const waitReady = async (n: number) => {
      for (let i = 0; i < 300 && (await readyPods()).length !== n; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await readyPods()).length, n, `${n} Ready pods`);
    };
    // the pods run on kwok's nodes; one of them then fails its readiness (kwok's pod-not-ready stage)
    await waitReady(2);
    const [first] = await readyPods();
    await h.admin.mergePatch(`${podsPath}/${first!.metadata.name}`, { metadata: { annotations: { 'scalepass.dev/test-ready': 'false' } } });
    await waitReady(1);
    src.set(6);
    // Value: 6 / 2 = ratio 3, times the 1 Ready pod -> 3 (with both pods counted it would be 6)
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/reader`), 3, p.report.objects[0]!.reason);
  });

  it('counts the nodes of the watched pods with kubernetes-workload groupByNode', async () => {
    const ns = await h.namespace('e2e-bynode');
    // five pods bound to three nodes (no kubelet runs them; bound pods count as KEDA counts them)
    const nodes = ['node-a', 'node-a', 'node-b', 'node-b', 'node-c'];
    for (const [i, nodeName] of nodes.entries()) {
      await h.admin.create(`/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `agent-${i}`, labels: { app: 'agent' } },
        spec: { nodeName, containers: [{ name: 'agent', image: 'registry.invalid/agent:1' }] } });
    }
    await create(h, ns, deployment('follower', 1));
    await create(h, ns, scaledObject('follower', { scaleTargetRef: { name: 'follower' }, pollingInterval: 1,
      triggers: [{ type: 'kubernetes-workload', metadata: { podSelector: 'app=agent', value: '1', groupByNode: 'true' } }] }));
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 0, p.stderr);
    const t = p.report.objects[0]!.triggers[0]!;
    assert.equal(t.error, undefined);
    assert.equal(t.value, 3, 'three distinct nodes');
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/follower`), 3, 'ceil(3 / 1)');
  });

  it('measures at most --concurrency triggers at the same time, across objects', async () => {
    const ns = await h.namespace('e2e-concurrency');
    const slow = await startMetricsServer(4);
    // slow enough that every request the pass sends at once is in flight at the server together
    slow.delayMs = 300;
    try {
      for (const n of ['a', 'b']) {
        await create(h, ns, deployment(n, 0));
        await create(h, ns, scaledObject(n, { scaleTargetRef: { name: n }, pollingInterval: 1,
          triggers: Array.from({ length: 5 }, () => metricsTrigger(slow.url)) }));
      }
      const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--concurrency', '3'] });
      assert.equal(p.code, 0, p.stderr);
      assert.equal(slow.requests, 10, 'every trigger measured');
      assert.ok(slow.maxInFlight <= 3, `at most 3 measurements at once, saw ${slow.maxInFlight}`);
    } finally {
      await slow.close();
    }
  });

  it('scales a StatefulSet and a custom resource with a scale subresource', async () => {
    const ns = await h.namespace('e2e-kinds');
    const group = `${ns}.e2e.scalepass.dev`;
    await h.admin.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `consumers.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'consumers', singular: 'consumer', kind: 'Consumer' },
        versions: [{ name: 'v1', served: true, storage: true,
          subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' }, status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
            status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } } } } } }] },
    });
    // the shipped ClusterRole grants */scale on every group, so no extra RBAC is needed for a new CRD
    for (let i = 0; i < 50; i++) {
      try {
        await h.admin.create(`/apis/${group}/v1/namespaces/${ns}/consumers`, { apiVersion: `${group}/v1`, kind: 'Consumer', metadata: { name: 'c' }, spec: { replicas: 0 } });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await create(h, ns, statefulSet('store', 0));
    src.set(5);
    await create(h, ns, scaledObject('store', { scaleTargetRef: { kind: 'StatefulSet', name: 'store' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    await create(h, ns, scaledObject('consumer', { scaleTargetRef: { apiVersion: `${group}/v1`, kind: 'Consumer', name: 'c' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p1.code, 0, p1.stderr);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/statefulsets/store`), 1);
    assert.equal(await specReplicas(h, `/apis/${group}/v1/namespaces/${ns}/consumers/c`), 1);
    // the CR has no controller: its status.replicas is what the HPA's AverageValue formula divides by
    await h.admin.mergePatch(`/apis/${group}/v1/namespaces/${ns}/consumers/c/status`, { status: { replicas: 1, selector: 'app=c' } });
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, `/apis/${group}/v1/namespaces/${ns}/consumers/c`), 3, 'ceil(5/2) = 3');
    assert.equal((await getSO(h, ns, 'consumer')).status?.scaleTargetKind, `${group}/v1.Consumer`);
    assert.deepEqual(p1.report.denied, []);
  });

  it('makes no write requests for its objects when a pass finds nothing changed', async () => {
    const ns = await h.namespace('e2e-quiet');
    src.set(7);
    for (const n of ['a', 'b', 'c']) {
      await create(h, ns, deployment(n, 0));
      await create(h, ns, scaledObject(n, { scaleTargetRef: { name: n }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    }
    await pass(h, { kubeconfig, namespaces: [ns] });
    await pass(h, { kubeconfig, namespaces: [ns] });
    const quiet = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(quiet.report.objects.filter((o) => o.outcome === 'evaluated').length, 3);
    const writes = (quiet.report.requests.patch ?? 0) + (quiet.report.requests.update ?? 0) + (quiet.report.requests.create ?? 0);
    assert.equal(writes, 0, `write requests in a quiet pass: ${JSON.stringify(quiet.report.requests)}`);
  });

  it('honours pollingInterval across runs: an object polled every 300 s is skipped by the next pass', async () => {
    const ns = await h.namespace('e2e-poll');
    await create(h, ns, deployment('slow', 0));
    await create(h, ns, scaledObject('slow', { scaleTargetRef: { name: 'slow' }, pollingInterval: 300, triggers: [metricsTrigger(src.url)] }));
    // a scope of its own (a new lease): the first pass evaluates everything
    let first = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(first.report.objects[0]!.outcome, 'evaluated');
    // the object's own tick (phase-shifted by its UID) may come due within the next seconds: then the
    // next pass is rightly due; let that tick pass and take it, so the pass checked below has none
    const { metadata: { uid } } = await h.admin.get<{ metadata: { uid: string } }>(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/slow`);
    const nextTick = isDue(uid, 300, Date.now(), Date.now()).tick;
    if (nextTick - Date.now() < 30_000) {
      await new Promise((r) => setTimeout(r, Math.max(0, nextTick - Date.now()) + 500));
      first = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(first.report.objects[0]!.outcome, 'evaluated', 'due at its tick');
    }
    const second = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(second.report.objects[0]!.outcome, 'skipped');
    assert.match(second.report.objects[0]!.detail ?? '', /next pollingInterval tick/);
  });

  it('keeps scaling the healthy objects when others are broken, and says what is wrong with each', async () => {
    const ns = await h.namespace('e2e-broken');
    src.set(7);
    await create(h, ns, deployment('good', 0));
    await create(h, ns, scaledObject('good', { scaleTargetRef: { name: 'good' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    await create(h, ns, scaledObject('no-target', { scaleTargetRef: { name: 'missing' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    await create(h, ns, deployment('bad-meta', 2));
    await create(h, ns, scaledObject('bad-meta', { scaleTargetRef: { name: 'bad-meta' }, pollingInterval: 1, triggers: [{ type: 'metrics-api', metadata: { valueLocation: 'x' } }] }));
    await create(h, ns, deployment('bad-type', 2));
    await create(h, ns, scaledObject('bad-type', { scaleTargetRef: { name: 'bad-type' }, pollingInterval: 1, triggers: [{ type: 'no-such-scaler', metadata: {} }] }));
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 1, 'some objects failed');
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/good`), 1);
    // an error never scales down
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/bad-meta`), 2);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/bad-type`), 2);
    const noTarget = condition(await getSO(h, ns, 'no-target'), 'Ready');
    assert.equal(noTarget?.status, 'False');
    assert.match(noTarget?.message ?? '', /doesn't exist/);
    const badMeta = p.report.objects.find((o) => o.name === 'bad-meta')!;
    assert.match(badMeta.triggers[0]!.error ?? '', /"url"/);
    const badType = p.report.objects.find((o) => o.name === 'bad-type')!;
    assert.match(badType.triggers[0]!.error ?? '', /unsupported trigger type "no-such-scaler"/);
    assert.equal(condition(await getSO(h, ns, 'bad-type'), 'Ready')?.status, 'False');
    assert.ok((await events(h, ns, 'no-target')).some((e) => e.type === 'Warning'));
    assert.ok((await events(h, ns, 'bad-meta')).some((e) => e.reason === 'KEDAScalerFailed'));
    assert.match(p.stderr, /"failedObjects"/);
  });

  it('a paused-replicas annotation sets the replicas, pauses, and stops measuring the triggers', async () => {
    const ns = await h.namespace('e2e-pause');
    src.set(9);
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] },
      { 'autoscaling.keda.sh/paused-replicas': '2' }));
    const before = src.requests;
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 2);
    assert.equal(src.requests, before, 'a paused object is not measured');
    const so = await getSO(h, ns, 'w');
    assert.equal(condition(so, 'Paused')?.status, 'True');
    assert.equal(so.status?.pausedReplicaCount, 2);
    assert.ok((await events(h, ns, 'w')).some((e) => e.reason === 'ScaledObjectPaused'));
    // removing the annotation resumes scaling on the next pass
    await h.admin.mergePatch(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects/w`, { metadata: { annotations: { 'autoscaling.keda.sh/paused-replicas': null } } });
    await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(condition(await getSO(h, ns, 'w'), 'Paused')?.status, 'False');
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 4, 'ceil(9/2) = 5, limited to max(2x2, 4) = 4');
  });

  it('splits the objects between shards: each is evaluated by exactly one of them', async () => {
    const ns = await h.namespace('e2e-shards');
    src.set(1);
    // 14 objects: the chance that random UIDs leave a shard empty is 2 in 16384
    const names = Array.from({ length: 14 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    for (const n of names) {
      await create(h, ns, deployment(n, 0));
      await create(h, ns, scaledObject(n, { scaleTargetRef: { name: n }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    }
    const seen: string[][] = [];
    for (const index of [0, 1]) {
      // as pod i of an Indexed Job: the index comes from JOB_COMPLETION_INDEX
      const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--shard-count', '2'], env: { JOB_COMPLETION_INDEX: String(index) } });
      assert.equal(p.code, 0, p.stderr);
      seen.push(p.report.objects.map((o) => o.name));
    }
    assert.ok(seen[0]!.length > 0 && seen[1]!.length > 0, `both shards have work: ${JSON.stringify(seen)}`);
    assert.deepEqual([...seen[0]!, ...seen[1]!].sort(), names, 'together they cover every object exactly once');
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const ns = await h.namespace('e2e-dry');
    src.set(9);
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1, triggers: [metricsTrigger(src.url)] }));
    const before = await getSO(h, ns, 'w');
    const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--dry-run'] });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.report.objects[0]!.desired, 1);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/w`), 0);
    assert.equal((await getSO(h, ns, 'w')).metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal((await events(h, ns, 'w')).length, 0);
    const writes = (p.report.requests.patch ?? 0) + (p.report.requests.update ?? 0) + (p.report.requests.create ?? 0);
    assert.equal(writes, 0);
  });
});
