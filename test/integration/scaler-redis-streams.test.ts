// The redis-streams trigger against the Redis server on this machine (127.0.0.1:6379): what a stream
// reports in each of KEDA's three modes (stream length, a group's pending entries, a group's lag), when
// the trigger is active, where its parameters come from, and how failures read.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { closedAt, closedPort, configError, rejection, scalerFactory, runScript } from '../helpers/scalers.ts';

const ADDRESS = '127.0.0.1:6379';
const START = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';
const run = randomBytes(4).toString('hex');

let admin: Redis;
const keys: string[] = [];
const { scaler, read, open } = scalerFactory('redis-streams', { scaledObjectName: 'consumer', readTimeoutMs: 5000 });

before(async () => {
  admin = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  try {
    await admin.connect();
    await admin.ping();
  } catch (e) {
    assert.fail(`Redis is not reachable at ${ADDRESS} (${(e as Error).message}); start it with: ${START}`);
  }
});

after(async () => {
  await Promise.allSettled(open.map((s) => s.close()));
  if (admin.status === 'ready') {
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  } else {
    admin.disconnect();
  }
});

/** A stream name unique to this run, deleted afterwards. */
function streamName(name: string): string {
  const k = `scalepass-test-${run}-${name}`;
  keys.push(k);
  return k;
}

async function add(stream: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await admin.xadd(stream, '*', 'job', String(i));
}

/** One consumer of `group` takes `n` entries without acknowledging them: they are pending. */
async function take(stream: string, group: string, n: number): Promise<string[]> {
  const reply = (await admin.xreadgroup('GROUP', group, 'worker-1', 'COUNT', n, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
  return reply[0]![1].map(([id]) => id);
}

describe('redis-streams: stream length (no consumerGroup)', () => {
  it('reads 0 and is inactive for a stream that does not exist yet', async () => {
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream: streamName('absent') })), { value: 0, active: false });
  });

  it('reads 37 after 37 entries are added, active above activationLagCount 36 and not at 37', async () => {
    const stream = streamName('length');
    await add(stream, 37);
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream, activationLagCount: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream, activationLagCount: '37' })), { value: 37, active: false });
  });
});

describe('redis-streams: pending entries (consumerGroup, no lagCount)', () => {
  it('reads 0 and is inactive when the group has nothing pending', async () => {
    const stream = streamName('pending-empty');
    await admin.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream, consumerGroup: 'workers' })), { value: 0, active: false });
  });

  it('counts entries delivered but not acknowledged: 37 taken, then 27 after 10 acks', async () => {
    const stream = streamName('pending');
    await admin.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    await add(stream, 40);
    const ids = await take(stream, 'workers', 37);
    const s = scaler({ address: ADDRESS, stream, consumerGroup: 'workers', activationLagCount: '36' });
    assert.deepEqual(await read(s), { value: 37, active: true });
    await admin.xack(stream, 'workers', ...ids.slice(0, 10));
    assert.deepEqual(await read(s), { value: 27, active: false });
  });

  it('fails with NOGROUP when the group does not exist, as KEDA does', async () => {
    const stream = streamName('no-group');
    await add(stream, 1);
    const { message } = await rejection(read(scaler({ address: ADDRESS, stream, consumerGroup: 'nobody' })));
    assert.match(message, /^error getting pending entries from redis at 127\.0\.0\.1:6379: NOGROUP/);
  });
});

describe('redis-streams: consumer group lag (consumerGroup and lagCount)', () => {
  it('reads 0 and is inactive for a stream that does not exist yet', async () => {
    assert.deepEqual(await read(scaler({ address: ADDRESS, stream: streamName('lag-absent'), consumerGroup: 'workers', lagCount: '10' })), { value: 0, active: false });
  });

  it('reads the entries the group has not been given yet: 37, then 27 after a consumer takes 10', async () => {
    const stream = streamName('lag');
    await admin.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    await add(stream, 37);
    const s = scaler({ address: ADDRESS, stream, consumerGroup: 'workers', lagCount: '10', activationLagCount: '30' });
    assert.deepEqual(await read(s), { value: 37, active: true });
    await take(stream, 'workers', 10);
    assert.deepEqual(await read(s), { value: 27, active: false });
  });

  it('counts the whole stream while the consumers have not created their group yet', async () => {
    const stream = streamName('lag-no-group');
    await add(stream, 12);
    assert.equal((await read(scaler({ address: ADDRESS, stream, consumerGroup: 'not-yet', lagCount: '10' }))).value, 12);
  });
});

describe('redis-streams: metric spec', () => {
  it('names the metric s<index>-redis-streams-<stream>, normalised', () => {
    assert.equal(scaler({ address: ADDRESS, stream: 'orders' }).spec.metricName, 's0-redis-streams-orders');
    assert.equal(scaler({ address: ADDRESS, stream: 'orders:eu/v1.2' }).spec.metricName, 's0-redis-streams-orders-eu-v1-2');
  });

  it('targets streamLength, pendingEntriesCount or lagCount by mode (5, 5, lagCount), AverageValue by default', () => {
    const md = { address: ADDRESS, stream: 'orders', activationLagCount: '2' };
    assert.deepEqual(scaler(md).spec, { metricName: 's0-redis-streams-orders', metricType: 'AverageValue', target: 5, activationTarget: 2 });
    assert.equal(scaler({ ...md, streamLength: '50', pendingEntriesCount: '7' }).spec.target, 50);
    assert.equal(scaler({ ...md, consumerGroup: 'g' }).spec.target, 5);
    assert.equal(scaler({ ...md, consumerGroup: 'g', pendingEntriesCount: '7', streamLength: '50' }).spec.target, 7);
    assert.equal(scaler({ ...md, consumerGroup: 'g', lagCount: '20', pendingEntriesCount: '7' }).spec.target, 20);
    assert.equal(scaler(md, { metricType: 'Value' }).spec.metricType, 'Value');
  });
});

