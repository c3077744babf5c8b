// The redis trigger against the Redis server on this machine (127.0.0.1:6379): the length a user's list,
// set or hash reports, when the trigger is active, how its parameters are found (metadata, env, auth),
// and how failures read: the server named, the password never.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { closedAt, closedPort, configError, rejection, scalerFactory, runScript } from '../helpers/scalers.ts';
import { ClientRegistry } from '../../src/scalers/clients.ts';

const ADDRESS = '127.0.0.1:6379';
const START = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';
const run = randomBytes(4).toString('hex');
const key = (name: string) => `scalepass-test-${run}-${name}`;

let admin: Redis;
const keys: string[] = [];
const { scaler, read, open } = scalerFactory('redis', { readTimeoutMs: 5000 });

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
    if (keys.length) {
      await admin.del(...keys);
      // databaseIndex test
      await admin.select(3);
      await admin.del(...keys);
    }
    await admin.quit();
  } else {
    admin.disconnect();
  }
});

async function pushed(name: string, n: number): Promise<string> {
  const k = key(name);
  keys.push(k);
  await admin.del(k);
  if (n > 0) await admin.rpush(k, ...Array.from({ length: n }, (_, i) => `job-${i}`));
  return k;
}

describe('redis: list length and activity', () => {
  it('reads 0 and is inactive when the list does not exist', async () => {
    assert.deepEqual(await read(scaler({ address: ADDRESS, listName: key('never-created') })), { value: 0, active: false });
  });

  it('reads 37 after 37 jobs are pushed', async () => {
    const list = await pushed('jobs', 37);
    assert.deepEqual(await read(scaler({ address: ADDRESS, listName: list })), { value: 37, active: true });
  });

  it('is active only when the length is strictly greater than activationListLength (36 active, 37 not)', async () => {
    const list = await pushed('threshold', 37);
    assert.deepEqual(await read(scaler({ address: ADDRESS, listName: list, activationListLength: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ address: ADDRESS, listName: list, activationListLength: '37' })), { value: 37, active: false });
  });

  it('follows the list as it drains: 37, then 12 after 25 pops, then 0', async () => {
    const list = await pushed('drain', 37);
    const s = scaler({ address: ADDRESS, listName: list });
    assert.equal((await read(s)).value, 37);
    await admin.lpop(list, 25);
    assert.equal((await read(s)).value, 12);
    await admin.del(list);
    assert.deepEqual(await read(s), { value: 0, active: false });
  });

  it('measures a set, a sorted set and a hash by their size, as KEDA does', async () => {
    const set = key('set');
    const zset = key('zset');
    const hash = key('hash');
    keys.push(set, zset, hash);
    await admin.sadd(set, 'a', 'b', 'c');
    await admin.zadd(zset, 1, 'a', 2, 'b');
    await admin.hset(hash, { a: '1', b: '2', c: '3', d: '4' });
    assert.equal((await read(scaler({ address: ADDRESS, listName: set }))).value, 3);
    assert.equal((await read(scaler({ address: ADDRESS, listName: zset }))).value, 2);
    assert.equal((await read(scaler({ address: ADDRESS, listName: hash }))).value, 4);
  });

  it('fails with "unsupported key type" when listName holds a string', async () => {
    const k = key('string');
    keys.push(k);
    await admin.set(k, 'not a list');
    const { message } = await rejection(read(scaler({ address: ADDRESS, listName: k })));
    assert.match(message, /^error getting list length from redis at 127\.0\.0\.1:6379: .*unsupported key type "string"/);
  });

  it('reads the list in the database databaseIndex selects', async () => {
    const k = key('in-db-3');
    keys.push(k);
    await admin.select(3);
    await admin.rpush(k, 'a', 'b', 'c', 'd', 'e');
    await admin.select(0);
    assert.equal((await read(scaler({ address: ADDRESS, listName: k, databaseIndex: '3' }))).value, 5);
    assert.equal((await read(scaler({ address: ADDRESS, listName: k }))).value, 0);
  });
});

describe('redis: metric spec', () => {
  it('names the metric s<index>-redis-<listName> with / . : normalised, as KEDA does', () => {
    assert.equal(scaler({ address: ADDRESS, listName: 'mylist' }).spec.metricName, 's0-redis-mylist');
    assert.equal(scaler({ address: ADDRESS, listName: 'jobs:high/eu.west' }, { triggerIndex: 2 }).spec.metricName, 's2-redis-jobs-high-eu-west');
  });

  it('targets listLength (5 when absent) with activationListLength, AverageValue unless metricType says Value', () => {
    assert.deepEqual(scaler({ address: ADDRESS, listName: 'q' }).spec, { metricName: 's0-redis-q', metricType: 'AverageValue', target: 5, activationTarget: 0 });
    const s = scaler({ address: ADDRESS, listName: 'q', listLength: '10', activationListLength: '3' }, { metricType: 'Value' });
    assert.deepEqual(s.spec, { metricName: 's0-redis-q', metricType: 'Value', target: 10, activationTarget: 3 });
  });
});

