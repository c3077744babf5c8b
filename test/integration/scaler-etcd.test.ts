// The etcd trigger against real etcd servers: the harness's etcd (the one the kube-apiserver uses; keys
// here live under a prefix of their own), and throwaway etcds started here from the harness binary for
// what must not be switched on in the shared one: password authentication, and TLS with client certificates.
// Values are written through etcd's JSON gateway, as `etcdctl put` would.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';
import { harness } from '../helpers/harness.ts';
import { rejection, scalerFactory, type ScalerOptions, runScript } from '../helpers/scalers.ts';
import { freePorts } from '../harness/src/ports.ts';

const ETCD_BIN = fileURLToPath(new URL('../harness/bin/etcd', import.meta.url));
const REGISTRY = fileURLToPath(new URL('../../src/scalers/registry.ts', import.meta.url));
const PREFIX = `/scalepass-test/etcd-scaler-${randomBytes(3).toString('hex')}/`;

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

/** One call to etcd's JSON gateway; TLS material for a server that requires a client certificate. */
async function gateway(endpoint: string, path: string, body: unknown, o: { token?: string; tls?: Tls } = {}): Promise<Record<string, unknown>> {
  const url = new URL(path, endpoint);
  const text = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http)
      .request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.token ? { authorization: o.token } : {}) },
        ...(o.tls ?? {}),
      }, (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  if (text.status !== 200) throw new Error(`${path}: HTTP ${text.status} ${text.body}`);
  return JSON.parse(text.body) as Record<string, unknown>;
}

function put(endpoint: string, key: string, value: string, o: { token?: string; tls?: Tls } = {}) {
  return gateway(endpoint, '/v3/kv/put', { key: b64(key), value: b64(value) }, o);
}

/** Every key from `prefix` on: range_end is the prefix with its last byte incremented. */
function deletePrefix(endpoint: string, prefix: string) {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return gateway(endpoint, '/v3/kv/deleterange', { key: b64(prefix), range_end: b64(end) });
}

// ---------------------------------------------------------------------------------------------------
// Throwaway etcd servers

interface Etcd {
  endpoint: string;
  stop(): Promise<void>;
}