describe('redis-streams: configuration errors name the field', () => {
  it('stream missing', () => configError(() => scaler({ address: ADDRESS }), 'stream', /missing required parameter "stream"/));
  it('lagCount not an integer', () => configError(() => scaler({ address: ADDRESS, stream: 's', consumerGroup: 'g', lagCount: 'many' }), 'lagCount'));
  it('pendingEntriesCount not an integer', () => configError(() => scaler({ address: ADDRESS, stream: 's', pendingEntriesCount: '1.5' }), 'pendingEntriesCount'));
  it('no address, host or port anywhere', () => configError(() => scaler({ stream: 's' }), 'address', /no addresses or hosts given/));
  it('TLS switched on in both the trigger and the TriggerAuthentication', () =>
    configError(() => scaler({ address: ADDRESS, stream: 's', enableTLS: 'true' }, { authParams: { tls: 'enable' } }), 'tls'));
});

describe('redis-streams: where the connection parameters come from', () => {
  it('takes host and port from hostFromEnv and portFromEnv', async () => {
    const stream = streamName('env');
    await add(stream, 3);
    const s = scaler({ stream, hostFromEnv: 'REDIS_HOST', portFromEnv: 'REDIS_PORT' }, { resolvedEnv: { REDIS_HOST: '127.0.0.1', REDIS_PORT: '6379' } });
    assert.equal((await read(s)).value, 3);
  });

  it('takes portFromEnv before the TriggerAuthentication port (KEDA order: metadata, env, auth)', async () => {
    const stream = streamName('port-order');
    await add(stream, 4);
    const dead = String(await closedPort());
    const s = scaler({ stream, host: '127.0.0.1', portFromEnv: 'REDIS_PORT' }, { authParams: { port: dead }, resolvedEnv: { REDIS_PORT: '6379' } });
    assert.equal((await read(s)).value, 4);
  });
});

describe('redis-streams: failures', () => {
  it('rejects at once with "connection refused" when nothing listens on the port', async () => {
    const port = await closedPort();
    const { message, ms } = await rejection(read(scaler({ address: `127.0.0.1:${port}`, stream: 's' })));
    assert.match(message, new RegExp(`^connection to redis at 127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`));
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('gives up when the pass times out on a server that accepts connections but never answers', async () => {
    // not a Redis stand-in: a bare TCP listener that swallows everything, the way a hung server behaves
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => held.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const s = scaler({ address: `127.0.0.1:${port}`, stream: 's', consumerGroup: 'g', lagCount: '5' });
      const { message, ms } = await rejection(read(s, AbortSignal.timeout(300)));
      assert.match(message, new RegExp(`redis at 127\\.0\\.0\\.1:${port}.*: aborted \\(.*timeout.*\\)`));
      assert.ok(ms < 1500, `took ${ms} ms for a 300 ms timeout`);
      await s.close();
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe('with a password-protected ACL user', () => {
    const user = `scalepass-test-${run}`;
    const password = `right-${randomBytes(8).toString('hex')}`;
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;

    before(async () => {
      await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '+@all');
    });
    after(async () => {
      await admin.call('ACL', 'DELUSER', user);
    });

    it('reads the stream with the username and password of the TriggerAuthentication', async () => {
      const stream = streamName('acl');
      await add(stream, 5);
      assert.equal((await read(scaler({ address: ADDRESS, stream }, { authParams: { username: user, password } }))).value, 5);
    });

    it('rejects a wrong password with WRONGPASS, never showing the password', async () => {
      const { message } = await rejection(read(scaler({ address: ADDRESS, stream: 's' }, { authParams: { username: user, password: wrong } })));
      assert.match(message, /^connection to redis at 127\.0\.0\.1:6379 failed: WRONGPASS/);
      assert.ok(!message.includes(wrong), message);
      assert.ok(!message.includes(password), message);
    });
  });
});

describe('redis-streams: the process exits after the pass', () => {
  it('after a successful measurement in lag mode', async () => {
    const stream = streamName('child');
    await admin.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    await add(stream, 37);
    const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;
    const metadata = { address: ADDRESS, stream, consumerGroup: 'workers', lagCount: '10' };
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      const trigger = { type: 'redis-streams', metadata: ${JSON.stringify(metadata)} };
      const s = createScaler({ namespace: 'shop', scaledObjectName: 'consumer', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {} });
      try {
        console.log(JSON.stringify(await s.measure({ namespace: 'shop', scaledObjectName: 'consumer', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {}, now: 0, signal: AbortSignal.timeout(5000) })));
      } finally {
        await s.close();
      }
      console.log('closed at ' + Date.now());`;
    const { code, out, exitedAt } = await runScript(script);
    assert.equal(code, 0, `the process did not exit by itself: ${out}`);
    const lingerMs = exitedAt - closedAt(out);
    assert.ok(lingerMs < 1500, `the process stayed up ${lingerMs} ms after the scaler closed`);
    assert.match(out, /\{"value":37,"active":true\}/);
  });
});
