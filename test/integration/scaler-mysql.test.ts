// The mysql trigger against the MariaDB server on this machine (127.0.0.1:3306, database test): the number
// a user's query returns, when the trigger is active, the DSN and separate-parameter forms and where their
// parts come from, and how failures read: server named, password never.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { closedAt, closedPort, configError, rejection, scalerFactory, runScript } from '../helpers/scalers.ts';
import { ClientRegistry } from '../../src/scalers/clients.ts';
import { relay } from '../helpers/tcp-proxy.ts';

const START = 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd';
const run = randomBytes(4).toString('hex');
const table = `scalepass_test_${run}`;
const SERVER = { host: '127.0.0.1', port: '3306', username: 'root', dbName: 'test' };

let admin: mysql.Connection;
const { scaler, read, open } = scalerFactory('mysql', { readTimeoutMs: 5000 });

before(async () => {
  try {
    admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test', connectTimeout: 5000 });
  } catch (e) {
    assert.fail(`MariaDB is not reachable at 127.0.0.1:3306 as root/test (${(e as Error).message}); start it with: ${START}`);
  }
  await admin.query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(16) NOT NULL, cost DECIMAL(6,2), label VARCHAR(16))`);
});

after(async () => {
  await Promise.allSettled(open.map((s) => s.close()));
  await admin?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
  await admin?.end().catch(() => {});
});

async function queue(n: number, state = 'waiting'): Promise<void> {
  const rows = Array.from({ length: n }, () => [state, 2.5, '12']);
  await admin.query(`INSERT INTO ${table} (state, cost, label) VALUES ?`, [rows]);
}

const waiting = `SELECT COUNT(*) FROM ${table} WHERE state = 'waiting'`;

describe('mysql: query value and activity', () => {
  it('reads 0 and is inactive while the table is empty', async () => {
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, queryValue: '5' })), { value: 0, active: false });
  });

  it('reads 37 after 37 waiting rows are inserted, active above activationQueryValue 36 and not at 37', async () => {
    await queue(37);
    await queue(4, 'done');
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, queryValue: '5' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, queryValue: '5', activationQueryValue: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ ...SERVER, query: waiting, queryValue: '5', activationQueryValue: '37' })), { value: 37, active: false });
  });

  it('reads a DECIMAL (2.5) and a text column holding a number ("12"), as Go\'s float conversion does', async () => {
    assert.equal((await read(scaler({ ...SERVER, query: `SELECT MAX(cost) FROM ${table}`, queryValue: '1' }))).value, 2.5);
    assert.equal((await read(scaler({ ...SERVER, query: `SELECT MAX(label) FROM ${table}`, queryValue: '1' }))).value, 12);
  });

  const failing: Array<[string, string, RegExp]> = [
    ['no row', `SELECT id FROM ${table} WHERE false`, /returned no rows/],
    ['NULL', `SELECT MAX(cost) FROM ${table} WHERE false`, /must return a number, it returned NULL/],
    ['text that is not a number', "SELECT 'many'", /must return a number, it returned "many"/],
    ['two columns', 'SELECT 1, 2', /exactly one column, it returned 2/],
    ['a missing table', 'SELECT COUNT(*) FROM scalepass_no_such_table', /ER_NO_SUCH_TABLE/],
    ['two statements, which KEDA\'s driver refuses too', 'SELECT 1; SELECT 2', /ER_PARSE_ERROR/],
  ];
  for (const [what, query, text] of failing) {
    it(`fails naming the server when the query gives ${what}`, async () => {
      const { message } = await rejection(read(scaler({ ...SERVER, query, queryValue: '1' })));
      assert.match(message, /^could not query MySQL at 127\.0\.0\.1:3306\/test: /);
      assert.match(message, text);
    });
  }
});

describe('mysql: metric spec', () => {
  it('names the metric s<index>-mysql-<dbName> and targets queryValue, AverageValue by default', () => {
    assert.deepEqual(scaler({ ...SERVER, dbName: 'stats_db', query: waiting, queryValue: '2.5', activationQueryValue: '1.5' }, { triggerIndex: 2 }).spec, {
      metricName: 's2-mysql-stats_db', metricType: 'AverageValue', target: 2.5, activationTarget: 1.5,
    });
    assert.equal(scaler({ ...SERVER, query: waiting, queryValue: '5' }, { metricType: 'Value' }).spec.metricType, 'Value');
  });

  it('with a connectionString, names the metric after the text behind its last "/", parameters included (as KEDA)', () => {
    const s = scaler({ query: waiting, queryValue: '5' }, { authParams: { connectionString: 'root:pw@tcp(127.0.0.1:3306)/test?tls=false' } });
    assert.equal(s.spec.metricName, 's0-mysql-test?tls=false');
  });

  it('ignores a metricName in the metadata, as KEDA does', () => {
    assert.equal(scaler({ ...SERVER, query: waiting, queryValue: '5', metricName: 'custom' }).spec.metricName, 's0-mysql-test');
  });
});

describe('mysql: connection strings and where parameters come from', () => {
  it('connects with a Go DSN from the TriggerAuthentication', async () => {
    const s = scaler({ query: 'SELECT 11', queryValue: '1' }, { authParams: { connectionString: 'root:@tcp(127.0.0.1:3306)/test' } });
    assert.equal((await read(s)).value, 11);
  });

  it('takes the DSN from the env var connectionStringFromEnv names', async () => {
    const s = scaler({ query: 'SELECT 12', queryValue: '1', connectionStringFromEnv: 'MYSQL_DSN' }, { resolvedEnv: { MYSQL_DSN: 'root@tcp(127.0.0.1:3306)/test?timeout=2s' } });
    assert.equal((await read(s)).value, 12);
  });

  it('takes the TriggerAuthentication DSN before connectionStringFromEnv (KEDA order: auth, env)', async () => {
    const dead = await closedPort();
    const s = scaler(
      { query: 'SELECT 13', queryValue: '1', connectionStringFromEnv: 'MYSQL_DSN' },
      { authParams: { connectionString: 'root@tcp(127.0.0.1:3306)/test' }, resolvedEnv: { MYSQL_DSN: `root@tcp(127.0.0.1:${dead})/test` } },
    );
    assert.equal((await read(s)).value, 13);
  });

  it('with tls=preferred, uses TLS exactly when the server offers it (go-sql-driver\'s rule)', async () => {
    const [rows] = await admin.query("SHOW VARIABLES LIKE 'have_ssl'");
    const offered = (rows as Array<{ Value: string }>)[0]?.Value === 'YES';
    const query = "SELECT COUNT(*) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER' AND VARIABLE_VALUE <> ''";
    const s = scaler({ query, queryValue: '1' }, { authParams: { connectionString: 'root@tcp(127.0.0.1:3306)/test?tls=preferred' } });
    assert.equal((await read(s)).value, offered ? 1 : 0);
  });

  it('with tls=true, refuses a server that offers no TLS, or verifies the one it offers', async () => {
    const [rows] = await admin.query("SHOW VARIABLES LIKE 'have_ssl'");
    const offered = (rows as Array<{ Value: string }>)[0]?.Value === 'YES';
    const s = scaler({ query: 'SELECT 1', queryValue: '1' }, { authParams: { connectionString: 'root@tcp(127.0.0.1:3306)/test?tls=true' } });
    // either way this fails: no TLS at all, or a certificate no public authority signed for 127.0.0.1
    const { message } = await rejection(read(s));
    assert.match(message, offered ? /^could not connect to MySQL at 127\.0\.0\.1:3306\/test: .*certificate/i : /does not support secure connection/);
  });

  it('takes the metadata host before the TriggerAuthentication host (KEDA order: metadata, auth)', async () => {
    const s = scaler({ ...SERVER, query: 'SELECT 14', queryValue: '1' }, { authParams: { host: 'no-such-host.invalid' } });
    assert.equal((await read(s)).value, 14);
  });
});

describe('mysql: configuration errors name the field', () => {
  it('query missing', () => configError(() => scaler({ ...SERVER, queryValue: '1' }), 'query', /missing required parameter "query"/));
  it('queryValue missing', () => configError(() => scaler({ ...SERVER, query: waiting }), 'queryValue', /missing required parameter "queryValue"/));
  it('queryValue not a number', () => configError(() => scaler({ ...SERVER, query: waiting, queryValue: 'ten' }), 'queryValue'));
  it('host missing without a connectionString', () => {
    const { host: _, ...noHost } = SERVER;
    configError(() => scaler({ ...noHost, query: waiting, queryValue: '1' }), 'host', /needed when no "connectionString" is given/);
  });
  it('port not a number', () => configError(() => scaler({ ...SERVER, port: 'db', query: waiting, queryValue: '1' }), 'port'));
  it('a DSN without "/", without echoing it', () => {
    const password = `s3cret-${run}`;
    const connectionString = `root:${password}@tcp(127.0.0.1:3306)`;
    configError(() => scaler({ query: waiting, queryValue: '1' }, { authParams: { connectionString } }), 'connectionString', /missing the "\/"/);
    try {
      scaler({ query: waiting, queryValue: '1' }, { authParams: { connectionString } });
    } catch (e) {
      assert.ok(!(e as Error).message.includes(password), (e as Error).message);
    }
  });
  it('a DSN naming a TLS config registered in code', () =>
    configError(() => scaler({ query: waiting, queryValue: '1' }, { authParams: { connectionString: 'root@tcp(h:3306)/test?tls=custom' } }), 'connectionString', /unsupported tls value/));
});

describe('mysql: failures', () => {
  it('rejects at once with "connection refused" when nothing listens on the port, without the password', async () => {
    const port = await closedPort();
    const password = `s3cret-${run}`;
    const s = scaler({ ...SERVER, port: String(port), query: waiting, queryValue: '1' }, { authParams: { password } });
    const { message, ms } = await rejection(read(s));
    assert.match(message, new RegExp(`^could not connect to MySQL at 127\\.0\\.0\\.1:${port}/test: .*ECONNREFUSED`));
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.ok(!message.includes(password), message);
  });

  describe('with a user that has a password', () => {
    const user = `sp_${run}`;
    const password = `right-${randomBytes(8).toString('hex')}`;
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;

    before(async () => {
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      await admin.query('GRANT SELECT ON test.* TO ?@?', [user, '%']);
    });
    after(async () => {
      await admin.query('DROP USER IF EXISTS ?@?', [user, '%']);
    });

    it('reads the value with the username of the metadata and the password of the TriggerAuthentication', async () => {
      const s = scaler({ ...SERVER, username: user, query: 'SELECT 21', queryValue: '1' }, { authParams: { password } });
      assert.equal((await read(s)).value, 21);
    });

    it('rejects a wrong password with "Access denied", never showing the password', async () => {
      const s = scaler({ ...SERVER, username: user, query: waiting, queryValue: '1' }, { authParams: { password: wrong } });
      const { message } = await rejection(read(s));
      assert.match(message, new RegExp(`^could not connect to MySQL at 127\\.0\\.0\\.1:3306/test: .*Access denied for user '${user}'`));
      assert.ok(!message.includes(wrong), message);
      assert.ok(!message.includes(password), message);
    });

    it('rejects a wrong password inside a DSN, never showing the password or the DSN', async () => {
      const connectionString = `${user}:${wrong}@tcp(127.0.0.1:3306)/test`;
      const { message } = await rejection(read(scaler({ query: waiting, queryValue: '1' }, { authParams: { connectionString } })));
      assert.match(message, /Access denied/);
      assert.ok(!message.includes(wrong), message);
    });

    it('takes the TriggerAuthentication password before passwordFromEnv (KEDA order: auth, env)', async () => {
      const s = scaler(
        { ...SERVER, username: user, query: 'SELECT 22', queryValue: '1', passwordFromEnv: 'MYSQL_PASSWORD' },
        { authParams: { password }, resolvedEnv: { MYSQL_PASSWORD: wrong } },
      );
      assert.equal((await read(s)).value, 22);
    });

    it('takes passwordFromEnv when the TriggerAuthentication has no password', async () => {
      const s = scaler({ ...SERVER, username: user, query: 'SELECT 23', queryValue: '1', passwordFromEnv: 'MYSQL_PASSWORD' }, { resolvedEnv: { MYSQL_PASSWORD: password } });
      assert.equal((await read(s)).value, 23);
    });
  });

  it('gives up on a slow query when the pass times out', async () => {
    const { message, ms } = await rejection(read(scaler({ ...SERVER, query: 'SELECT SLEEP(30)', queryValue: '1' }), AbortSignal.timeout(500)));
    assert.match(message, /^could not query MySQL at 127\.0\.0\.1:3306\/test: aborted \(.*timeout.*\)/);
    assert.ok(ms < 2000, `took ${ms} ms for a 500 ms timeout`);
  });
});

describe('mysql: triggers on one server share a few connections', () => {
  const user = `sp_pool_${run}`;
  const as = { ...SERVER, username: user };

  before(async () => {
    // the server refuses a 5th session of this user: what a pass with one connection per trigger ran into
    await admin.query('CREATE USER ?@? WITH MAX_USER_CONNECTIONS 4', [user, '%']);
    await admin.query('GRANT SELECT ON test.* TO ?@?', [user, '%']);
  });
  after(async () => {
    await admin.query('DROP USER IF EXISTS ?@?', [user, '%']);
  });

  const threadsSettleTo = async (n: number): Promise<number> => {
    const count = async () => ((await admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]))[0] as Array<{ n: number }>)[0]!.n;
    let now = await count();
    for (let i = 0; i < 40 && now !== n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await count();
    }
    return now;
  };

  it('20 triggers measured at once by a user limited to 4 connections all succeed, using all 4; none left after closeAll', async () => {
    const clients = new ClientRegistry();
    // each measurement counts this user's sessions while it runs
    const query = `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE SLEEP(0.05) = 0`;
    try {
      const readings = await Promise.all(Array.from({ length: 20 }, () => read(scaler({ ...as, query, queryValue: '1' }, { clients }))));
      const seen = readings.map((r) => r.value);
      assert.ok(seen.every((n) => n <= 4), `sessions seen: ${seen.join(',')}`);
      assert.equal(Math.max(...seen), 4, `sessions seen: ${seen.join(',')}`);
      assert.equal(clients.size, 4);
    } finally {
      await clients.closeAll();
    }
    assert.equal(clients.size, 0);
    assert.equal(await threadsSettleTo(0), 0, 'sessions left on the server after closeAll');
  });

  it('a trigger waiting for a busy pool gives up when its own timeout ends, naming the wait; the others finish', async () => {
    const clients = new ClientRegistry();
    try {
      const busy = Array.from({ length: 4 }, () => read(scaler({ ...as, query: 'SELECT 1 + SLEEP(1)', queryValue: '1' }, { clients })));
      const { message, ms } = await rejection(() => read(scaler({ ...as, query: 'SELECT 2', queryValue: '1' }, { clients }), AbortSignal.timeout(200)));
      assert.match(message, /^could not connect to MySQL at 127\.0\.0\.1:3306\/test: aborted \(.*timeout.*\) while waiting for one of the 4 connections to this server$/);
      assert.ok(ms < 900, `gave up after ${ms} ms, not at its 200 ms timeout`);
      const patient = read(scaler({ ...as, query: 'SELECT 3', queryValue: '1' }, { clients }));
      assert.deepEqual((await Promise.all(busy)).map((r) => r.value), [1, 1, 1, 1]);
      assert.equal((await patient).value, 3);
    } finally {
      await clients.closeAll();
    }
  });

  it('a session the server killed is not reused: the next measurement gets a new one and succeeds', async () => {
    const clients = new ClientRegistry();
    const s = scaler({ ...as, query: 'SELECT CONNECTION_ID()', queryValue: '1' }, { clients });
    try {
      const first = (await read(s)).value;
      await admin.query('KILL CONNECTION ?', [first]);
      const second = (await read(s)).value;
      assert.notEqual(second, first);
      assert.equal(clients.size, 1);
    } finally {
      await clients.closeAll();
    }
  });

  it('a pooled session that died silently (reset at the next write, as after a server reboot) is replaced within the same measurement', async () => {
    const r = await relay('127.0.0.1', 3306);
    const clients = new ClientRegistry();
    const s = scaler({ ...as, port: String(r.port), query: 'SELECT CONNECTION_ID()', queryValue: '1' }, { clients });
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
    const clients = new ClientRegistry();
    const query = "SELECT IF(CURRENT_USER() LIKE 'root@%', 1, 2)";
    try {
      const asRoot = scaler({ ...SERVER, query, queryValue: '1' }, { clients });
      const asUser = scaler({ ...as, query, queryValue: '1' }, { clients });
      assert.deepEqual([(await read(asRoot)).value, (await read(asUser)).value, (await read(asRoot)).value], [1, 2, 1]);
      assert.equal(clients.size, 2);
    } finally {
      await clients.closeAll();
    }
  });
});

describe('mysql: the process exits after the pass', () => {
  it('after a successful measurement and after an aborted one', async () => {
    const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      const server = ${JSON.stringify(SERVER)};
      for (const [query, ms] of [['SELECT 37', 5000], ['SELECT SLEEP(30)', 300]]) {
        const trigger = { type: 'mysql', metadata: { ...server, query, queryValue: '5' } };
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
    assert.match(out, /\{"value":37,"active":true\}\nerror: could not query MySQL .*aborted/);
  });

  it('after measurements through the pass\'s shared connections, once closeAll has run', async () => {
    const registry = new URL('../../src/scalers/registry.ts', import.meta.url).href;
    const clientsUrl = new URL('../../src/scalers/clients.ts', import.meta.url).href;
    const script = `
      import { createScaler } from ${JSON.stringify(registry)};
      import { ClientRegistry } from ${JSON.stringify(clientsUrl)};
      const clients = new ClientRegistry();
      const server = ${JSON.stringify(SERVER)};
      const out = await Promise.allSettled([['SELECT 37', 5000], ['SELECT 38', 5000], ['SELECT SLEEP(30)', 300]].map(async ([query, ms]) => {
        const trigger = { type: 'mysql', metadata: { ...server, query, queryValue: '5' } };
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
    assert.match(out, /^37\n38\nerror: could not query MySQL .*aborted/);
  });
});
