// The redis and redis-streams triggers over TLS, against throwaway redis-servers listening only on a TLS
// port: a CA given in the TriggerAuthentication, client certificates a server demands, an untrusted
// server certificate with and without unsafeSsl, and failures that never show the client's key.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { makeCa, makeTestPki } from '../helpers/pki.ts';
import { closedPort, configError, rejection, scalerFactory } from '../helpers/scalers.ts';

const REDIS_BIN = 'redis-server';
const keyPassword = 'redis-key-Pa55phrase';

// ---------------------------------------------------------------------------------------------------
// TLS material: a CA, a server certificate for 127.0.0.1, a client certificate (also encrypted), and a
// second CA that signed nothing the servers trust

interface Pki {
  dir: string;
  ca: string;
  otherCa: string;
  cert: string;
  key: string;
  encryptedKey: string;
}

function makePki(): Pki {
  const p = makeTestPki('redis-tls-pki');
  makeCa(p, 'other-ca', 'redis-tls-test-other-ca');
  p.openssl('pkcs8', '-topk8', '-in', p.file('client.key'), '-out', p.file('client-enc.key'), '-passout', `pass:${keyPassword}`, '-v2', 'aes-256-cbc');
  const r = (name: string) => readFileSync(p.file(name), 'utf8');
  return { dir: p.dir, ca: p.ca, otherCa: r('other-ca.crt'), cert: p.clientCert, key: p.clientKey, encryptedKey: r('client-enc.key') };
}

// ---------------------------------------------------------------------------------------------------
// Throwaway TLS-only redis-servers

interface TlsRedis {
  address: string;
  admin: Redis;
  stop(): Promise<void>;
}

function assertRedis6(): void {
  let version: string;
  try {
    version = execFileSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  } catch (e) {
    return assert.fail(`${REDIS_BIN} is not installed (${(e as Error).message}); these tests need a TLS-capable redis-server 6+`);
  }
  assert.match(version, /Redis server v=([6-9]|\d{2,})\./, `${REDIS_BIN} is older than 6 and cannot serve TLS: ${version.trim()}`);
}

