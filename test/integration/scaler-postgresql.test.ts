// The postgresql trigger against the PostgreSQL server on this machine (127.0.0.1:5432, database test):
// the number a user's query returns, when the trigger is active, the connection forms KEDA accepts and
// where their parts come from, and how failures read: server named, password never.
//
// This server trusts every TCP connection from 127.0.0.1 (pg_hba "host all all 127.0.0.1/32 trust"), so it
// accepts any password there and a wrong one cannot be told apart from a right one. Authentication
// failures are therefore shown with an unknown role and an unknown database, with a password supplied,
// checking that the password never appears in the message.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { closedAt, closedPort, configError, rejection, scalerFactory, runScript } from '../helpers/scalers.ts';
import { ClientRegistry } from '../../src/scalers/clients.ts';
import { relay } from '../helpers/tcp-proxy.ts';

const START = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const run = randomBytes(4).toString('hex');
const table = `scalepass_test_${run}`;
const SERVER = { host: '127.0.0.1', port: '5432', userName: 'root', dbName: 'test', sslmode: 'disable' };

let admin: pg.Client;
const { scaler, read, open } = scalerFactory('postgresql', { readTimeoutMs: 5000 });

before(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test', connectionTimeoutMillis: 5000 });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (e) {
    assert.fail(`PostgreSQL is not reachable at 127.0.0.1:5432 as root/test (${(e as Error).message}); start it with: ${START}`);
  }
  await admin.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, state text NOT NULL, cost numeric)`);
});

after(async () => {
  await Promise.allSettled(open.map((s) => s.close()));
  await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
  await admin.end().catch(() => {});
});

async function queue(n: number, state = 'waiting'): Promise<void> {
  await admin.query(`INSERT INTO ${table} (state, cost) SELECT $1, 2.5 FROM generate_series(1, $2::int)`, [state, n]);
}

const waiting = `SELECT count(*) FROM ${table} WHERE state = 'waiting'`;

describe('postgresql: query value and activity', () => {
  it('reads 0 and is inactive while the table is empty', async () => {
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, targetQueryValue: '5' })), { value: 0, active: false });
  });

  it('reads 37 after 37 waiting rows are inserted, active above activationTargetQueryValue 36 and not at 37', async () => {
    await queue(37);
    await queue(4, 'done');
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, targetQueryValue: '5' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, targetQueryValue: '5', activationTargetQueryValue: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, targetQueryValue: '5', activationTargetQueryValue: '37' })), { value: 37, active: false });
  });

  it('reads numeric, float and integer columns: 2.5, 0.25, 7', async () => {
    assert.equal((await read(scaler({ ...SERVER, query: `SELECT max(cost) FROM ${table}`, targetQueryValue: '1' }))).value, 2.5);
    assert.equal((await read(scaler({ ...SERVER, query: 'SELECT 0.25::float8', targetQueryValue: '1' }))).value, 0.25);
    assert.equal((await read(scaler({ ...SERVER, query: 'SELECT 7::int2', targetQueryValue: '1' }))).value, 7);
  });

  const failing: Array<[string, string, RegExp]> = [
    ['no row', `SELECT count(*) FROM ${table} GROUP BY state HAVING false`, /returned no rows/],
    ['NULL', `SELECT max(cost) FROM ${table} WHERE false`, /returned NULL/],
    ['a text column', "SELECT 'many'", /must return a number/],
    ['two columns', 'SELECT 1, 2', /exactly one column, it returned 2/],
    ['a missing table', 'SELECT count(*) FROM scalepass_no_such_table', /relation "scalepass_no_such_table" does not exist/],
    ['two statements, which KEDA\'s driver refuses too', 'SELECT 1; SELECT 2', /cannot insert multiple commands/],
  ];
  for (const [what, query, text] of failing) {
    it(`fails naming the server when the query gives ${what}`, async () => {
      const { message } = await rejection(read(scaler({ ...SERVER, query, targetQueryValue: '1' })));
      assert.match(message, /^could not query postgreSQL at 127\.0\.0\.1:5432\/test: /);
      assert.match(message, text);
    });
  }
});

describe('postgresql: metric spec', () => {
  it('names the metric s<index>-postgresql and targets targetQueryValue, AverageValue by default', () => {
    assert.deepEqual(scaler({ ...SERVER, query: waiting, targetQueryValue: '2.5', activationTargetQueryValue: '1.5' }).spec, {
      metricName: 's0-postgresql', metricType: 'AverageValue', target: 2.5, activationTarget: 1.5,
    });
    assert.equal(scaler({ ...SERVER, query: waiting, targetQueryValue: '5' }, { metricType: 'Value' }).spec.metricType, 'Value');
  });

  it('allows no targetQueryValue only when the trigger feeds a scalingModifiers formula', () => {
    assert.equal(scaler({ ...SERVER, query: waiting }, { asMetricSource: true }).spec.target, 0);
  });
});

describe('postgresql: connection strings and where parameters come from', () => {
  it('connects with a URL connection string from the TriggerAuthentication', async () => {
    const s = scaler({ query: 'SELECT 11', targetQueryValue: '1' }, { authParams: { connection: 'postgresql://root@127.0.0.1:5432/test?sslmode=disable' } });
    assert.equal((await read(s)).value, 11);
  });

  it('connects with a key/value connection string whose quoted password has a space and a quote', async () => {
    const connection = "host=127.0.0.1 port=5432 user=root dbname=test sslmode=disable password='pa ss\\'word' application_name=scalepass-test";
    assert.equal((await read(scaler({ query: 'SELECT 12', targetQueryValue: '1' }, { authParams: { connection } }))).value, 12);
  });

  it('connects over TLS with sslmode=require (the server has a certificate) and prefer', async () => {
    const tlsQuery = 'SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl';
    assert.equal((await read(scaler({ ...SERVER, sslmode: 'require', query: tlsQuery, targetQueryValue: '1' }))).value, 1);
    const prefer = scaler({ query: tlsQuery, targetQueryValue: '1' }, { authParams: { connection: 'host=127.0.0.1 user=root dbname=test' } });
    assert.equal((await read(prefer)).value, 1);
  });

  it('verifies the server certificate against sslrootcert: verify-ca accepts it, verify-full refuses a name that does not match', async () => {
    const certFile = (await admin.query('SHOW ssl_cert_file')).rows[0].ssl_cert_file as string;
    const tlsQuery = 'SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl';
    const base = `host=127.0.0.1 user=root dbname=test sslrootcert=${certFile}`;
    assert.equal((await read(scaler({ query: tlsQuery, targetQueryValue: '1' }, { authParams: { connection: `${base} sslmode=verify-ca` } }))).value, 1);
    // the server's certificate names the machine (Debian's snakeoil: localhost), never 127.0.0.1
    const { message } = await rejection(read(scaler({ query: tlsQuery, targetQueryValue: '1' }, { authParams: { connection: `${base} sslmode=verify-full` } })));
    assert.match(message, /^could not connect to postgreSQL at 127\.0\.0\.1:5432\/test: .*(IP: 127\.0\.0\.1 is not in the cert's list|altnames)/);
  });

  it('takes the connection string from the env var connectionFromEnv names', async () => {
    const s = scaler({ query: 'SELECT 13', targetQueryValue: '1', connectionFromEnv: 'PG_CONN' }, { resolvedEnv: { PG_CONN: 'postgres://root@127.0.0.1/test?sslmode=disable' } });
    assert.equal((await read(s)).value, 13);
  });

  it('takes the TriggerAuthentication connection before connectionFromEnv (KEDA order: auth, env)', async () => {
    const dead = await closedPort();
    const s = scaler(
      { query: 'SELECT 14', targetQueryValue: '1', connectionFromEnv: 'PG_CONN' },
      { authParams: { connection: 'postgres://root@127.0.0.1/test?sslmode=disable' }, resolvedEnv: { PG_CONN: `postgres://root@127.0.0.1:${dead}/test` } },
    );
    assert.equal((await read(s)).value, 14);
  });

  it('takes the TriggerAuthentication host before the metadata host (KEDA order: auth, metadata)', async () => {
    const s = scaler({ ...SERVER, host: 'no-such-host.invalid', query: 'SELECT 15', targetQueryValue: '1' }, { authParams: { host: '127.0.0.1' } });
    assert.equal((await read(s)).value, 15);
  });
});