async function startEtcd(name: string, tls?: { dir: string; ca: string; cert: string; key: string; client: Tls }, extra: string[] = []): Promise<Etcd> {
  const [client, peer] = (await freePorts(2)) as [number, number];
  const dataDir = mkdtempSync(join(tmpdir(), `etcd-${name}-`));
  const scheme = tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${client}`;
  const args = [
    `--name=${name}`, `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`, `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=${name}=http://127.0.0.1:${peer}`, '--unsafe-no-fsync=true', '--log-level=warn',
    ...(tls ? [`--cert-file=${tls.cert}`, `--key-file=${tls.key}`, `--trusted-ca-file=${tls.ca}`, '--client-cert-auth=true'] : []),
    ...extra,
  ];
  const child: ChildProcess = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  for (;;) {
    try {
      await gateway(endpoint, '/v3/kv/range', { key: b64('/') }, tls ? { tls: tls.client } : {});
      return { endpoint, stop };
    } catch (e) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) {
        await stop();
        throw new Error(`etcd ${name} did not start: ${(e as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// ---------------------------------------------------------------------------------------------------

let endpoint = '';
const { scaler, read, open } = scalerFactory('etcd', { metadata: () => ({ endpoints: new URL(endpoint).host, value: '5' }), readTimeoutMs: 10_000 });
const holders: Server[] = [];
const held: Socket[] = [];

before(async () => {
  const h = await harness();
  endpoint = h.state.etcdEndpoint;
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const s of held) s.destroy();
  for (const s of holders) s.close();
  if (endpoint) await deletePrefix(endpoint, PREFIX);
});

function failure(s: Scaler, signal?: AbortSignal) {
  return rejection(() => read(s, signal), 'the measurement succeeded');
}

/** A port that accepts connections and never answers. */
async function silentEndpoint(): Promise<string> {
  const srv = createServer((sock) => held.push(sock));
  holders.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(srv.address() as { port: number }).port}`;
}

async function closedEndpoint(): Promise<string> {
  const [port] = (await freePorts(1)) as [number];
  return `127.0.0.1:${port}`;
}

describe('etcd: value and activity', () => {
  it('reads 37 from the key: active above activationValue 36.5, inactive at activationValue 37', async () => {
    const key = `${PREFIX}queue/length`;
    await put(endpoint, key, '37');
    assert.deepEqual(await read(scaler({ watchKey: key, activationValue: '36.5' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ watchKey: key, activationValue: '37' })), { value: 37, active: false });
  });

  it('without activationValue, 0 is inactive and 0.5 active', async () => {
    const key = `${PREFIX}zero`;
    await put(endpoint, key, '0');
    const s = scaler({ watchKey: key });
    assert.deepEqual(await read(s), { value: 0, active: false });
    await put(endpoint, key, '0.5');
    assert.deepEqual(await read(s), { value: 0.5, active: true });
  });

  it('reads what Go\'s ParseFloat reads: 5.5, 1e3, 0x1p4', async () => {
    for (const [text, v] of [['5.5', 5.5], ['1e3', 1000], ['0x1p4', 16]] as const) {
      const key = `${PREFIX}float`;
      await put(endpoint, key, text);
      assert.equal((await read(scaler({ watchKey: key }))).value, v, text);
    }
  });

  it('a negative value is reported as 0, while activity compares the value itself', async () => {
    const key = `${PREFIX}negative`;
    await put(endpoint, key, '-2');
    assert.deepEqual(await read(scaler({ watchKey: key, activationValue: '-3' })), { value: 0, active: true });
  });

  it('names the metric s<index>-etcd-<watchKey>, normalised, with the target from value', () => {
    const s = scaler({ watchKey: '/keda/scale.len', value: '5.5', activationValue: '0.5' }, { triggerIndex: 2 });
    assert.deepEqual(s.spec, { metricName: 's2-etcd--keda-scale-len', metricType: 'AverageValue', target: 5.5, activationTarget: 0.5 });
  });

  it('accepts KEDA\'s host:port endpoints and http:// URLs alike', async () => {
    const key = `${PREFIX}url`;
    await put(endpoint, key, '4');
    assert.equal((await read(scaler({ endpoints: endpoint, watchKey: key }))).value, 4);
  });

  it('falls over to the next endpoint when the first is down', async () => {
    const key = `${PREFIX}failover`;
    await put(endpoint, key, '9');
    const s = scaler({ endpoints: `${await closedEndpoint()}, ${new URL(endpoint).host}`, watchKey: key });
    assert.deepEqual(await read(s), { value: 9, active: true });
  });
});

describe('etcd: values that cannot be read', () => {
  it('a key that does not exist is an error, as in KEDA (not 0)', async () => {
    const key = `${PREFIX}absent`;
    const { message } = await failure(scaler({ watchKey: key }));
    assert.equal(message, `error getting metric value: watchKey ${key} doesn't exist`);
  });

  it('a value that is not a number is an error showing the key and the value', async () => {
    const key = `${PREFIX}text`;
    await put(endpoint, key, 'twelve');
    const { message } = await failure(scaler({ watchKey: key }));
    assert.equal(message, `error getting metric value: the value of watchKey ${key} is not a number: "twelve"`);
  });

  it('an empty value, or one with spaces around the number, is not a number either (Go\'s ParseFloat)', async () => {
    for (const text of ['', ' 5', '5\n', '1_000']) {
      const key = `${PREFIX}odd`;
      await put(endpoint, key, text);
      assert.match((await failure(scaler({ watchKey: key }))).message, /is not a number/, JSON.stringify(text));
    }
  });

  it('a number beyond float64 is out of range', async () => {
    const key = `${PREFIX}huge`;
    await put(endpoint, key, '1e400');
    assert.match((await failure(scaler({ watchKey: key }))).message, /out of the range/);
  });
});

describe('etcd: servers that do not answer', () => {
  it('etcd down: rejects at once, naming every endpoint tried', async () => {
    const [a, b] = [await closedEndpoint(), await closedEndpoint()];
    const { message, ms } = await failure(scaler({ endpoints: `${a},${b}`, watchKey: `${PREFIX}x` }), AbortSignal.timeout(5000));
    assert.match(message, /^error getting metric value: no etcd endpoint answered: /);
    assert.ok(message.includes(`http://${a}/`) && message.includes(`http://${b}/`), message);
    assert.match(message, /ECONNREFUSED/);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  it('a server that never answers is abandoned when the pass aborts the measurement', async () => {
    const { message, ms } = await failure(scaler({ endpoints: await silentEndpoint(), watchKey: `${PREFIX}x` }), AbortSignal.timeout(300));
    assert.match(message, /aborted \(.*timeout/i);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('a server that never answers is given up after KEDA\'s 5 s even when the pass allows more', async () => {
    const silent = await silentEndpoint();
    const { message, ms } = await failure(scaler({ endpoints: silent, watchKey: `${PREFIX}x` }), AbortSignal.timeout(30_000));
    assert.equal(message, `error getting metric value: no answer from http://${silent}/ within 5000 ms`);
    assert.ok(ms >= 4900 && ms < 8000, `took ${ms} ms`);
  });
});

describe('etcd: configuration errors', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, string]> = [
    ['no endpoints', { endpoints: '' }, {}, 'endpoints'],
    ['endpoints that are only commas', { endpoints: ' , ,', watchKey: '/k' }, {}, 'endpoints'],
    ['an endpoint with another scheme', { endpoints: 'unix:///run/etcd.sock', watchKey: '/k' }, {}, 'endpoints'],
    ['no watchKey', {}, {}, 'watchKey'],
    ['no value', { watchKey: '/k', value: '' }, {}, 'value'],
    ['a value that is not a number', { watchKey: '/k', value: 'five' }, {}, 'value'],
    ['an activationValue that is not a number', { watchKey: '/k', activationValue: 'x' }, {}, 'activationValue'],
    ['watchProgressNotifyInterval 0', { watchKey: '/k', watchProgressNotifyInterval: '0' }, {}, 'watchProgressNotifyInterval'],
    ['watchProgressNotifyInterval that is not an integer', { watchKey: '/k', watchProgressNotifyInterval: '1.5' }, {}, 'watchProgressNotifyInterval'],
    ['tls neither enable nor disable', { watchKey: '/k' }, { tls: 'true' }, 'tls'],
    ['a password without a username', { watchKey: '/k' }, { password: 'pw-never-shown' }, 'username'],
    ['a username without a password', { watchKey: '/k' }, { username: 'scaler' }, 'password'],
    ['a key without a cert under tls enable', { watchKey: '/k' }, { tls: 'enable', key: 'KEY-MATERIAL' }, 'cert'],
    ['a cert without a key under tls enable', { watchKey: '/k' }, { tls: 'enable', cert: 'CERT' }, 'key'],
    ['a cert and key that are not PEM', { watchKey: '/k' }, { tls: 'enable', cert: 'CERT', key: 'KEY-MATERIAL' }, 'cert'],
  ];
  for (const [what, md, auth, field] of cases) {
    it(`refuses ${what}, naming the field "${field}"`, () => {
      assert.throws(() => scaler(md, { authParams: auth }), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field);
        assert.ok(e.message.includes(`"${field}"`), e.message);
        for (const secret of ['pw-never-shown', 'KEY-MATERIAL']) assert.ok(!e.message.includes(secret), `the error shows a secret: ${e.message}`);
        return true;
      });
    });
  }
});

describe('etcd: password authentication (a throwaway etcd with auth enabled)', () => {
  let etcd: Etcd;
  const key = '/jobs/pending';
  const password = 's3cret-Pa55word';

  before(async () => {
    // tokens live 1 s here, so that a pass outliving its token can be shown
    etcd = await startEtcd('auth', undefined, ['--auth-token-ttl=1']);
    const g = (path: string, body: unknown) => gateway(etcd.endpoint, path, body);
    await put(etcd.endpoint, key, '12');
    await put(etcd.endpoint, '/private/x', '1');
    // etcd enables auth only with a root user holding the root role, as `etcdctl auth enable` arranges
    await g('/v3/auth/role/add', { name: 'root' });
    await g('/v3/auth/user/add', { name: 'root', password: 'root-pw' });
    await g('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await g('/v3/auth/role/add', { name: 'jobs-reader' });
    await g('/v3/auth/role/grant', { name: 'jobs-reader', perm: { permType: 'READ', key: b64('/jobs/'), range_end: b64('/jobs0') } });
    await g('/v3/auth/user/add', { name: 'scaler', password });
    await g('/v3/auth/user/grant', { user: 'scaler', role: 'jobs-reader' });
    await g('/v3/auth/enable', {});
  });

  after(async () => {
    await etcd?.stop();
  });

  const on = (md: Record<string, string>, o: ScalerOptions = {}) => scaler({ endpoints: etcd.endpoint, watchKey: key, ...md }, o);

  it('reads the key as the user from the TriggerAuthentication', async () => {
    assert.deepEqual(await read(on({}, { authParams: { username: 'scaler', password } })), { value: 12, active: true });
  });

  it('reads the key with usernameFromEnv and passwordFromEnv', async () => {
    const s = on({ usernameFromEnv: 'ETCD_USER', passwordFromEnv: 'ETCD_PASSWORD' }, { resolvedEnv: { ETCD_USER: 'scaler', ETCD_PASSWORD: password } });
    assert.deepEqual(await read(s), { value: 12, active: true });
  });

  it('a token that expired during the pass is renewed once, and the read goes on', async () => {
    const s = on({}, { authParams: { username: 'scaler', password } });
    assert.equal((await read(s)).value, 12);
    const early = (await gateway(etcd.endpoint, '/v3/auth/authenticate', { name: 'scaler', password })).token as string;
    await put(etcd.endpoint, key, '13', { token: await rootToken() });
    // every use of a simple token extends its life: wait untouched, then look once
    await new Promise((r) => setTimeout(r, 3000));
    const expired = await gateway(etcd.endpoint, '/v3/kv/range', { key: b64(key) }, { token: early }).then(() => false, (e: Error) => /invalid auth token/.test(e.message));
    assert.ok(expired, 'the etcd token did not expire');
    assert.equal((await read(s)).value, 13);
    await put(etcd.endpoint, key, '12', { token: await rootToken() });
  });

  it('a wrong password is refused, and the error never shows the password', async () => {
    const wrong = 'wr0ng-Pa55word';
    const { message } = await failure(on({}, { authParams: { username: 'scaler', password: wrong } }));
    assert.match(message, /authenticating as user "scaler" at http:\/\/127\.0\.0\.1:\d+\/: etcdserver: authentication failed, invalid user ID or password/);
    assert.ok(!message.includes(wrong) && !message.includes(password), `the error shows a password: ${message}`);
  });

  it('no credentials against an etcd with auth: the server\'s refusal is shown', async () => {
    assert.match((await failure(on({}))).message, /etcdserver: user name is empty/);
  });

  it('a key the user may not read: permission denied', async () => {
    const { message } = await failure(scaler({ endpoints: etcd.endpoint, watchKey: '/private/x' }, { authParams: { username: 'scaler', password } }));
    assert.match(message, /reading key "\/private\/x" at .*: etcdserver: permission denied \(HTTP 403\)/);
    assert.ok(!message.includes(password));
  });

  async function rootToken(): Promise<string> {
    return (await gateway(etcd.endpoint, '/v3/auth/authenticate', { name: 'root', password: 'root-pw' })).token as string;
  }
});

describe('etcd: TLS with client certificates (a throwaway etcd requiring them)', () => {
  let etcd: Etcd;
  let dir = '';
  let pem: { ca: string; cert: string; key: string; encryptedKey: string };
  const key = '/tls/queue';
  const keyPassword = 'key-Pa55phrase';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-tls-'));
    const f = (name: string) => join(dir, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=etcd-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    // etcd's gateway dials its own gRPC port with the server certificate, so that one is a client too
    for (const [who, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
      writeFileSync(f(`${who}.ext`), `${ext}\n`);
      ssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who}`);
      ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.crt`), '-days', '2', '-extfile', f(`${who}.ext`));
    }
    ssl('pkcs8', '-topk8', '-in', f('client.key'), '-out', f('client-enc.key'), '-passout', `pass:${keyPassword}`, '-v2', 'aes-256-cbc');
    const r = (name: string) => readFileSync(f(name), 'utf8');
    pem = { ca: r('ca.crt'), cert: r('client.crt'), key: r('client.key'), encryptedKey: r('client-enc.key') };
    etcd = await startEtcd('tls', { dir, ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key'), client: { ca: pem.ca, cert: pem.cert, key: pem.key } });
    await put(etcd.endpoint, key, '21', { tls: { ca: pem.ca, cert: pem.cert, key: pem.key } });
  });

  after(async () => {
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const hostPort = () => new URL(etcd.endpoint).host;

  it('tls enable with ca, cert and key reads the key over https from a host:port endpoint', async () => {
    const s = scaler({ endpoints: hostPort(), watchKey: key }, { authParams: { tls: 'enable', ca: pem.ca, cert: pem.cert, key: pem.key } });
    assert.deepEqual(await read(s), { value: 21, active: true });
  });

  it('an encrypted key is opened with keyPassword', async () => {
    const s = scaler({ endpoints: hostPort(), watchKey: key }, { authParams: { tls: 'enable', ca: pem.ca, cert: pem.cert, key: pem.encryptedKey, keyPassword } });
    assert.deepEqual(await read(s), { value: 21, active: true });
  });

  it('a wrong keyPassword is a configuration error that shows neither the key nor the password', () => {
    assert.throws(
      () => scaler({ endpoints: hostPort(), watchKey: key }, { authParams: { tls: 'enable', ca: pem.ca, cert: pem.cert, key: pem.encryptedKey, keyPassword: 'not-it' } }),
      (e: unknown) => e instanceof ScalerConfigError && e.field === 'cert' && !e.message.includes('not-it') && !e.message.includes(pem.encryptedKey.split('\n')[1]!),
    );
  });

  it('without the CA the server certificate is refused', async () => {
    const { message } = await failure(scaler({ endpoints: hostPort(), watchKey: key }, { authParams: { tls: 'enable', cert: pem.cert, key: pem.key } }));
    assert.match(message, /no etcd endpoint answered: https:\/\/127\.0\.0\.1:\d+\/ \(.*(certificate|UNABLE_TO_VERIFY|SELF_SIGNED)/i);
  });

  it('without a client certificate the server refuses the connection', async () => {
    const { message } = await failure(scaler({ endpoints: hostPort(), watchKey: key }, { authParams: { tls: 'enable', ca: pem.ca } }));
    assert.match(message, /no etcd endpoint answered: https:\/\/127\.0\.0\.1:\d+\//);
  });

  it('tls disable speaks plain http to a TLS endpoint given as host:port, and fails', async () => {
    assert.match((await failure(scaler({ endpoints: hostPort(), watchKey: key }))).message, /error getting metric value: /);
  });
});

describe('etcd: the run ends', () => {
  it('a process that read a key and closed the scaler exits by itself', async () => {
    const key = `${PREFIX}exit`;
    await put(endpoint, key, '3');
    const script = `
      const { createScaler } = await import(${JSON.stringify(REGISTRY)});
      const s = createScaler({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0,
        trigger: { type: 'etcd', metadata: { endpoints: ${JSON.stringify(endpoint)}, watchKey: ${JSON.stringify(key)}, value: '1' } }, authParams: {}, resolvedEnv: {} });
      const r = await s.measure({ signal: AbortSignal.timeout(5000) });
      await s.close();
      console.log(JSON.stringify(r));
    `;
    const { code, stdout: out, stderr: err } = await runScript(script);
    assert.notEqual(code, null, `the process was still running 10 s after close(); stderr: ${err}`);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { value: 3, active: true });
  });
});
