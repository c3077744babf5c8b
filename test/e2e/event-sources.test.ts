// Real event sources end to end: work arrives in Redis, PostgreSQL and RabbitMQ, a Deployment scales
// up over consecutive passes and back to zero after cooldown. Credentials live only in Secrets that a
// TriggerAuthentication references; they never show up in logs, events, status or metrics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import amqp from 'amqplib';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { ensureRabbitMqManagement } from '../harness/src/services.ts';
import { create, deployment, scaledObject, specReplicas, pass, getSO, events } from '../helpers/fixtures.ts';
import type { RunResult } from '../helpers/run.ts';
import { EXTERNAL_SCALER_DESCRIPTOR } from '../../src/scalers/external.ts';

const id = crypto.randomBytes(4).toString('hex');
const SECRETS = { redis: `redis-pw-${id}`, pg: `pg-pw-${id}`, rabbit: `rabbit-pw-${id}`, wrong: `wrong-pw-${id}` };

interface Source {
  type: string;
  /** Secret data (the TriggerAuthentication maps every key to the parameter of the same name) */
  secret: Record<string, string>;
  metadata: Record<string, string>;
  fill(n: number): Promise<void>;
  drain(): Promise<void>;
}

describe('event sources end to end', () => {
  let h: Harness;
  let kubeconfig: string;
  let redis: Redis;
  let pgc: pg.Client;
  let rabbit: amqp.ChannelModel;
  let mgmt: string;
  const outputs: RunResult[] = [];
  const namespaces: string[] = [];
  const user = `sp_${id}`;
  const queue = `scalepass-e2e-${id}`;
  const list = `scalepass:e2e:${id}`;
  const table = `jobs_${id}`;

  const mgmtApi = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${mgmt}${path}`, { method, headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
  };

  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    redis = new Redis(h.state.services.redis!);
    await redis.call('ACL', 'SETUSER', user, 'on', `>${SECRETS.redis}`, '~*', '+@all');
    pgc = new pg.Client({ connectionString: h.state.services.postgresql });
    await pgc.connect();
    await pgc.query(`CREATE ROLE ${user} LOGIN PASSWORD '${SECRETS.pg}'`);
    await pgc.query(`CREATE TABLE ${table} (id serial primary key, done boolean not null default false)`);
    await pgc.query(`GRANT SELECT ON ${table} TO ${user}`);
    mgmt = h.state.services['rabbitmq-management'] ?? (await ensureRabbitMqManagement(() => undefined));
    await mgmtApi('PUT', `/api/users/${user}`, { password: SECRETS.rabbit, tags: '' });
    await mgmtApi('PUT', `/api/permissions/%2F/${user}`, { configure: '.*', write: '.*', read: '.*' });
    rabbit = await amqp.connect(h.state.services.rabbitmq!);
    const ch = await rabbit.createChannel();
    await ch.assertQueue(queue, { durable: false });
    await ch.close();
  });

  after(async () => {
    await redis.call('ACL', 'DELUSER', user).catch(() => undefined);
    await h.admin.delete(`/apis/keda.sh/v1alpha1/clustertriggerauthentications/redis-${id}`).catch(() => undefined);
    await redis.del(list);
    redis.disconnect();
    await pgc.query(`DROP TABLE IF EXISTS ${table}`);
    await pgc.query(`DROP ROLE IF EXISTS ${user}`);
    await pgc.end();
    const ch = await rabbit.createChannel();
    await ch.deleteQueue(queue);
    await rabbit.close();
    await mgmtApi('DELETE', `/api/users/${user}`).catch(() => undefined);
  });

  const sources = (): Source[] => [
    {
      type: 'redis', secret: { username: user, password: SECRETS.redis },
      metadata: { address: '127.0.0.1:6379', listName: list, listLength: '10' },
      fill: async (n) => { await redis.rpush(list, ...Array.from({ length: n }, (_, i) => `job-${i}`)); },
      drain: async () => { await redis.del(list); },
    },
    {
      type: 'postgresql', secret: { connection: `postgresql://${user}:${SECRETS.pg}@127.0.0.1:5432/test?sslmode=disable` },
      metadata: { query: `SELECT count(*) FROM ${table} WHERE NOT done`, targetQueryValue: '10' },
      fill: async (n) => { await pgc.query(`INSERT INTO ${table} (done) SELECT false FROM generate_series(1, $1)`, [n]); },
      drain: async () => { await pgc.query(`UPDATE ${table} SET done = true`); },
    },
    {
      type: 'rabbitmq', secret: { host: `amqp://${user}:${SECRETS.rabbit}@127.0.0.1:5672/` },
      metadata: { protocol: 'amqp', queueName: queue, mode: 'QueueLength', value: '10' },
      fill: async (n) => {
        const ch = await rabbit.createConfirmChannel();
        for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`job-${i}`));
        await ch.waitForConfirms();
        await ch.close();
      },
      drain: async () => { const ch = await rabbit.createChannel(); await ch.purgeQueue(queue); await ch.close(); },
    },
  ];

  async function withAuth(ns: string, name: string, secret: Record<string, string>): Promise<void> {
    await h.admin.create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: secret });
    await create(h, ns, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name }, spec: {
      secretTargetRef: Object.keys(secret).map((k) => ({ parameter: k, name, key: k })) } } as never);
  }

  for (const idx of [0, 1, 2]) {
    it(`${['redis', 'postgresql', 'rabbitmq'][idx]}: scales 0 -> 1 -> 4 as 37 items arrive and back to 0 after cooldown, credentials only in a Secret`, async () => {
      const s = sources()[idx]!;
      const ns = await h.namespace(`e2e-${s.type}`);
      namespaces.push(ns);
      const run = crypto.randomUUID();
      await withAuth(ns, `${s.type}-auth`, s.secret);
      await create(h, ns, deployment('worker', 0));
      await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, cooldownPeriod: 1,
        triggers: [{ type: s.type, name: `${s.type}-work`, metadata: s.metadata, authenticationRef: { name: `${s.type}-auth` } }] }));
      const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
      const go = async () => {
        const p = await pass(h, { kubeconfig, namespaces: [ns], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
        outputs.push(p);
        assert.deepEqual(p.report.denied, [], 'RBAC denials');
        return p;
      };
      const empty = await go();
      assert.equal(empty.report.objects[0]!.triggers[0]!.value, 0, JSON.stringify(empty.report.objects[0]));
      assert.equal(await specReplicas(h, dep), 0);
      await s.fill(37);
      const p1 = await go();
      assert.equal(p1.code, 0, p1.stderr);
      assert.equal(p1.report.objects[0]!.triggers[0]!.value, 37);
      assert.equal(await specReplicas(h, dep), 1);
      await go();
      assert.equal(await specReplicas(h, dep), 4, 'ceil(37 / 10) = 4');
      await s.drain();
      // passes are more than 1 s apart: as KEDA, the first pass that finds the queue empty is past the 1 s cooldown
      const drained = await go();
      assert.equal(await specReplicas(h, dep), 0, drained.report.objects[0]!.reason);
      const last = await go();
      assert.equal(await specReplicas(h, dep), 0, last.report.objects[0]!.reason);

      const pts = await h.waitForMetrics((ps) => ps.filter((p) => p.name === 'keda.scaler.metrics.value').length >= 5, 15_000,
        (p) => p.resource['scalepass.test.run'] === run);
      const values = pts.filter((p) => p.name === 'keda.scaler.metrics.value').map((p) => p.value);
      assert.ok(values.includes(37) && values.at(-1) === 0, `values seen: ${values.join(',')}`);
      const v = pts.find((p) => p.name === 'keda.scaler.metrics.value')!;
      assert.deepEqual(v.attrs, { namespace: ns, scaledObject: 'worker', scaler: `${s.type}-work`, scalerIndex: '0', metric: p1.report.objects[0]!.triggers[0]!.metricName });
    });
  }

  it('a backend that keeps failing counts toward fallback: after failureThreshold passes the fallback replicas apply', async () => {
    const ns = await h.namespace('e2e-fallback');
    namespaces.push(ns);
    await withAuth(ns, 'redis-auth', { username: user, password: SECRETS.wrong });
    await create(h, ns, deployment('worker', 3));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, fallback: { failureThreshold: 2, replicas: 5 },
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list, listLength: '10' }, authenticationRef: { name: 'redis-auth' } }] }));
    const dep = `/apis/apps/v1/namespaces/${ns}/deployments/worker`;
    for (let i = 1; i <= 2; i++) {
      outputs.push(await pass(h, { kubeconfig, namespaces: [ns] }));
      assert.equal(await specReplicas(h, dep), 3, `failure ${i} of 2: replicas kept`);
    }
    outputs.push(await pass(h, { kubeconfig, namespaces: [ns] }));
    assert.equal(await specReplicas(h, dep), 5, 'failure 3 > failureThreshold 2: fallback replicas');
    const so = await getSO(h, ns, 'worker');
    assert.equal(so.status?.conditions?.find((c) => c.type === 'Fallback')?.status, 'True');
    const health = so.status?.health as Record<string, { numberOfFailures: number; status: string }>;
    assert.equal(Object.values(health)[0]!.status, 'Failing');
    assert.equal(Object.values(health)[0]!.numberOfFailures, 3);
  });

  it('an external scaler whose GetMetricSpec fails or never answers still falls back: Deployments at 2 go to fallback.replicas 5', async () => {
    // the user's external scaler: GetMetrics and IsActive would answer, but the metric spec never arrives,
    // so scalepass never learns the metric's target
    const pkg = grpc.loadPackageDefinition(fromJSON(EXTERNAL_SCALER_DESCRIPTOR as never, { keepCase: true, longs: Number, defaults: true })) as unknown as { externalscaler: { ExternalScaler: grpc.ServiceClientConstructor } };
    const server = new grpc.Server();
    const specCalls = { fails: 0, hangs: 0 };
    server.addService(pkg.externalscaler.ExternalScaler.service, {
      GetMetricSpec: (call: grpc.ServerUnaryCall<{ scalerMetadata: Record<string, string> }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (call.request.scalerMetadata.spec === 'hangs') { specCalls.hangs++; return; }
        specCalls.fails++;
        cb({ code: grpc.status.UNAVAILABLE, details: 'metric catalogue unreachable' });
      },
      GetMetrics: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { metricValues: [{ metricName: 'orders', metricValue: 1 }] }),
      IsActive: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { result: true }),
      StreamIsActive: (c: grpc.ServerWritableStream<unknown, unknown>) => c.end(),
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    try {
      const ns = await h.namespace('e2e-external-fallback');
      namespaces.push(ns);
      for (const mode of ['fails', 'hangs']) {
        await create(h, ns, deployment(mode, 2));
        await create(h, ns, scaledObject(mode, { scaleTargetRef: { name: mode }, pollingInterval: 1, fallback: { failureThreshold: 1, replicas: 5 },
          triggers: [{ type: 'external', metadata: { scalerAddress: `127.0.0.1:${port}`, spec: mode } }] }));
      }
      const run = async () => {
        const p = await pass(h, { kubeconfig, namespaces: [ns], extraArgs: ['--trigger-timeout-ms', '1000'] });
        outputs.push(p);
        return { p, fails: await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/fails`), hangs: await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/hangs`) };
      };
      const first = await run();
      assert.deepEqual({ fails: first.fails, hangs: first.hangs }, { fails: 2, hangs: 2 }, 'failure 1 of failureThreshold 1: replicas kept');
      const errors = Object.fromEntries(first.p.report.objects.map((o) => [o.name, o.triggers[0]!.error]));
      assert.match(errors.fails ?? '', /GetMetricSpec: UNAVAILABLE: metric catalogue unreachable/);
      assert.match(errors.hangs ?? '', /timed out after 1000 ms|GetMetricSpec: aborted/);
      // failure 2 > 1: the fallback stands in; without behavior the HPA's scale-up limit (max(2 x 2, 4)) applies as to any
      const second = await run();
      assert.deepEqual({ fails: second.fails, hangs: second.hangs }, { fails: 4, hangs: 4 }, `reasons: ${second.p.report.objects.map((o) => o.reason).join(' | ')}`);
      const third = await run();
      assert.deepEqual({ fails: third.fails, hangs: third.hangs }, { fails: 5, hangs: 5 }, `reasons: ${third.p.report.objects.map((o) => o.reason).join(' | ')}`);
      for (const o of third.p.report.objects) assert.match(o.reason ?? '', /fallback stands in for s0-external: fallback replicas 5, its target unknown/);
      for (const name of ['fails', 'hangs']) {
        const so = await getSO(h, ns, name);
        assert.equal(so.status?.conditions?.find((c) => c.type === 'Fallback')?.status, 'True', name);
        assert.deepEqual(so.status?.health, { 's0-external': { numberOfFailures: 3, status: 'Failing' } }, name);
      }
      assert.ok(specCalls.fails >= 3 && specCalls.hangs >= 3, `GetMetricSpec is asked on every pass: ${JSON.stringify(specCalls)}`);
    } finally {
      server.forceShutdown();
    }
  });

  it('a wrong password errors the trigger without scaling down, and no secret appears in logs, events, status or metrics', async () => {
    const ns = await h.namespace('e2e-secrets');
    namespaces.push(ns);
    const wrong = sources().map((s) => ({ ...s, secret: Object.fromEntries(Object.entries(s.secret).map(([k, v]) =>
      [k, v.replace(SECRETS.redis, SECRETS.wrong).replace(SECRETS.rabbit, SECRETS.wrong).replace(`${user}:${SECRETS.pg}`, `nobody_${id}:${SECRETS.wrong}`)])) }));
    for (const s of wrong) {
      await withAuth(ns, `${s.type}-auth`, s.secret);
      await create(h, ns, deployment(s.type, 3));
      await create(h, ns, scaledObject(s.type, { scaleTargetRef: { name: s.type }, pollingInterval: 1, cooldownPeriod: 0,
        triggers: [{ type: s.type, metadata: s.metadata, authenticationRef: { name: `${s.type}-auth` } }] }));
    }
    await create(h, ns, deployment('redis-2', 3));
    await create(h, ns, scaledObject('redis-2', { scaleTargetRef: { name: 'redis-2' }, pollingInterval: 1,
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list }, authenticationRef: { name: 'redis-auth' } }] }));
    // a missing Secret key and a missing TriggerAuthentication are errors on that object only
    await create(h, ns, deployment('no-auth', 2));
    await create(h, ns, scaledObject('no-auth', { scaleTargetRef: { name: 'no-auth' }, pollingInterval: 1,
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list }, authenticationRef: { name: 'does-not-exist' } }] }));
    // a Secret without the key the TriggerAuthentication names
    await h.admin.create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'partial' }, stringData: { username: user } });
    await create(h, ns, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'partial' },
      spec: { secretTargetRef: [{ parameter: 'password', name: 'partial', key: 'password' }] } } as never);
    await create(h, ns, deployment('missing-key', 2));
    await create(h, ns, scaledObject('missing-key', { scaleTargetRef: { name: 'missing-key' }, pollingInterval: 1,
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list }, authenticationRef: { name: 'partial' } }] }));
    // a ClusterTriggerAuthentication reads its Secret from the run's own namespace
    const ctaName = `redis-${id}`;
    await h.admin.create('/api/v1/namespaces/scalepass-system/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: ctaName }, stringData: { username: user, password: SECRETS.redis } });
    await h.admin.create('/apis/keda.sh/v1alpha1/clustertriggerauthentications', { apiVersion: 'keda.sh/v1alpha1', kind: 'ClusterTriggerAuthentication', metadata: { name: ctaName },
      spec: { secretTargetRef: [{ parameter: 'username', name: ctaName, key: 'username' }, { parameter: 'password', name: ctaName, key: 'password' }] } });
    await create(h, ns, deployment('cluster-auth', 0));
    await create(h, ns, scaledObject('cluster-auth', { scaleTargetRef: { name: 'cluster-auth' }, pollingInterval: 1,
      triggers: [{ type: 'redis', metadata: { address: '127.0.0.1:6379', listName: list }, authenticationRef: { name: ctaName, kind: 'ClusterTriggerAuthentication' } }] }));
    const p = await pass(h, { kubeconfig, namespaces: [ns], env: { POD_NAMESPACE: 'scalepass-system' } });
    outputs.push(p);
    assert.equal(p.code, 1);
    // each TriggerAuthentication and Secret is read once per pass, however many objects reference it:
    // 6 authentications + 5 Secrets ('redis-auth' is used by two objects); the 7 Deployments' replica
    // counts come from one LIST
    assert.equal(p.report.requests.get, 6 + 5, `GETs: ${JSON.stringify(p.report.requests)}`);
    for (const s of wrong) {
      const o = p.report.objects.find((x) => x.name === s.type)!;
      assert.ok(o.triggers[0]!.error, `${s.type} should fail with a wrong password: ${JSON.stringify(o)}`);
      assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/${s.type}`), 3, `${s.type}: an error never scales down`);
    }
    const missingKey = p.report.objects.find((x) => x.name === 'missing-key')!;
    assert.match(missingKey.triggers[0]!.error ?? '', /key "password" not found in Secret/);
    const cluster = p.report.objects.find((x) => x.name === 'cluster-auth')!;
    assert.equal(cluster.outcome, 'evaluated', `ClusterTriggerAuthentication: ${cluster.detail}`);
    const noAuth = p.report.objects.find((x) => x.name === 'no-auth')!;
    assert.match(noAuth.triggers[0]!.error ?? '', /TriggerAuthentication .*does-not-exist not found/);
    assert.equal((await getSO(h, ns, 'no-auth')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');

    // every place a user or a backend could see: the runs' output, events, status, metrics
    const seen: string[] = outputs.flatMap((o) => [o.stdout, o.stderr]);
    for (const n of namespaces) {
      seen.push(JSON.stringify(await h.admin.list(`/apis/events.k8s.io/v1/namespaces/${n}/events`)));
      seen.push(JSON.stringify(await h.admin.list(`/apis/keda.sh/v1alpha1/namespaces/${n}/scaledobjects`)));
    }
    // the collector writes its file after it has answered the pass's export: wait until this pass's points are in it
    await h.waitForMetrics((ps) => ps.length > 0, 15_000, (x) => x.attrs.namespace === ns);
    seen.push(fs.readFileSync(h.state.metricsFile, 'utf8'));
    const all = seen.join('\n');
    assert.ok(all.length > 10_000, 'there is output to search');
    for (const [what, secret] of Object.entries(SECRETS)) assert.ok(!all.includes(secret), `the ${what} secret leaked`);
    assert.ok((await events(h, ns, 'redis')).some((e) => e.reason === 'KEDAScalerFailed'));
  });
});
