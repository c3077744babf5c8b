// The rabbitmq trigger against the machine's real RabbitMQ: queue lengths over AMQP (passive declare)
// and over the HTTP management API, publish rates, regex-matched queues, virtual hosts, and how
// failures read (wrong password, closed port, unresponsive peer), credentials never shown.
//
// Messages are published on confirm channels and each fill waits for the broker's acks: the scaler reads
// over a connection of its own, and an unconfirmed publish may still be in flight when it asks. The
// management API refreshes queue statistics every collect_statistics_interval (5 s), so the HTTP cases
// prepare all their queues up front and wait once until the API reports what was published.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { harness } from '../helpers/harness.ts';
import { closedPort, scalerFactory } from '../helpers/scalers.ts';
import { ensureRabbitMqManagement } from '../harness/src/services.ts';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';
import type { MetricType } from '../../src/scaling/types.ts';

const run = randomBytes(3).toString('hex');
const q = (name: string): string => `scalepass-${run}-${name}`;
const SECRET = `wr0ng-s3cret-${run}`;

let amqpUrl = '';
let mgmt = '';
let conn: ChannelModel;
let ch: ConfirmChannel;
const queues: string[] = [];
const vhosts: string[] = [];
const factory = scalerFactory('rabbitmq', { scaledObjectName: 'orders-worker', now: () => Date.now() });
const { read, open } = factory;
const silent: net.Server[] = [];

function scaler(
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
  extra: { metricType?: MetricType; resolvedEnv?: Record<string, string>; scaledObjectName?: string } = {},
): Scaler {
  return factory.scaler(metadata, { authParams, ...extra });
}

async function failure(s: Scaler, signal?: AbortSignal): Promise<string> {
  let message = '';
  await assert.rejects(read(s, signal), (e: Error) => {
    message = e.message;
    return true;
  });
  assert.ok(!message.includes(SECRET), `the error shows the password: ${message}`);
  return message;
}

function configError(metadata: Record<string, string>, field: string, authParams: Record<string, string> = {}): ScalerConfigError {
  let err: ScalerConfigError | undefined;
  assert.throws(() => scaler(metadata, authParams), (e: unknown) => {
    assert.ok(e instanceof ScalerConfigError, `expected a ScalerConfigError, got ${String(e)}`);
    assert.equal(e.field, field, e.message);
    err = e;
    return true;
  });
  return err!;
}

