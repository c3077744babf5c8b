// ScaledJobs in the same pass as ScaledObjects, one `node dist/run.js` process per pass, as the shipped
// ServiceAccount, against the real apiserver, Job controller, scheduler and kwok's simulated nodes, with
// real Redis and RabbitMQ queues. The tests play the workload: a running Job takes one item from the
// queue and, when the test says so, its pod completes (kwok) and the Job controller finishes the Job.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import amqp from 'amqplib';
import type { Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { harness } from '../helpers/harness.ts';
import { create, deployment, scaledObject, specReplicas, pass, events, condition, type PassJson } from '../helpers/fixtures.ts';
import type { MetricPoint } from '../helpers/otlp-file.ts';
import { closedPort } from '../helpers/scalers.ts';
import { NOWHERE, finish, isFinished, jobTargetRef, jobsOf, podsRunning, scaledJob, sjPath } from '../helpers/scaledjobs.ts';

type Obj = PassJson['objects'][number];

const id = crypto.randomBytes(3).toString('hex');

/** a queue of work items in a real server, as the workload sees it */
interface Queue {
  name: string;
  /** the trigger, with its address taken from the Job template's env (…FromEnv) */
  trigger: (target: string) => Record<string, unknown>;
  /** the Job template's env the trigger reads its address from, from a Secret */
  env: { name: string; valueFrom: unknown }[];
  secret: Record<string, string>;
  fill(n: number): Promise<void>;
  take(n: number): Promise<void>;
  length(): Promise<number>;
}

describe('ScaledJobs in the pass', () => {
  let h: Harness;
  let kubeconfig: string;
  let redis: Redis;
  let rabbit: amqp.ChannelModel;
  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    redis = new Redis(h.state.services.redis!);
    rabbit = await amqp.connect(h.state.services.rabbitmq!);
  });
  after(async () => {
    redis.disconnect();
    await rabbit.close();
  });

  function redisList(name: string): Queue {
    return {
      name,
      trigger: (target) => ({ type: 'redis', metadata: { addressFromEnv: 'REDIS_ADDRESS', listName: name, listLength: target } }),
      env: [{ name: 'REDIS_ADDRESS', valueFrom: { secretKeyRef: { name: 'queue', key: 'address' } } }],
      secret: { address: '127.0.0.1:6379' },
      fill: async (n) => { await redis.rpush(name, ...Array.from({ length: n }, (_, i) => `item-${i}`)); },
      take: async (n) => { for (let i = 0; i < n; i++) await redis.lpop(name); },
      length: () => redis.llen(name),
    };
  }

  async function rabbitQueue(name: string): Promise<Queue> {
    const ch = await rabbit.createChannel();
    await ch.assertQueue(name, { durable: false, autoDelete: false });
    await ch.close();
    return {
      name,
      trigger: (target) => ({ type: 'rabbitmq', metadata: { protocol: 'amqp', hostFromEnv: 'RABBITMQ_URL', queueName: name, mode: 'QueueLength', value: target } }),
      env: [{ name: 'RABBITMQ_URL', valueFrom: { secretKeyRef: { name: 'queue', key: 'url' } } }],
      secret: { url: h.state.services.rabbitmq! },
      async fill(n) {
        const c = await rabbit.createConfirmChannel();
        for (let i = 0; i < n; i++) c.sendToQueue(name, Buffer.from(`item-${i}`));
        // the broker acknowledged every message: the queue holds them before the next pass reads it
        await c.waitForConfirms();
        await c.close();
      },
      async take(n) {
        const c = await rabbit.createChannel();
        for (let i = 0; i < n; i++) {
          const m = await c.get(name);
          assert.ok(m, `queue ${name} had fewer than ${n} messages`);
          c.ack(m);
        }
        // a queue declaration's answer counts only what the broker has settled, acks included
        await c.close();
      },
      async length() {
        const c = await rabbit.createChannel();
        const q = await c.checkQueue(name);
        await c.close();
        return q.messageCount;
      },
    };
  }

  const sjOf = (p: { report: PassJson }, name: string): Obj => {
    const o = p.report.objects.find((x) => x.kind === 'ScaledJob' && x.name === name);
    assert.ok(o, `no ScaledJob ${name} in the report: ${JSON.stringify(p.report.objects.map((x) => `${x.kind} ${x.name}`))}`);
    return o;
  };

  /** the issue's acceptance: 10 items, target 1, max 5; Jobs created as the workload drains the queue */
  async function drainsTheQueue(q: Queue, prefix: string): Promise<void> {
    const ns = await h.namespace(prefix);
    await h.admin.create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'queue' }, stringData: q.secret });
    await create(h, ns, scaledJob('worker', {
      jobTargetRef: jobTargetRef({ env: q.env }), pollingInterval: 1, maxReplicaCount: 5, successfulJobsHistoryLimit: 2,
      triggers: [q.trigger('1')],
    }));
    await q.fill(10);

    const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p1.code, 0, p1.stderr);
    assert.deepEqual(p1.report.denied, [], 'RBAC denials');
    const o1 = sjOf(p1, 'worker');
    assert.equal(o1.triggers[0]!.value, 10);
    assert.equal(o1.jobs?.created.length, 5, `min(10 items / 1, max 5) = 5: ${o1.reason}`);
    const first = await jobsOf(h, ns, 'worker');
    assert.equal(first.length, 5, 'exactly 5 Jobs exist');
    const sj = await h.admin.get<{ metadata: { uid: string } }>(sjPath(ns, 'worker'));
    for (const j of first) {
      assert.match(j.metadata.name, /^worker-[a-z0-9]{5}$/, 'generateName worker-');
      assert.equal(j.metadata.labels['scaledjob.keda.sh/name'], 'worker');
      assert.equal(j.metadata.labels['app.kubernetes.io/managed-by'], 'scalepass');
      assert.equal(j.metadata.annotations['scaledjob.keda.sh/generation'], '1');
      assert.deepEqual(j.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['ScaledJob', 'worker', sj.metadata.uid, true]]);
      assert.equal(j.spec.template.metadata.labels?.['scaledjob.keda.sh/name'], 'worker', 'its pods carry the label too');
    }
    const ev = await events(h, ns, 'worker');
    assert.ok(ev.some((e) => e.reason === 'KEDAJobsCreated' && e.note === 'Created 5 jobs'), JSON.stringify(ev));
    const live = await h.admin.get<Parameters<typeof condition>[0]>(sjPath(ns, 'worker'));
    assert.equal(condition(live, 'Ready')?.status, 'True');
    assert.equal(condition(live, 'Active')?.status, 'True');

    // the workload: each running Job takes its item
    await podsRunning(h, ns, 'worker', 5);
    await q.take(5);
    const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
    const o2 = sjOf(p2, 'worker');
    assert.deepEqual([o2.jobs?.running, o2.jobs?.toCreate, o2.jobs?.created.length], [5, 0, 0], `while 5 run, none more: ${o2.reason}`);
    assert.equal(o2.statusWritten, false, 'a pass with nothing new to do writes no status');
    assert.equal((await jobsOf(h, ns, 'worker')).length, 5);

    await finish(h, ns, first);
    const p3 = await pass(h, { kubeconfig, namespaces: [ns] });
    const o3 = sjOf(p3, 'worker');
    assert.equal(o3.triggers[0]!.value, 5);
    assert.equal(o3.jobs?.created.length, 5, `the 5 items left get 5 new Jobs: ${o3.reason}`);
    // 5 finished, successfulJobsHistoryLimit 2: the 3 that finished first go
    assert.equal(o3.jobs?.deleted.length, 3, o3.reason);
    const second = (await jobsOf(h, ns, 'worker')).filter((j) => !isFinished(j));
    assert.equal(second.length, 5);

    await podsRunning(h, ns, 'worker', 5);
    await q.take(5);
    await finish(h, ns, second);
    assert.equal(await q.length(), 0);
    const p4 = await pass(h, { kubeconfig, namespaces: [ns] });
    const o4 = sjOf(p4, 'worker');
    assert.equal(o4.jobs?.created.length, 0, `an empty queue creates nothing: ${o4.reason}`);
    assert.equal(o4.active, false);
    // 7 finished (2 kept of the first round, 5 of the second): the 5 that finished first go, the first round's among them
    assert.equal(o4.jobs?.deleted.length, 5, o4.reason);
    const kept = await jobsOf(h, ns, 'worker');
    assert.equal(kept.length, 2);
    const secondNames = new Set(second.map((j) => j.metadata.name));
    assert.ok(kept.every((j) => secondNames.has(j.metadata.name)), 'the two kept finished last');
    const deleted = [...o3.jobs!.deleted, ...o4.jobs!.deleted];
    assert.deepEqual(first.map((j) => j.metadata.name).filter((n) => !deleted.includes(n)), [], 'every Job of the first round deleted');
    for (const n of deleted) assert.ok(!kept.some((j) => j.metadata.name === n), `${n} is gone from the API`);

    const quiet = await pass(h, { kubeconfig, namespaces: [ns] });
    const writes = ['patch', 'update', 'create', 'delete'].reduce((n, v) => n + (quiet.report.requests[v] ?? 0), 0);
    assert.equal(writes, 0, `a quiet pass writes nothing: ${JSON.stringify(quiet.report.requests)}`);
    for (const p of [p1, p2, p3, p4, quiet]) {
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual(p.report.denied, []);
    }
  }

  it('drains a Redis list of 10 items at target 1 and max 5: 5 Jobs, none more while they run, 5 more after, history trimmed to the limit', async () => {
    const q = redisList(`sj-${id}`);
    try {
      await drainsTheQueue(q, 'e2e-sj-redis');
    } finally {
      await redis.del(q.name);
    }
  });

  it('drains a RabbitMQ queue the same way, its address from the Job template\'s env', async () => {
    const q = await rabbitQueue(`sj-${id}`);
    try {
      await drainsTheQueue(q, 'e2e-sj-rabbit');
    } finally {
      const c = await rabbit.createChannel();
      await c.deleteQueue(q.name);
      await c.close();
    }
  });

  it('with pending Jobs present, default creates 3, accurate 5 and eager 6 for a queue of 6 next to 3 Jobs of which 1 is pending', async () => {
    const ns = await h.namespace('e2e-sj-strategy');
    const names = ['default', 'accurate', 'eager'];
    const lists = Object.fromEntries(names.map((n) => [n, `sj-${id}-${n}`]));
    try {
      // three identical ScaledJobs, max 10, target 1; gradual rollouts keep their Jobs when the template or the strategy changes
      for (const n of names) {
        await create(h, ns, scaledJob(n, { jobTargetRef: jobTargetRef(), pollingInterval: 1, maxReplicaCount: 10, rollout: { strategy: 'gradual' },
          triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: lists[n]!, listLength: '1' } }] }));
        await redis.rpush(lists[n]!, 'a', 'b');
      }
      // 2 items: 2 Jobs each, whose pods run
      const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
      for (const n of names) assert.equal(sjOf(p1, n).jobs?.created.length, 2, sjOf(p1, n).reason);
      for (const n of names) await podsRunning(h, ns, n, 2);
      // the template now asks for a node that does not exist: new pods stay Pending; 3 items: 3 - 2 running = 1 more Job
      for (const n of names) {
        await h.admin.mergePatch(sjPath(ns, n), { spec: { jobTargetRef: { template: { spec: { nodeSelector: NOWHERE } } } } });
        await redis.rpush(lists[n]!, 'c');
      }
      const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
      for (const n of names) assert.equal(sjOf(p2, n).jobs?.created.length, 1, sjOf(p2, n).reason);
      // each has 3 unfinished Jobs, 1 of them pending; the queue grows to 6 and each gets its strategy
      for (const n of names) {
        if (n !== 'default') await h.admin.mergePatch(sjPath(ns, n), { spec: { scalingStrategy: { strategy: n } } });
        await redis.rpush(lists[n]!, 'd', 'e', 'f');
      }
      const p3 = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(p3.code, 0, p3.stderr);
      const got = Object.fromEntries(names.map((n) => [n, sjOf(p3, n)]));
      for (const n of names) assert.deepEqual([got[n]!.jobs?.running, got[n]!.jobs?.pending], [3, 1], `${n}: ${got[n]!.reason}`);
      // KEDA, maxScale = min(6 / 1, 10) = 6, r = 3 running, p = 1 pending, room 10:
      //   default   6 - r = 3                                  -> min(6, 3) = 3
      //   accurate  6 + r - p = 8 <= 10, so 6 - p = 5           -> min(6, 5) = 5
      //   eager     min(10 - r - p, 6) = 6, scaleTo = 10         -> min(10, 6) = 6
      assert.deepEqual(names.map((n) => got[n]!.jobs?.created.length), [3, 5, 6], names.map((n) => `${n}: ${got[n]!.reason}`).join('\n'));
      assert.match(got.accurate!.reason ?? '', /accurate: maxScale 6 - pending 1 = 5/);
      assert.match(got.eager!.reason ?? '', /eager: min\(10 - running 3 - pending 1, maxScale 6\) = 6/);
      for (const n of names) {
        const jobs = await jobsOf(h, ns, n);
        assert.equal(jobs.length, 3 + got[n]!.jobs!.created.length, `${n}: Jobs in the API`);
        assert.ok(jobs.every((j) => !isFinished(j)), 'gradual rollouts deleted nothing');
      }
    } finally {
      await redis.del(...Object.values(lists));
    }
  });

  it('a broken ScaledJob (bad trigger metadata, missing TriggerAuthentication) gets Ready=False and a Warning, creates nothing, and the rest of the pass still works', async () => {
    const ns = await h.namespace('e2e-sj-broken');
    const list = `sj-${id}-broken`;
    try {
      await redis.rpush(list, 'a', 'b');
      const trig = (metadata: Record<string, string>, auth?: string) => ({ type: 'redis', metadata: { address: '127.0.0.1:6379', listLength: '1', ...metadata }, ...(auth ? { authenticationRef: { name: auth } } : {}) });
      await create(h, ns, scaledJob('bad-metadata', { jobTargetRef: jobTargetRef(), pollingInterval: 1, triggers: [trig({ listLength: 'lots', listName: list })] }));
      await create(h, ns, scaledJob('no-auth', { jobTargetRef: jobTargetRef(), pollingInterval: 1, triggers: [trig({ listName: list }, 'does-not-exist')] }));
      await create(h, ns, scaledJob('good', { jobTargetRef: jobTargetRef(), pollingInterval: 1, triggers: [trig({ listName: list })] }));
      await create(h, ns, deployment('web', 0));
      await create(h, ns, scaledObject('web', { scaleTargetRef: { name: 'web' }, pollingInterval: 1, triggers: [trig({ listName: list })] }));

      const p = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(p.code, 1, 'the broken ScaledJobs fail the run');
      assert.deepEqual(p.report.denied, []);
      for (const [name, why] of [['bad-metadata', /listLength/], ['no-auth', /TriggerAuthentication .*does-not-exist not found/]] as const) {
        const o = sjOf(p, name);
        assert.equal(o.outcome, 'failed');
        assert.match(o.detail ?? '', why);
        assert.equal(o.jobs?.created.length, 0);
        assert.equal((await jobsOf(h, ns, name)).length, 0, `${name} created no Job`);
        const live = await h.admin.get<Parameters<typeof condition>[0]>(sjPath(ns, name));
        assert.deepEqual([condition(live, 'Ready')?.status, condition(live, 'Ready')?.reason], ['False', 'TriggerError'], name);
        const warnings = (await events(h, ns, name)).filter((e) => e.type === 'Warning');
        assert.ok(warnings.some((e) => e.reason === 'KEDAScalerFailed' && why.test(e.note)), `${name}: ${JSON.stringify(warnings)}`);
      }
      assert.equal(sjOf(p, 'good').jobs?.created.length, 2);
      assert.equal((await jobsOf(h, ns, 'good')).length, 2);
      assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/web`), 1, 'the ScaledObject in the same pass activates');
      assert.match(p.stderr, /"failedObjects":\[[^\]]*ScaledJob [^"]*\/bad-metadata/);
    } finally {
      await redis.del(list);
    }
  });

  it('a changed jobTargetRef with the default rollout deletes the running Jobs; with gradual they keep running', async () => {
    const ns = await h.namespace('e2e-sj-rollout');
    const lists = { immediate: `sj-${id}-immediate`, gradual: `sj-${id}-gradual` };
    try {
      for (const [n, list] of Object.entries(lists)) {
        await create(h, ns, scaledJob(n, { jobTargetRef: jobTargetRef(), pollingInterval: 1, ...(n === 'gradual' ? { rollout: { strategy: 'gradual' } } : {}),
          triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list, listLength: '1' } }] }));
        await redis.rpush(list, 'a', 'b');
      }
      const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(p1.code, 0, p1.stderr);
      const before = { immediate: await podsRunning(h, ns, 'immediate', 2), gradual: await podsRunning(h, ns, 'gradual', 2) };
      for (const n of Object.keys(lists)) {
        await h.admin.mergePatch(sjPath(ns, n), { spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'worker', image: 'registry.invalid/worker:2' }] } } } } });
      }
      const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(p2.code, 0, p2.stderr);

      const imm = sjOf(p2, 'immediate');
      assert.deepEqual([...imm.jobs!.deleted].sort(), before.immediate.map((j) => j.metadata.name).sort(), imm.reason);
      assert.deepEqual(imm.jobs!.toDelete.map((d) => d.why), ['rollout', 'rollout']);
      assert.equal(imm.jobs!.created.length, 2, 'the old Jobs no longer count: 2 items get 2 Jobs of the new template');
      const now = await jobsOf(h, ns, 'immediate');
      assert.deepEqual(now.map((j) => j.metadata.name).sort(), [...imm.jobs!.created].sort());
      for (const j of now) {
        assert.equal(j.metadata.annotations['scaledjob.keda.sh/generation'], '2');
        assert.equal((j.spec.template.spec as { containers: { image: string }[] }).containers[0]!.image, 'registry.invalid/worker:2');
      }
      const reasons = (await events(h, ns, 'immediate')).map((e) => `${e.reason}: ${e.note}`);
      assert.ok(reasons.includes('ScaledJobRolloutCleanupStarted: Deleting 2 jobs owned by the previous version of the scaledJob'), reasons.join('\n'));
      assert.ok(reasons.includes('ScaledJobRolloutCleanupCompleted: Deleted 2 jobs owned by the previous version of the scaledJob'), reasons.join('\n'));

      const grad = sjOf(p2, 'gradual');
      assert.deepEqual([grad.jobs!.deleted.length, grad.jobs!.created.length, grad.jobs!.running], [0, 0, 2], grad.reason);
      const kept = await jobsOf(h, ns, 'gradual');
      assert.deepEqual(kept.map((j) => j.metadata.name).sort(), before.gradual.map((j) => j.metadata.name).sort());
      assert.ok(kept.every((j) => !isFinished(j) && j.metadata.annotations['scaledjob.keda.sh/generation'] === '1'), 'the old Jobs keep running');
    } finally {
      await redis.del(...Object.values(lists));
    }
  });

  it('the autoscaling.keda.sh/paused annotation stops a ScaledJob: nothing measured or created until it is removed', async () => {
    const ns = await h.namespace('e2e-sj-paused');
    const list = `sj-${id}-paused`;
    try {
      await redis.rpush(list, 'a', 'b');
      await create(h, ns, scaledJob('worker', { jobTargetRef: jobTargetRef({ nodeSelector: NOWHERE }), pollingInterval: 1,
        triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list, listLength: '1' } }] }, { 'autoscaling.keda.sh/paused': 'true' }));
      const p1 = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(p1.code, 0, p1.stderr);
      const o1 = sjOf(p1, 'worker');
      assert.deepEqual([o1.paused, o1.triggers.length, o1.jobs?.created.length], [true, 0, 0], o1.reason);
      assert.equal((await jobsOf(h, ns, 'worker')).length, 0);
      const live = await h.admin.get<Parameters<typeof condition>[0]>(sjPath(ns, 'worker'));
      assert.equal(condition(live, 'Paused')?.status, 'True');
      assert.ok((await events(h, ns, 'worker')).some((e) => e.reason === 'ScaledJobPaused'));

      await h.admin.mergePatch(sjPath(ns, 'worker'), { metadata: { annotations: { 'autoscaling.keda.sh/paused': null } } });
      const p2 = await pass(h, { kubeconfig, namespaces: [ns] });
      const o2 = sjOf(p2, 'worker');
      assert.deepEqual([o2.paused, o2.jobs?.created.length], [false, 2], o2.reason);
      assert.equal(condition(await h.admin.get<Parameters<typeof condition>[0]>(sjPath(ns, 'worker')), 'Paused')?.status, 'False');
      assert.ok((await events(h, ns, 'worker')).some((e) => e.reason === 'ScaledJobUnpaused'));
    } finally {
      await redis.del(list);
    }
  });

  it('--dry-run shows the Jobs it would create and delete, and changes nothing', async () => {
    const ns = await h.namespace('e2e-sj-dry');
    const list = `sj-${id}-dry`;
    try {
      await create(h, ns, scaledJob('worker', { jobTargetRef: jobTargetRef(), pollingInterval: 1, maxReplicaCount: 3, successfulJobsHistoryLimit: 0,
        triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list, listLength: '1' } }] }));
      await redis.rpush(list, 'a', 'b', 'c', 'd');
      const real = await pass(h, { kubeconfig, namespaces: [ns] });
      assert.equal(sjOf(real, 'worker').jobs?.created.length, 3);
      const done = await podsRunning(h, ns, 'worker', 3);
      await finish(h, ns, done);
      const before = await h.admin.get<{ metadata: { resourceVersion: string } }>(sjPath(ns, 'worker'));
      const eventsBefore = await events(h, ns, 'worker');

      const dry = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--dry-run'] });
      assert.equal(dry.code, 0, dry.stderr);
      const o = sjOf(dry, 'worker');
      // 4 items, nothing running, max 3: 3 Jobs; the 3 finished ones are beyond successfulJobsHistoryLimit 0
      assert.deepEqual([o.jobs?.toCreate, o.jobs?.created.length], [3, 0], o.reason);
      assert.deepEqual(o.jobs?.toDelete.map((d) => d.name).sort(), done.map((j) => j.metadata.name).sort());
      assert.deepEqual(o.jobs?.deleted, []);
      assert.deepEqual((await jobsOf(h, ns, 'worker')).map((j) => j.metadata.name).sort(), done.map((j) => j.metadata.name).sort(), 'no Job created or deleted');
      assert.equal((await h.admin.get<{ metadata: { resourceVersion: string } }>(sjPath(ns, 'worker'))).metadata.resourceVersion, before.metadata.resourceVersion, 'status untouched');
      assert.equal((await events(h, ns, 'worker')).length, eventsBefore.length, 'no event');
      const table = await runTable(ns);
      assert.match(table, /^NAMESPACE\s+SCALEDJOB\s+TRIGGER\s+METRIC\s+VALUE\s+TARGET\s+ACTIVE\s+JOBS\s+WHY$/m);
      assert.match(table, /worker\s+0:redis\s+s0-redis-sj-\S+\s+4\s+1 Avg\s+true\s+0 running \(0 pending\) \+3 -3\s+.*would create 3 Jobs; would delete worker-\w{5} \(successful-history\)/);
    } finally {
      await redis.del(list);
    }
  });

  async function runTable(ns: string): Promise<string> {
    const { runScalepass } = await import('../helpers/run.ts');
    const r = await runScalepass(['--namespaces', ns, '--dry-run'], { KUBECONFIG: kubeconfig, OTEL_SDK_DISABLED: 'true' });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }

  it('sends its instruments to the collector with KEDA\'s ScaledJob attributes', async () => {
    const ns = await h.namespace('e2e-sj-otel');
    const list = `sj-${id}-otel`;
    const run = crypto.randomUUID();
    try {
      await redis.rpush(list, 'a', 'b', 'c');
      await create(h, ns, scaledJob('worker', { jobTargetRef: jobTargetRef({ nodeSelector: NOWHERE }), pollingInterval: 1,
        triggers: [{ type: 'redis', name: 'orders', metadata: { address: '127.0.0.1:6379', listName: list, listLength: '1' } }] }));
      await create(h, ns, scaledJob('wrong', { jobTargetRef: jobTargetRef({ nodeSelector: NOWHERE }), pollingInterval: 1,
        triggers: [{ type: 'redis', name: 'wrong-scaler', metadata: { address: `127.0.0.1:${await closedPort()}`, listName: list, listLength: '1' } }] }));
      const p = await pass(h, { kubeconfig, namespaces: [ns], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}`, SCALEPASS_EMIT_CURRENT_KEDA_NAMES: 'true' } });
      assert.equal(p.code, 1, p.stderr);
      const mine = (m: MetricPoint) => m.resource['scalepass.test.run'] === run;
      const pts = await h.waitForMetrics((ps) => ps.some((x) => x.name === 'keda.scaledjob.errors') && ps.some((x) => x.name === 'keda.scaler.metrics.value'), 15_000, mine);
      const keys = ['metric', 'namespace', 'scaledJob', 'scaler', 'triggerIndex'];
      for (const name of ['keda.scaler.metrics.value', 'keda.scaler.active', 'keda.scaler.metrics.latency', 'keda.scaler.metrics.latency.seconds']) {
        const ofWorker = pts.filter((x) => x.name === name && x.attrs.scaledJob === 'worker');
        assert.equal(ofWorker.length, 1, `${name}: ${JSON.stringify(pts.filter((x) => x.name === name).map((x) => x.attrs))}`);
        assert.deepEqual(Object.keys(ofWorker[0]!.attrs).sort(), keys, name);
        assert.deepEqual([ofWorker[0]!.attrs.namespace, ofWorker[0]!.attrs.scaler, ofWorker[0]!.attrs.triggerIndex, ofWorker[0]!.attrs.metric], [ns, 'orders', '0', `s0-redis-${list}`], name);
      }
      assert.equal(pts.find((x) => x.name === 'keda.scaler.metrics.value' && x.attrs.scaledJob === 'worker')!.value, 3);
      assert.equal(pts.find((x) => x.name === 'keda.scaler.active' && x.attrs.scaledJob === 'worker')!.value, 1);
      assert.ok(!pts.some((x) => 'scaledObject' in x.attrs), 'no ScaledObject keys on a ScaledJob\'s series');
      const errors = pts.filter((x) => x.name === 'keda.scaledjob.errors');
      assert.deepEqual(errors.map((x) => [x.attrs, x.value]), [[{ namespace: ns, scaledJob: 'wrong' }, 1]]);
      const scalerErrors = pts.filter((x) => x.name === 'keda.scaler.errors');
      assert.deepEqual(scalerErrors.map((x) => x.attrs), [{ namespace: ns, scaledJob: 'wrong', scaler: 'wrong-scaler', triggerIndex: '0', metric: `s0-redis-${list}` }]);
      for (const name of ['keda.internal.scale.loop.latency', 'keda.internal.scale.loop.latency.seconds']) {
        const loop = pts.filter((x) => x.name === name).map((x) => x.attrs).sort((a, b) => String(a.name).localeCompare(String(b.name)));
        assert.deepEqual(loop, [{ namespace: ns, type: 'scaledjob', name: 'worker' }, { namespace: ns, type: 'scaledjob', name: 'wrong' }], name);
      }
      for (const name of ['keda.resource.totals', 'keda.resource.registered.count']) {
        const totals = pts.filter((x) => x.name === name && x.attrs.namespace === ns);
        assert.deepEqual(totals.map((x) => [x.attrs.type, x.value]), [['scaled_job', 2]], name);
      }
      assert.ok(pts.some((x) => x.name === 'keda.trigger.totals' && x.attrs.type === 'redis'), 'ScaledJob triggers count in keda.trigger.totals');
    } finally {
      await redis.del(list);
    }
  });
});