describe('redis: where the connection parameters come from', () => {
  it('connects with host and port instead of address', async () => {
    const list = await pushed('host-port', 4);
    assert.equal((await read(scaler({ host: '127.0.0.1', port: '6379', listName: list }))).value, 4);
  });

  it('accepts the aliases addresses, hosts and ports', async () => {
    const list = await pushed('aliases', 2);
    assert.equal((await read(scaler({ addresses: ADDRESS, listName: list }))).value, 2);
    assert.equal((await read(scaler({ hosts: '127.0.0.1', ports: '6379', listName: list }))).value, 2);
  });

  it('takes the address from the env var addressFromEnv names', async () => {
    const list = await pushed('address-env', 3);
    const s = scaler({ addressFromEnv: 'REDIS_ADDRESS', listName: list }, { resolvedEnv: { REDIS_ADDRESS: ADDRESS } });
    assert.equal((await read(s)).value, 3);
  });

  it('prefers the TriggerAuthentication address to addressFromEnv (KEDA order: metadata, auth, env)', async () => {
    const list = await pushed('address-order', 6);
    const dead = `127.0.0.1:${await closedPort()}`;
    const s = scaler({ addressFromEnv: 'REDIS_ADDRESS', listName: list }, { authParams: { address: ADDRESS }, resolvedEnv: { REDIS_ADDRESS: dead } });
    assert.equal((await read(s)).value, 6);
  });
});

describe('redis: configuration errors name the field', () => {
  it('listName missing', () => configError(() => scaler({ address: ADDRESS }), 'listName', /missing required parameter "listName"/));
  it('listLength not a number', () => configError(() => scaler({ address: ADDRESS, listName: 'q', listLength: 'lots' }), 'listLength'));
  it('databaseIndex negative', () => configError(() => scaler({ address: ADDRESS, listName: 'q', databaseIndex: '-1' }), 'databaseIndex'));
  it('no address, host or port anywhere', () => configError(() => scaler({ listName: 'q' }), 'address', /no addresses or hosts given/));
  it('address without a port', () => configError(() => scaler({ address: '127.0.0.1', listName: 'q' }), 'address', /missing port/));
  it('two hosts but one port', () => configError(() => scaler({ host: 'a,b', port: '6379', listName: 'q' }), 'port', /number of hosts must equal the number of ports/));
  it('enableTLS not a boolean', () => configError(() => scaler({ address: ADDRESS, listName: 'q', enableTLS: 'yes' }), 'enableTLS'));
  it('TLS switched on in both the trigger and the TriggerAuthentication', () =>
    configError(() => scaler({ address: ADDRESS, listName: 'q', enableTLS: 'true' }, { authParams: { tls: 'enable' } }), 'tls', /both ScaledObject and TriggerAuthentication/));
  it('tls other than enable or disable', () => configError(() => scaler({ address: ADDRESS, listName: 'q' }, { authParams: { tls: 'on' } }), 'tls'));
  it('a client certificate that is not PEM, without echoing the key', () => {
    const secretKey = `-----BEGIN PRIVATE KEY-----${run}`;
    configError(() => scaler({ address: ADDRESS, listName: 'q', enableTLS: 'true' }, { authParams: { cert: 'nope', key: secretKey } }), 'cert');
    try {
      scaler({ address: ADDRESS, listName: 'q', enableTLS: 'true' }, { authParams: { cert: 'nope', key: secretKey } });
    } catch (e) {
      assert.ok(!(e as Error).message.includes(secretKey));
    }
  });
});