const guest = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const r = await fetch(`${mgmt}${path}`, {
    method, headers: { ...guest, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status >= 300 && !(method === 'DELETE' && r.status === 404)) {
    throw new Error(`management API ${method} ${path}: ${r.status} ${await r.text()}`);
  }
  return r;
}

async function queueStats(vhost: string, name: string): Promise<{ messages?: number; messages_ready?: number; message_stats?: { publish_details?: { rate: number } } }> {
  return (await (await api('GET', `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`)).json()) as never;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not reached within ${timeoutMs} ms (last seen ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

/** Declares the queue and publishes n messages, returning once the broker has acknowledged every one. */
async function fill(name: string, n: number): Promise<void> {
  await ch.assertQueue(name, { durable: false });
  queues.push(name);
  for (let i = 0; i < n; i++) ch.sendToQueue(name, Buffer.from(`m${i}`));
  await ch.waitForConfirms();
}

/**
 * A peer that accepts connections and never answers: no real RabbitMQ can be made to hang on demand,
 * so this stands in for a broker or network that stopped responding.
 */
async function unresponsivePort(): Promise<number> {
  const sockets: net.Socket[] = [];
  const s = net.createServer((sock) => sockets.push(sock));
  s.on('close', () => sockets.forEach((x) => x.destroy()));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  silent.push(s);
  (s as net.Server & { sockets?: net.Socket[] }).sockets = sockets;
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  const h = await harness();
  amqpUrl = h.state.services.rabbitmq ?? 'amqp://guest:guest@127.0.0.1:5672/';
  // a harness started before it learnt to enable the management plugin has it off: make sure
  mgmt = await ensureRabbitMqManagement((s) => process.stderr.write(`${s}\n`));
  conn = await amqp.connect(amqpUrl);
  ch = await conn.createConfirmChannel();
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const s of silent) {
    for (const sock of (s as net.Server & { sockets?: net.Socket[] }).sockets ?? []) sock.destroy();
    await new Promise((r) => s.close(r));
  }
  if (ch) for (const name of queues) await ch.deleteQueue(name).catch(() => {});
  await conn?.close().catch(() => {});
  for (const v of vhosts) await api('DELETE', `/api/vhosts/${encodeURIComponent(v)}`).catch(() => {});
});

describe('rabbitmq over AMQP', () => {
  it('reads 0 from an empty queue and is inactive', async () => {
    await fill(q('amqp-empty'), 0);
    assert.deepEqual(await read(scaler({ queueName: q('amqp-empty'), host: amqpUrl })), { value: 0, active: false });
  });

  it('reads 37 after 37 messages are published; active above activationValue 36, inactive at 37', async () => {
    await fill(q('amqp-37'), 37);
    assert.deepEqual(await read(scaler({ queueName: q('amqp-37'), host: amqpUrl, mode: 'QueueLength', value: '10', activationValue: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ queueName: q('amqp-37'), host: amqpUrl, mode: 'QueueLength', value: '10', activationValue: '37' })), { value: 37, active: false });
  });

  it('counts ready messages only: 10 published, 4 delivered and unacknowledged -> 6, as KEDA reads the declare reply', async () => {
    const c2 = await amqp.connect(amqpUrl);
    try {
      const ch2 = await c2.createChannel();
      await fill(q('amqp-unacked'), 10);
      for (let i = 0; i < 4; i++) assert.ok(await ch2.get(q('amqp-unacked'), { noAck: false }));
      assert.equal((await read(scaler({ queueName: q('amqp-unacked'), host: amqpUrl }))).value, 6);
    } finally {
      await c2.close();
    }
  });

  it('takes username and password from the TriggerAuthentication over those in host', async () => {
    await fill(q('amqp-auth'), 3);
    const s = scaler({ queueName: q('amqp-auth'), host: `amqp://guest:${SECRET}@127.0.0.1:5672/` }, { username: 'guest', password: 'guest' });
    assert.equal((await read(s)).value, 3);
  });

  it('reads host from the container env named by hostFromEnv', async () => {
    await fill(q('amqp-env'), 2);
    const s = scaler({ queueName: q('amqp-env'), hostFromEnv: 'RABBIT_URL' }, {}, { resolvedEnv: { RABBIT_URL: amqpUrl } });
    assert.equal((await read(s)).value, 2);
  });

  it('reads a queue in the virtual host named by vhostName, overriding the one in host', async () => {
    const vhost = `scalepass-${run}-amqp`;
    await api('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`);
    vhosts.push(vhost);
    await api('PUT', `/api/permissions/${encodeURIComponent(vhost)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    const c2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`);
    try {
      const ch2 = await c2.createConfirmChannel();
      await ch2.assertQueue('jobs', { durable: false });
      for (let i = 0; i < 5; i++) ch2.sendToQueue('jobs', Buffer.from('x'));
      await ch2.waitForConfirms();
      assert.equal((await read(scaler({ queueName: 'jobs', host: amqpUrl, vhostName: vhost }))).value, 5);
    } finally {
      await c2.close();
    }
  });

  it('names its connection keda-<namespace>-<scaledObject> as KEDA does, and close() ends it', async () => {
    await fill(q('amqp-named'), 1);
    const s = scaler({ queueName: q('amqp-named'), host: amqpUrl }, {}, { scaledObjectName: `worker-${run}` });
    await read(s);
    const named = async () =>
      ((await (await api('GET', '/api/connections')).json()) as Array<{ client_properties?: { connection_name?: string } }>)
        .filter((c) => c.client_properties?.connection_name === `keda-shop-worker-${run}`).length;
    await until('the broker lists the connection', named, (n) => n === 1);
    await s.close();
    await until('the broker no longer lists the connection', named, (n) => n === 0);
  });

  it('fails for a queue that does not exist, naming it', async () => {
    const m = await failure(scaler({ queueName: q('absent'), host: amqpUrl }));
    assert.match(m, /^error inspecting RabbitMQ: .*404 \(NOT-FOUND\).*no queue 'scalepass-\w+-absent'/);
  });

  it('refuses a wrong password for guest, without showing it', async () => {
    const m = await failure(scaler({ queueName: q('amqp-37'), host: `amqp://guest:${SECRET}@127.0.0.1:5672/` }));
    assert.match(m, /^error inspecting RabbitMQ: .*ACCESS.REFUSED/);
    const m2 = await failure(scaler({ queueName: q('amqp-37'), host: 'amqp://127.0.0.1:5672/' }, { username: 'guest', password: SECRET }));
    assert.match(m2, /ACCESS.REFUSED/);
  });

  it('fails at once when nothing listens on the port', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    const m = await failure(scaler({ queueName: 'q', host: `amqp://guest:${SECRET}@127.0.0.1:${port}/` }));
    assert.match(m, new RegExp(`^error inspecting RabbitMQ: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it('gives up on a peer that never answers when the pass aborts the measurement, and closes without hanging', async () => {
    const port = await unresponsivePort();
    const s = scaler({ queueName: 'q', host: `amqp://guest:${SECRET}@127.0.0.1:${port}/` });
    const t0 = Date.now();
    const m = await failure(s, AbortSignal.timeout(300));
    assert.match(m, /aborted/);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await s.close();
    assert.ok(Date.now() - t1 < 2000, `close took ${Date.now() - t1} ms`);
  });
});

describe('rabbitmq over the HTTP management API', () => {
  const vhost = `scalepass-${run}-http`;
  let vch: ConfirmChannel;
  let vconn: ChannelModel;
  let consumerConn: ChannelModel;

  after(async () => {
    await vch?.deleteQueue('jobs').catch(() => {});
    await vconn?.close().catch(() => {});
    await consumerConn?.close().catch(() => {});
  });

  before(async () => {
    // everything the cases read, published at once, then one wait for the statistics to catch up
    await fill(q('http-empty'), 0);
    await fill(q('http-37'), 37);
    await fill(q('http-unacked'), 10);
    await fill(q('rx-a'), 3);
    await fill(q('rx-b'), 4);
    await fill(q('rx-c'), 9);
    await fill(q('http with space'), 2);
    await api('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`);
    vhosts.push(vhost);
    await api('PUT', `/api/permissions/${encodeURIComponent(vhost)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    consumerConn = await amqp.connect(amqpUrl);
    const consumer = await consumerConn.createChannel();
    vconn = await amqp.connect(`amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`);
    vch = await vconn.createConfirmChannel();
    await vch.assertQueue('jobs', { durable: false });
    for (let i = 0; i < 6; i++) vch.sendToQueue('jobs', Buffer.from('x'));
    await vch.waitForConfirms();
    for (let i = 0; i < 4; i++) assert.ok(await consumer.get(q('http-unacked'), { noAck: false }));
    const expect: Array<[string, string, number, number]> = [
      ['/', q('http-37'), 37, 37], ['/', q('http-unacked'), 10, 6], ['/', q('rx-c'), 9, 9], ['/', q('rx-a'), 3, 3], ['/', q('rx-b'), 4, 4], [vhost, 'jobs', 6, 6], ['/', q('http with space'), 2, 2],
    ];
    for (const [v, name, messages, ready] of expect) {
      await until(`the management API reports ${name}`, () => queueStats(v, name), (s) => s.messages === messages && s.messages_ready === ready, 30_000);
    }
  });

  it('reads 0 from an empty queue and is inactive', async () => {
    assert.deepEqual(await read(scaler({ queueName: q('http-empty'), host: mgmt }, { username: 'guest', password: 'guest' })), { value: 0, active: false });
  });

  it('reads 37 from a queue holding 37; active above activationValue 36, inactive at 37', async () => {
    const host = mgmt.replace('http://', 'http://guest:guest@');
    assert.deepEqual(await read(scaler({ queueName: q('http-37'), host, activationValue: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ queueName: q('http-37'), host, activationValue: '37' })), { value: 37, active: false });
  });

  it('counts unacknowledged messages too, unless excludeUnacknowledged: 10 published, 4 unacked -> 10 and 6', async () => {
    const host = `${mgmt.replace('http://', 'http://guest:guest@')}/`;
    assert.equal((await read(scaler({ queueName: q('http-unacked'), host }))).value, 10);
    assert.equal((await read(scaler({ queueName: q('http-unacked'), host, excludeUnacknowledged: 'true' }))).value, 6);
  });

  it('combines the queues a regex matches: 3, 4 and 9 messages -> sum 16, avg 5 (whole messages, as KEDA), max 9', async () => {
    const md = { queueName: `^scalepass-${run}-rx-.*$`, host: mgmt, useRegex: 'true' };
    const auth = { username: 'guest', password: 'guest' };
    assert.equal((await read(scaler(md, auth))).value, 16);
    assert.equal((await read(scaler({ ...md, operation: 'sum' }, auth))).value, 16);
    assert.equal((await read(scaler({ ...md, operation: 'avg' }, auth))).value, 5);
    assert.equal((await read(scaler({ ...md, operation: 'max' }, auth))).value, 9);
  });

  it('reads a queue whose name has a space (sent as %20 in the path)', async () => {
    assert.equal((await read(scaler({ queueName: q('http with space'), host: mgmt }, { username: 'guest', password: 'guest' }))).value, 2);
  });

  it('reads 0 when the regex matches no queue', async () => {
    assert.deepEqual(await read(scaler({ queueName: `^scalepass-${run}-none-.*$`, host: mgmt, useRegex: 'true' }, { username: 'guest', password: 'guest' })), { value: 0, active: false });
  });

  it('fails when the regex matches more queues than pageSize', async () => {
    const m = await failure(scaler({ queueName: `^scalepass-${run}-rx-.*$`, host: mgmt, useRegex: 'true', pageSize: '2' }, { username: 'guest', password: 'guest' }));
    assert.match(m, /regex matches more queues than can be recovered at once/);
  });

  it('reads the virtual host from the last path segment of host, or from vhostName', async () => {
    const base = mgmt.replace('http://', 'http://guest:guest@');
    assert.equal((await read(scaler({ queueName: 'jobs', host: `${base}/${encodeURIComponent(vhost)}` }))).value, 6);
    assert.equal((await read(scaler({ queueName: 'jobs', host: `${base}/%2F`, vhostName: vhost }))).value, 6);
  });

  it('MessageRate: reads the publish rate the management API reports, active while publishing', async () => {
    const name = q('http-rate');
    await fill(name, 0);
    // two messages every 100 ms until the API has two samples to make a rate from
    const timer = setInterval(() => {
      for (let i = 0; i < 2; i++) ch.sendToQueue(name, Buffer.from('x'));
    }, 100);
    try {
      const stats = await until('a publish rate', () => queueStats('/', name), (s) => (s.message_stats?.publish_details?.rate ?? 0) > 0, 30_000);
      const s = scaler({ queueName: name, host: mgmt, mode: 'MessageRate', value: '5', activationValue: '1' }, { username: 'guest', password: 'guest' });
      const r = await read(s);
      const after = await queueStats('/', name);
      const seen = [stats.message_stats!.publish_details!.rate, after.message_stats!.publish_details!.rate];
      // the API recomputes the rate every 5 s, so the scaler read what it said just before or just after
      assert.ok(seen.some((rate) => Math.abs(rate - r.value) < 1e-9), `read ${r.value}, the API said ${seen.join(' then ')}`);
      assert.equal(r.active, true);
      assert.equal(s.spec.target, 5);
    } finally {
      clearInterval(timer);
    }
  });

  it('MessageRate: a queue with no publishing has rate 0 and is active only while it holds more than activationValue', async () => {
    const auth = { username: 'guest', password: 'guest' };
    assert.deepEqual(await read(scaler({ queueName: q('http-37'), host: mgmt, mode: 'MessageRate', value: '5', activationValue: '36' }, auth)), { value: 0, active: true });
    assert.deepEqual(await read(scaler({ queueName: q('http-37'), host: mgmt, mode: 'MessageRate', value: '5', activationValue: '37' }, auth)), { value: 0, active: false });
  });

  it('with nothing published or consumed: DeliverGetRate 0 inactive, PublishedToDeliveredRatio 0 inactive, ExpectedQueueConsumptionTime = activationValue and active', async () => {
    const md = { queueName: q('http-37'), host: mgmt, value: '5', activationValue: '3' };
    const auth = { username: 'guest', password: 'guest' };
    assert.deepEqual(await read(scaler({ ...md, mode: 'DeliverGetRate' }, auth)), { value: 0, active: false });
    assert.deepEqual(await read(scaler({ ...md, mode: 'PublishedToDeliveredRatio' }, auth)), { value: 0, active: false });
    // KEDA: nobody consuming means the queue will never drain, so it activates
    assert.deepEqual(await read(scaler({ ...md, mode: 'ExpectedQueueConsumptionTime' }, auth)), { value: 3, active: true });
  });

  it('fails for a queue that does not exist with the API status, host and path', async () => {
    const m = await failure(scaler({ queueName: q('absent'), host: mgmt }, { username: 'guest', password: 'guest' }));
    assert.match(m, /^error inspecting RabbitMQ: error requesting RabbitMQ API status: 404, .*from: http:\/\/127\.0\.0\.1:15672\/api\/queues\/%2F\/scalepass-\w+-absent$/);
  });

  it('refuses a wrong password for guest (401), without showing it', async () => {
    const m = await failure(scaler({ queueName: q('http-37'), host: mgmt.replace('http://', `http://guest:${SECRET}@`) }));
    assert.match(m, /status: 401/);
    const m2 = await failure(scaler({ queueName: q('http-37'), host: mgmt }, { username: 'guest', password: SECRET }));
    assert.match(m2, /status: 401/);
  });

  it('fails at once when nothing listens on the port', async () => {
    const port = await closedPort();
    const m = await failure(scaler({ queueName: 'q', host: `http://guest:${SECRET}@127.0.0.1:${port}` }));
    assert.match(m, new RegExp(`^error inspecting RabbitMQ: GET http://127\\.0\\.0\\.1:${port}/api/queues/%2F/q: .*ECONNREFUSED`));
  });

  it('fails after the trigger timeout when the server never answers', async () => {
    const port = await unresponsivePort();
    const t0 = Date.now();
    const m = await failure(scaler({ queueName: 'q', host: `http://127.0.0.1:${port}`, timeout: '300' }, { username: 'guest', password: SECRET }));
    assert.match(m, /no response within 300 ms/);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });
});

describe('rabbitmq metadata', () => {
  const amqpHost = 'amqp://guest:guest@127.0.0.1:5672/';
  const httpHost = 'http://guest:guest@127.0.0.1:15672/';

  it('names the metric s0-rabbitmq-<queue> as KEDA, query-escaped then normalised', () => {
    assert.equal(scaler({ queueName: 'orders', host: amqpHost }).spec.metricName, 's0-rabbitmq-orders');
    assert.equal(scaler({ queueName: 'orders.v1', host: amqpHost }).spec.metricName, 's0-rabbitmq-orders-v1');
    assert.equal(scaler({ queueName: 'my queue/1', host: amqpHost }).spec.metricName, 's0-rabbitmq-my+queue-2F1');
  });

  it('defaults to QueueLength with target 20; the deprecated queueLength sets the target; metricType is carried', () => {
    assert.deepEqual(scaler({ queueName: 'orders', host: amqpHost }).spec, { metricName: 's0-rabbitmq-orders', metricType: 'AverageValue', target: 20, activationTarget: 0 });
    assert.equal(scaler({ queueName: 'orders', host: amqpHost, queueLength: '7' }).spec.target, 7);
    assert.equal(scaler({ queueName: 'orders', host: amqpHost, mode: 'QueueLength', value: '2.5', activationValue: '1' }, {}, { metricType: 'Value' }).spec.metricType, 'Value');
  });

  const bad: Array<[string, Record<string, string>, string, Record<string, string>?]> = [
    ['no queueName', { host: amqpHost }, 'queueName'],
    ['no host anywhere', { queueName: 'q' }, 'host'],
    ['a host scheme that picks no protocol', { queueName: 'q', host: `redis://guest:${SECRET}@127.0.0.1:6379` }, 'host'],
    ['an unknown protocol', { queueName: 'q', host: amqpHost, protocol: 'stomp' }, 'protocol'],
    ['mode without value', { queueName: 'q', host: httpHost, mode: 'QueueLength' }, 'value'],
    ['value without mode', { queueName: 'q', host: httpHost, value: '5' }, 'mode'],
    ['an unknown mode', { queueName: 'q', host: httpHost, mode: 'Backlog', value: '5' }, 'mode'],
    ['queueLength together with mode', { queueName: 'q', host: httpHost, queueLength: '5', mode: 'QueueLength' }, 'queueLength'],
    ['MessageRate over AMQP', { queueName: 'q', host: amqpHost, mode: 'MessageRate', value: '5' }, 'mode'],
    ['useRegex over AMQP', { queueName: 'q.*', host: amqpHost, useRegex: 'true' }, 'useRegex'],
    ['excludeUnacknowledged over AMQP', { queueName: 'q', host: amqpHost, excludeUnacknowledged: 'true' }, 'excludeUnacknowledged'],
    ['a timeout over AMQP', { queueName: 'q', host: amqpHost, timeout: '500' }, 'timeout'],
    ['a timeout that is no duration', { queueName: 'q', host: httpHost, timeout: 'soon' }, 'timeout'],
    ['pageSize 0', { queueName: 'q', host: httpHost, useRegex: 'true', pageSize: '0' }, 'pageSize'],
    ['operation min', { queueName: 'q', host: httpHost, useRegex: 'true', operation: 'min' }, 'operation'],
    ['a value that is not a number', { queueName: 'q', host: httpHost, mode: 'QueueLength', value: 'many' }, 'value'],
    ['username without password', { queueName: 'q', host: httpHost }, 'password', { username: 'guest' }],
    ['tls neither enable nor disable', { queueName: 'q', host: httpHost }, 'tls', { tls: 'yes' }],
    ['cert without key', { queueName: 'q', host: httpHost }, 'key', { tls: 'enable', cert: 'x' }],
    // OAuth2 itself works (scaler-rabbitmq-oauth.test.ts); KEDA's rules for it:
    ['OAuth2 over AMQP', { queueName: 'q', host: amqpHost }, 'oauthTokenURI', { oauthTokenURI: 'https://idp/token', clientID: 'c', clientSecret: SECRET }],
    ['OAuth2 without clientSecret', { queueName: 'q', host: httpHost }, 'clientSecret', { oauthTokenURI: 'https://idp/token', clientID: 'c' }],
    ['OAuth2 with username and password', { queueName: 'q', host: httpHost }, 'username', { oauthTokenURI: 'https://idp/token', clientID: 'c', clientSecret: SECRET, username: 'u', password: SECRET }],
  ];
  for (const [what, md, field, auth] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      const e = configError(md, field, auth);
      assert.ok(!e.message.includes(SECRET), e.message);
    });
  }
});