describe('postgresql: configuration errors name the field', () => {
  it('query missing', () => configError(() => scaler({ ...SERVER, targetQueryValue: '1' }), 'query', /missing required parameter "query"/));
  it('targetQueryValue missing', () => configError(() => scaler({ ...SERVER, query: waiting }), 'targetQueryValue'));
  it('targetQueryValue not a number', () => configError(() => scaler({ ...SERVER, query: waiting, targetQueryValue: 'ten' }), 'targetQueryValue'));
  it('host missing without a connection string', () => {
    const { host: _, ...noHost } = SERVER;
    configError(() => scaler({ ...noHost, query: waiting, targetQueryValue: '1' }), 'host', /needed when no "connection" is given/);
  });
  it('sslmode missing without a connection string', () => {
    const { sslmode: _, ...noSsl } = SERVER;
    configError(() => scaler({ ...noSsl, query: waiting, targetQueryValue: '1' }), 'sslmode');
  });
  it('sslmode unknown', () => configError(() => scaler({ ...SERVER, sslmode: 'always', query: waiting, targetQueryValue: '1' }), 'sslmode', /must be one of/));
  it('port not a number', () => configError(() => scaler({ ...SERVER, port: 'pg', query: waiting, targetQueryValue: '1' }), 'port'));
  it('a malformed connection string, without echoing it', () => {
    const password = `s3cret-${run}`;
    const connection = `host=127.0.0.1 password='${password}`;
    configError(() => scaler({ query: waiting, targetQueryValue: '1' }, { authParams: { connection } }), 'connection', /unterminated quoted value/);
    try {
      scaler({ query: waiting, targetQueryValue: '1' }, { authParams: { connection } });
    } catch (e) {
      assert.ok(!(e as Error).message.includes(password), (e as Error).message);
    }
  });
});

