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
import { create, pass, events, condition, type PassJson } from '../helpers/fixtures.ts';
import { finish, isFinished, jobTargetRef, jobsOf, podsRunning, scaledJob, sjPath } from '../helpers/scaledjobs.ts';

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
});