describe('redis: failures', () => {
  it('rejects at once with "connection refused" when nothing listens on the port', async () => {
    const port = await closedPort();
    const { message, ms } = await rejection(read(scaler({ address: `127.0.0.1:${port}`, listName: 'q' })));
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
      const s = scaler({ address: `127.0.0.1:${port}`, listName: 'q' });
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

    it('reads the list with the username and password of the TriggerAuthentication', async () => {
      const list = await pushed('acl', 8);
      assert.equal((await read(scaler({ address: ADDRESS, listName: list }, { authParams: { username: user, password } }))).value, 8);
    });

    it('rejects a wrong password with WRONGPASS, never showing the password', async () => {
      const { message } = await rejection(read(scaler({ address: ADDRESS, listName: 'q' }, { authParams: { username: user, password: wrong } })));
      assert.match(message, /^connection to redis at 127\.0\.0\.1:6379 failed: WRONGPASS/);
      assert.ok(!message.includes(wrong), message);
      assert.ok(!message.includes(password), message);
    });

    it('takes passwordFromEnv before the TriggerAuthentication password (KEDA order: metadata, env, auth)', async () => {
      const list = await pushed('password-order', 9);
      const s = scaler(
        { address: ADDRESS, listName: list, username: user, passwordFromEnv: 'REDIS_PASSWORD' },
        { authParams: { password: wrong }, resolvedEnv: { REDIS_PASSWORD: password } },
      );
      assert.equal((await read(s)).value, 9);
    });

    it('takes a password written in the metadata before passwordFromEnv', async () => {
      const list = await pushed('password-metadata', 1);
      const s = scaler(
        { address: ADDRESS, listName: list, username: user, password, passwordFromEnv: 'REDIS_PASSWORD' },
        { resolvedEnv: { REDIS_PASSWORD: wrong } },
      );
      assert.equal((await read(s)).value, 1);
    });
  });
});

describe('redis: triggers on one server share a few connections', () => {
  const user = `scalepass-pool-${run}`;
  const password = `pool-${randomBytes(8).toString('hex')}`;
  const auth = { authParams: { username: user, password } };
  /** this user's connections, as the server lists them */
  const connections = async (): Promise<number> =>
    String(await admin.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(` user=${user} `)).length;

  before(async () => {
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '+@all');
  });
  after(async () => {
    await admin.call('ACL', 'DELUSER', user);
  });

  it('20 triggers measured at once use at most 4 connections, none left after closeAll', async () => {
    const list = await pushed('pool', 8);
    const clients = new ClientRegistry();
    try {
      const readings = await Promise.all(Array.from({ length: 20 }, () => read(scaler({ address: ADDRESS, listName: list }, { ...auth, clients }))));
      assert.deepEqual(new Set(readings.map((r) => r.value)), new Set([8]));
      assert.ok(clients.size <= 4 && clients.size >= 1, `${clients.size} connections`);
      assert.equal(await connections(), clients.size, 'connections the server sees');
    } finally {
      await clients.closeAll();
    }
    let left = await connections();
    // the server drops a client as it reads the socket's end: ask until it says so, briefly
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await connections();
    }
    assert.equal(left, 0, 'connections left on the server after closeAll');
  });

  it('a connection the server killed is not reused: the next measurement gets a new one and succeeds', async () => {
    const list = await pushed('pool-kill', 5);
    const clients = new ClientRegistry();
    const s = scaler({ address: ADDRESS, listName: list }, { ...auth, clients });
    try {
      assert.equal((await read(s)).value, 5);
      assert.equal(await admin.call('CLIENT', 'KILL', 'USER', user), 1);
      assert.equal((await read(s)).value, 5);
      assert.equal(clients.size, 1);
    } finally {
      await clients.closeAll();
    }
  });
});

describe('redis: the process exits after the pass', () => {
  const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;

  /** Measures once in a fresh Node process, closes the scaler, and waits for that process to end by itself. */
  async function inChild(metadata: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; out: string; lingerMs: number }> {
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      const trigger = { type: 'redis', metadata: ${JSON.stringify(metadata)} };
      const s = createScaler({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {} });
      try {
        const r = await s.measure({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {}, now: 0, signal: AbortSignal.timeout(${timeoutMs}) });
        console.log(JSON.stringify(r));
      } catch (e) {
        console.log('error: ' + e.message);
      } finally {
        await s.close();
      }
      console.log('closed at ' + Date.now());`;
    const { code, out, exitedAt } = await runScript(script);
    return { code, out, lingerMs: exitedAt - closedAt(out) };
  }

  it('after a successful measurement', async () => {
    const list = await pushed('child', 37);
    const r = await inChild({ address: ADDRESS, listName: list }, 5000);
    assert.equal(r.code, 0, `the process did not exit by itself: ${r.out}`);
    assert.ok(r.lingerMs < 1500, `the process stayed up ${r.lingerMs} ms after the scaler closed`);
    assert.match(r.out, /\{"value":37,"active":true\}/);
  });

  it('after a measurement aborted on a server that never answers', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => held.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const r = await inChild({ address: `127.0.0.1:${port}`, listName: 'q' }, 300);
      assert.equal(r.code, 0, `the process did not exit by itself: ${r.out}`);
      assert.ok(r.lingerMs < 1500, `the process stayed up ${r.lingerMs} ms after the scaler closed`);
      assert.match(r.out, /error: .*redis at 127\.0\.0\.1:\d+.*: aborted/);
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