describe('postgresql: failures', () => {
  it('rejects at once with "connection refused" when nothing listens on the port, without the password', async () => {
    const port = await closedPort();
    const password = `s3cret-${run}`;
    const s = scaler({ ...SERVER, port: String(port), query: waiting, targetQueryValue: '1' }, { authParams: { password } });
    const { message, ms } = await rejection(read(s));
    assert.match(message, new RegExp(`^could not connect to postgreSQL at 127\\.0\\.0\\.1:${port}/test: .*ECONNREFUSED`));
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.ok(!message.includes(password), message);
  });

  it('rejects an unknown role, never showing the password given for it', async () => {
    const password = `s3cret-${run}`;
    const s = scaler({ ...SERVER, userName: `nobody_${run}`, query: waiting, targetQueryValue: '1' }, { authParams: { password } });
    const { message } = await rejection(read(s));
    assert.match(message, new RegExp(`^could not connect to postgreSQL at 127\\.0\\.0\\.1:5432/test: .*role "nobody_${run}" does not exist`));
    assert.ok(!message.includes(password), message);
  });

  it('rejects an unknown database given in a connection URL, never showing the URL\'s password', async () => {
    const password = `s3cret-${run}`;
    const connection = `postgresql://root:${password}@127.0.0.1:5432/nodb_${run}?sslmode=disable`;
    const { message } = await rejection(read(scaler({ query: waiting, targetQueryValue: '1' }, { authParams: { connection } })));
    assert.match(message, new RegExp(`database "nodb_${run}" does not exist`));
    assert.ok(!message.includes(password), message);
  });

  it('gives up on a slow query when the pass times out, and the server stops running it', async () => {
    const marker = `scalepass-slow-${run}`;
    const query = `SELECT count(*) FROM pg_sleep(30) WHERE '${marker}' <> ''`;
    const { message, ms } = await rejection(read(scaler({ ...SERVER, query, targetQueryValue: '1' }), AbortSignal.timeout(500)));
    assert.match(message, /^could not query postgreSQL at 127\.0\.0\.1:5432\/test: aborted \(.*timeout.*\)/);
    assert.ok(ms < 2000, `took ${ms} ms for a 500 ms timeout`);
    let running = 1;
    for (let i = 0; i < 20 && running > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`]);
      running = r.rows[0].n;
    }
    assert.equal(running, 0, 'the query is still running on the server');
  });
});

describe('postgresql: triggers on one server share a few connections', () => {
  const app = `scalepass-pool-${run}`;
  const connection = `host=127.0.0.1 port=5432 user=root dbname=test sslmode=disable application_name=${app}`;
  const sessions = async (): Promise<number> =>
    (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
  /** the server drops a closed session's entry as its backend exits: poll for its word, briefly */
  const sessionsSettleTo = async (n: number): Promise<number> => {
    let now = await sessions();
    for (let i = 0; i < 40 && now !== n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await sessions();
    }
    return now;
  };

  it('20 triggers measured at once open at most 4 sessions, all 4 in use, none left after closeAll', async () => {
    const clients = new ClientRegistry();
    // each measurement counts the sessions of this pool while it runs
    const query = `SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = '${app}') FROM pg_sleep(0.05)`;
    try {
      const readings = await Promise.all(Array.from({ length: 20 }, () => read(scaler({ query, targetQueryValue: '1' }, { authParams: { connection }, clients }))));
      const seen = readings.map((r) => r.value);
      assert.ok(seen.every((n) => n <= 4), `sessions seen: ${seen.join(',')}`);
      assert.equal(Math.max(...seen), 4, `sessions seen: ${seen.join(',')}`);
      assert.equal(clients.size, 4);
    } finally {
      await clients.closeAll();
    }
    assert.equal(clients.size, 0);
    assert.equal(await sessionsSettleTo(0), 0, 'sessions left on the server after closeAll');
  });

  it('a trigger waiting for a busy pool gives up when its own timeout ends, naming the wait; the others finish', async () => {
    const clients = new ClientRegistry();
    try {
      const busy = Array.from({ length: 4 }, () => read(scaler({ query: 'SELECT 1 FROM pg_sleep(1)', targetQueryValue: '1' }, { authParams: { connection }, clients })));
      const { message, ms } = await rejection(() => read(scaler({ query: 'SELECT 2', targetQueryValue: '1' }, { authParams: { connection }, clients }), AbortSignal.timeout(200)));
      assert.match(message, /^could not connect to postgreSQL at 127\.0\.0\.1:5432\/test: aborted \(.*timeout.*\) while waiting for one of the 4 connections to this server$/);
      assert.ok(ms < 900, `gave up after ${ms} ms, not at its 200 ms timeout`);
      // one queued with time to spare gets the first connection given back
      const patient = read(scaler({ query: 'SELECT 3', targetQueryValue: '1' }, { authParams: { connection }, clients }));
      assert.deepEqual((await Promise.all(busy)).map((r) => r.value), [1, 1, 1, 1]);
      assert.equal((await patient).value, 3);
      assert.equal(clients.size, 4);
    } finally {
      await clients.closeAll();
    }
  });

  it('a session the server ended is not reused: the next measurement gets a new one and succeeds', async () => {
    const clients = new ClientRegistry();
    const s = scaler({ query: 'SELECT pg_backend_pid()', targetQueryValue: '1' }, { authParams: { connection }, clients });
    try {
      const first = (await read(s)).value;
      // waits (up to 5 s) for the backend to be gone
      const ended = await admin.query('SELECT pg_terminate_backend($1, 5000) AS ok', [first]);
      assert.equal(ended.rows[0].ok, true);
      const second = (await read(s)).value;
      assert.notEqual(second, first);
      assert.equal(clients.size, 1);
    } finally {
      await clients.closeAll();
    }
  });

  it('a pooled session that died silently (reset at the next write, as after a server reboot) is replaced within the same measurement', async () => {
    const r = await relay('127.0.0.1', 5432);
    const clients = new ClientRegistry();
    const s = scaler({ ...SERVER, port: String(r.port), query: 'SELECT pg_backend_pid()', targetQueryValue: '1' }, { clients });
    try {
      const first = (await read(s)).value;
      r.severSilently();
      const second = (await read(s)).value;
      assert.notEqual(second, first);
      assert.equal(clients.size, 1);
    } finally {
      await clients.closeAll();
      await r.close();
    }
  });

  it('triggers with other credentials get connections of their own', async () => {
    const role = `sp_pool_${run}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    const clients = new ClientRegistry();
    const query = "SELECT CASE current_user WHEN 'root' THEN 1 ELSE 2 END";
    try {
      const asRoot = scaler({ ...SERVER, query, targetQueryValue: '1' }, { clients });
      const asRole = scaler({ ...SERVER, userName: role, query, targetQueryValue: '1' }, { clients });
      assert.deepEqual([(await read(asRoot)).value, (await read(asRole)).value, (await read(asRoot)).value], [1, 2, 1]);
      assert.equal(clients.size, 2);
    } finally {
      await clients.closeAll();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });
});

describe('postgresql: the process exits after the pass', () => {
  it('after a successful measurement and after an aborted one', async () => {
    const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      const server = ${JSON.stringify(SERVER)};
      for (const [query, ms] of [['SELECT 37', 5000], ['SELECT pg_sleep(30)::text::int', 300]]) {
        const trigger = { type: 'postgresql', metadata: { ...server, query, targetQueryValue: '5' } };
        const s = createScaler({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {} });
        try {
          console.log(JSON.stringify(await s.measure({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {}, now: 0, signal: AbortSignal.timeout(ms) })));
        } catch (e) {
          console.log('error: ' + e.message);
        } finally {
          await s.close();
        }
      }
      console.log('closed at ' + Date.now());`;
    const { code, out, exitedAt } = await runScript(script);
    assert.equal(code, 0, `the process did not exit by itself: ${out}`);
    const lingerMs = exitedAt - closedAt(out);
    assert.ok(lingerMs < 1500, `the process stayed up ${lingerMs} ms after the scaler closed`);
    assert.match(out, /\{"value":37,"active":true\}\nerror: could not query postgreSQL .*aborted/);
  });

  it('after measurements through the pass\'s shared connections, once closeAll has run', async () => {
    const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;
    const clientsUrl = new URL('../../src/scalers/clients.ts', import.meta.url).href;
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      import { ClientRegistry } from ${JSON.stringify(clientsUrl)};
      const clients = new ClientRegistry();
      const server = ${JSON.stringify(SERVER)};
      const out = await Promise.allSettled([['SELECT 37', 5000], ['SELECT 38', 5000], ['SELECT pg_sleep(30)::text::int', 300]].map(async ([query, ms]) => {
        const trigger = { type: 'postgresql', metadata: { ...server, query, targetQueryValue: '5' } };
        const ctx = { namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {}, clients };
        return (await createScaler(ctx).measure({ ...ctx, now: 0, signal: AbortSignal.timeout(ms) })).value;
      }));
      console.log(out.map((r) => r.status === 'fulfilled' ? r.value : 'error: ' + r.reason.message).join('\\n'));
      await clients.closeAll();
      console.log('closed at ' + Date.now());`;
    const { code, out, exitedAt } = await runScript(script);
    assert.equal(code, 0, `the process did not exit by itself: ${out}`);
    const lingerMs = exitedAt - closedAt(out);
    assert.ok(lingerMs < 1500, `the process stayed up ${lingerMs} ms after the connections closed`);
    assert.match(out, /^37\n38\nerror: could not query postgreSQL .*aborted/);
  });
});