async function startRedis(pki: Pki, authClients: boolean): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  writeFileSync(join(dir, 'ca.crt'), pki.ca);
  // the server's own key and certificate stay in the PKI dir, which after() removes
  const serverCert = join(pki.dir, 'server.crt');
  const serverKey = join(pki.dir, 'server.key');
  let lastLog = '';
  // the free port is found before redis binds it, so another process may take it first: try again
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await closedPort();
    const child: ChildProcess = spawn(REDIS_BIN, [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1',
      '--tls-cert-file', serverCert, '--tls-key-file', serverKey, '--tls-ca-cert-file', join(dir, 'ca.crt'),
      '--tls-auth-clients', authClients ? 'yes' : 'no',
      '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', '', '--daemonize', 'no',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (d: Buffer) => (log = (log + d).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    };
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const watch = () => {
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout!.on('data', watch);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) {
      await kill();
      lastLog = log;
      if (!/Address already in use/.test(log)) break;
      continue;
    }
    const admin = new Redis({
      host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0,
      tls: { ca: pki.ca, cert: pki.cert, key: pki.key },
    });
    admin.on('error', () => {});
    await admin.connect();
    await admin.ping();
    return {
      address: `127.0.0.1:${port}`,
      admin,
      async stop() {
        admin.disconnect();
        await kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  return assert.fail(`${REDIS_BIN} did not start with TLS (is it built with TLS support?):\n${lastLog}`);
}

// ---------------------------------------------------------------------------------------------------

let pki: Pki;
let tls: TlsRedis | undefined;
let mtls: TlsRedis | undefined;
const messages: string[] = [];
const redis = scalerFactory('redis', { readTimeoutMs: 8000 });
const streams = scalerFactory('redis-streams', { scaledObjectName: 'consumer', readTimeoutMs: 8000 });

/** Every failure's message, kept so the last test can check none of them shows the key. */
async function failure(p: Promise<unknown>): Promise<string> {
  const { message } = await rejection(p);
  messages.push(message);
  return message;
}

before(async () => {
  assertRedis6();
  pki = makePki();
  tls = await startRedis(pki, false);
  mtls = await startRedis(pki, true);
  await tls.admin.rpush('jobs', ...Array.from({ length: 37 }, (_, i) => `job-${i}`));
  await mtls.admin.rpush('jobs', ...Array.from({ length: 12 }, (_, i) => `job-${i}`));
  for (let i = 0; i < 9; i++) await tls.admin.xadd('events', '*', 'n', String(i));
});

after(async () => {
  await Promise.allSettled([...redis.open, ...streams.open].map((s) => s.close()));
  await Promise.allSettled([tls?.stop(), mtls?.stop()]);
  if (pki?.dir) rmSync(pki.dir, { recursive: true, force: true });
});

describe('redis over TLS: the server certificate', () => {
  it('enableTLS with the CA as the TriggerAuthentication param ca reads a list of 37 as 37', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs', enableTLS: 'true' }, { authParams: { ca: pki.ca } });
    assert.deepEqual(await redis.read(s), { value: 37, active: true });
  });

  it('tls: enable in the TriggerAuthentication switches TLS on as enableTLS does', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs' }, { authParams: { tls: 'enable', ca: pki.ca } });
    assert.deepEqual(await redis.read(s), { value: 37, active: true });
  });

  it('a server certificate no given CA signed fails verification, naming the server', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs', enableTLS: 'true' });
    const message = await failure(redis.read(s));
    assert.match(message, new RegExp(`^connection to redis at ${tls!.address.replace(/\./g, '\\.')} failed: .*(certificate|UNABLE_TO_VERIFY|SELF_SIGNED)`, 'i'));
  });

  it('a CA that did not sign the server certificate fails verification too', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs', enableTLS: 'true' }, { authParams: { ca: pki.otherCa } });
    assert.match(await failure(redis.read(s)), /certificate|UNABLE_TO_VERIFY/i);
  });

  it('the untrusted server certificate is accepted with unsafeSsl: "true"', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs', enableTLS: 'true', unsafeSsl: 'true' });
    assert.deepEqual(await redis.read(s), { value: 37, active: true });
  });

  it('without TLS the scaler cannot talk to a TLS-only port, and fails rather than hanging', async () => {
    const s = redis.scaler({ address: tls!.address, listName: 'jobs' });
    const message = await failure(redis.read(s, AbortSignal.timeout(4000)));
    assert.match(message, new RegExp(`redis at ${tls!.address.replace(/\./g, '\\.')}`));
  });
});

