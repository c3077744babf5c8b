// Many ScaledObjects on one database, one pass: the triggers share a few connections instead of opening
// one each. The database user is limited server-side (PostgreSQL's CONNECTION LIMIT, MariaDB's
// MAX_USER_CONNECTIONS) to the pass's per-endpoint bound, so a pass that opened more sessions than that
// would see objects fail with the server's refusal. Credentials come from a Secret, as users keep them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { create, deployment, scaledObject, pass } from '../helpers/fixtures.ts';
import { MAX_PER_ENDPOINT } from '../../src/scalers/clients.ts';

const id = crypto.randomBytes(4).toString('hex');
const OBJECTS = 150;
const ROWS = 37;

/** Runs fn over items with at most `limit` in flight, so creating 300 objects does not flood the apiserver. */
async function bounded<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Asks the server until it reports `n` (a closed session's entry goes as its backend exits), for up to 2 s. */
async function settlesTo(n: number, count: () => Promise<number>): Promise<number> {
  let now = await count();
  for (let i = 0; i < 40 && now !== n; i++) {
    await new Promise((r) => setTimeout(r, 50));
    now = await count();
  }
  return now;
}

describe('backend connections in one pass', () => {
  let h: Harness;
  let kubeconfig: string;
  const namespaces: string[] = [];

  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
  });

  after(async () => {
    for (const ns of namespaces) await h.admin.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
  });

  /** 150 Deployments at 4 replicas, each with a ScaledObject whose trigger reads the same table with the same Secret. */
  async function objects(type: string, secret: Record<string, string>, metadata: Record<string, string>): Promise<string> {
    const ns = await h.namespace(`e2e-conn-${type}`);
    namespaces.push(ns);
    await h.admin.create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: secret });
    await create(h, ns, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'db' },
      spec: { secretTargetRef: Object.keys(secret).map((k) => ({ parameter: k, name: 'db', key: k })) } } as never);
    const names = Array.from({ length: OBJECTS }, (_, i) => `worker-${i}`);
    // ceil(37 / 10) = 4 = the replicas they have: every object is evaluated, none needs scaling
    await bounded(names, 16, async (name) => {
      await create(h, ns, deployment(name, 4));
      await create(h, ns, scaledObject(name, { scaleTargetRef: { name }, pollingInterval: 1,
        triggers: [{ type, metadata, authenticationRef: { name: 'db' } }] }));
    });
    return ns;
  }

  async function onePass(ns: string): Promise<void> {
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.deepEqual(p.report.denied, [], 'RBAC denials');
    assert.equal(p.report.objects.length, OBJECTS);
    const failed = p.report.objects.filter((o) => o.outcome !== 'evaluated' || o.triggers.some((t) => t.error));
    assert.deepEqual(failed.slice(0, 3).map((o) => `${o.name}: ${o.detail ?? o.triggers.find((t) => t.error)?.error}`), [],
      `${failed.length} of ${OBJECTS} objects were not evaluated`);
    assert.ok(p.report.objects.every((o) => o.triggers[0]!.value === ROWS), 'every trigger read the table');
    assert.equal(p.code, 0, p.stderr.slice(-2000));
  }

  it(`${OBJECTS} ScaledObjects on one PostgreSQL are all evaluated in one pass with at most ${MAX_PER_ENDPOINT} sessions`, async () => {
    const role = `sp_conn_${id}`;
    const password = `pw-${id}`;
    const table = `conn_jobs_${id}`;
    const admin = new pg.Client({ connectionString: h.state.services.postgresql });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT ${MAX_PER_ENDPOINT}`);
      await admin.query(`CREATE TABLE ${table} (id serial primary key)`);
      await admin.query(`INSERT INTO ${table} SELECT FROM generate_series(1, ${ROWS})`);
      await admin.query(`GRANT SELECT ON ${table} TO ${role}`);
      const ns = await objects('postgresql', { connection: `postgresql://${role}:${password}@127.0.0.1:5432/test?sslmode=disable` },
        // a short sleep keeps each session busy for a moment, so the triggers overlap as on a loaded server
        { query: `SELECT count(*) FROM ${table}, pg_sleep(0.01)`, targetQueryValue: '10' });
      await onePass(ns);
      const sessions = async () => (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [role])).rows[0].n as number;
      assert.equal(await settlesTo(0, sessions), 0, 'sessions of the role left open after the pass');
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it(`${OBJECTS} ScaledObjects on one MariaDB are all evaluated in one pass with at most ${MAX_PER_ENDPOINT} sessions`, async () => {
    const user = `sp_conn_${id}`;
    const password = `pw-${id}`;
    const table = `conn_jobs_${id}`;
    const admin = await mysql.createConnection(h.state.services.mariadb!);
    try {
      await admin.query('CREATE USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ?', [user, '%', password, MAX_PER_ENDPOINT]);
      await admin.query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY)`);
      await admin.query(`INSERT INTO ${table} VALUES ${Array.from({ length: ROWS }, () => '()').join(',')}`);
      await admin.query(`GRANT SELECT ON test.${table} TO ?@?`, [user, '%']);
      const ns = await objects('mysql', { connectionString: `${user}:${password}@tcp(127.0.0.1:3306)/test` },
        { query: `SELECT COUNT(*) + SLEEP(0.01) FROM ${table}`, queryValue: '10' });
      await onePass(ns);
      const sessions = async () => ((await admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]))[0] as Array<{ n: number }>)[0]!.n;
      assert.equal(await settlesTo(0, sessions), 0, 'sessions of the user left open after the pass');
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await admin.query('DROP USER IF EXISTS ?@?', [user, '%']).catch(() => undefined);
      await admin.end();
    }
  });

  it(`${OBJECTS} ScaledObjects on one HTTP endpoint (metrics-api) share at most ${MAX_PER_ENDPOINT} connections in one pass`, async () => {
    // the user's API, counting the TCP connections the pass opens to it
    let connections = 0;
    const server = http.createServer((req, res) => {
      // a short delay keeps requests overlapping, as on a loaded API
      setTimeout(() => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ queue: { depth: ROWS } })); }, 5);
    });
    server.on('connection', () => { connections++; });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/depth`;
    try {
      const ns = await h.namespace('e2e-conn-http');
      namespaces.push(ns);
      const names = Array.from({ length: OBJECTS }, (_, i) => `worker-${i}`);
      await bounded(names, 16, async (name) => {
        await create(h, ns, deployment(name, 4));
        await create(h, ns, scaledObject(name, { scaleTargetRef: { name }, pollingInterval: 1,
          triggers: [{ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '10' } }] }));
      });
      await onePass(ns);
      assert.ok(connections >= 1 && connections <= MAX_PER_ENDPOINT, `${connections} connections for ${OBJECTS} triggers on one endpoint`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