describe('redis over TLS: a server requiring client certificates', () => {
  it('reads the list with cert and key given as TriggerAuthentication params', async () => {
    const s = redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' }, { authParams: { ca: pki.ca, cert: pki.cert, key: pki.key } });
    assert.deepEqual(await redis.read(s), { value: 12, active: true });
  });

  it('reads the list with the cert under its alias Cert', async () => {
    const s = redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' }, { authParams: { ca: pki.ca, Cert: pki.cert, key: pki.key } });
    assert.deepEqual(await redis.read(s), { value: 12, active: true });
  });

  it('opens an encrypted key with keyPassword', async () => {
    const s = redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' },
      { authParams: { ca: pki.ca, cert: pki.cert, key: pki.encryptedKey, keyPassword } });
    assert.deepEqual(await redis.read(s), { value: 12, active: true });
  });

  it('fails, naming the server, when no client certificate is given', async () => {
    const s = redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' }, { authParams: { ca: pki.ca } });
    const message = await failure(redis.read(s));
    assert.match(message, new RegExp(`redis at ${mtls!.address.replace(/\./g, '\\.')}`));
    // under TLS 1.3 the server refuses a missing certificate only after the client's side of the handshake
    // has finished, under the first command: the message must still say it was the certificate
    assert.match(message, /certificate/i);
  });

  it('a wrong keyPassword is a configuration error before any connection is made', () => {
    configError(() => redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' },
      { authParams: { ca: pki.ca, cert: pki.cert, key: pki.encryptedKey, keyPassword: 'not-the-passphrase' } }), 'cert', /valid PEM/);
    try {
      redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' },
        { authParams: { ca: pki.ca, cert: pki.cert, key: pki.encryptedKey, keyPassword } });
    } catch (e) {
      assert.fail(`the right keyPassword was refused: ${(e as Error).message}`);
    }
    try {
      redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' },
        { authParams: { ca: pki.ca, cert: pki.cert, key: pki.encryptedKey, keyPassword: 'not-the-passphrase' } });
    } catch (e) {
      messages.push((e as Error).message);
    }
  });

  it('a client certificate from a CA the server does not trust is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-stranger-'));
    try {
      const f = (name: string) => join(dir, name);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', f('k.pem'), '-out', f('c.pem'), '-days', '2', '-subj', '/CN=stranger'], { stdio: 'pipe' });
      const key = readFileSync(f('k.pem'), 'utf8');
      const s = redis.scaler({ address: mtls!.address, listName: 'jobs', enableTLS: 'true' },
        { authParams: { ca: pki.ca, cert: readFileSync(f('c.pem'), 'utf8'), key } });
      const message = await failure(redis.read(s));
      assert.match(message, new RegExp(`redis at ${mtls!.address.replace(/\./g, '\\.')}`));
      assert.ok(!message.includes(key.trim()), 'the message shows the private key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redis-streams over TLS', () => {
  it('reads the length of a stream of 9 entries', async () => {
    const s = streams.scaler({ address: tls!.address, stream: 'events', enableTLS: 'true' }, { authParams: { ca: pki.ca } });
    assert.deepEqual(await streams.read(s), { value: 9, active: true });
  });

  it('reads it through the server requiring client certificates, and fails without them', async () => {
    await mtls!.admin.del('events');
    for (let i = 0; i < 4; i++) await mtls!.admin.xadd('events', '*', 'n', String(i));
    const ok = streams.scaler({ address: mtls!.address, stream: 'events' }, { authParams: { tls: 'enable', ca: pki.ca, cert: pki.cert, key: pki.key } });
    assert.deepEqual(await streams.read(ok), { value: 4, active: true });
    const bare = streams.scaler({ address: mtls!.address, stream: 'events' }, { authParams: { tls: 'enable', ca: pki.ca } });
    assert.match(await failure(streams.read(bare)), new RegExp(`redis at ${mtls!.address.replace(/\./g, '\\.')}`));
  });

  it('an untrusted server certificate fails, and is accepted with unsafeSsl', async () => {
    const strict = streams.scaler({ address: tls!.address, stream: 'events', enableTLS: 'true' });
    assert.match(await failure(streams.read(strict)), /certificate|UNABLE_TO_VERIFY/i);
    const lax = streams.scaler({ address: tls!.address, stream: 'events', enableTLS: 'true', unsafeSsl: 'true' });
    assert.deepEqual(await streams.read(lax), { value: 9, active: true });
  });
});

describe('redis over TLS: secrets in messages', () => {
  it('no failure above showed the client key, the encrypted key or the keyPassword', () => {
    assert.ok(messages.length >= 8, `only ${messages.length} failures were collected`);
    const secrets = [pki.key.trim(), pki.encryptedKey.trim(), keyPassword, 'not-the-passphrase'];
    // a fragment of a key's base64 body would leak it as surely as the whole PEM
    const bodies = [pki.key, pki.encryptedKey].map((k) => k.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!);
    for (const m of messages) {
      for (const s of [...secrets, ...bodies]) assert.ok(!m.includes(s), `a message shows a secret: ${m}`);
    }
  });
});
