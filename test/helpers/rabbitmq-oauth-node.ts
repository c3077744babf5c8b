// A private RabbitMQ node that authenticates with OAuth 2.0 only (the rabbitmq_auth_backend_oauth2
// plugin of the machine's Debian RabbitMQ), started by a test and stopped at its end.
//
// The machine's shared RabbitMQ (5672/15672, guest/guest) is never reconfigured: this node has its own
// name, ports (AMQP, Erlang distribution, management, all picked free), data, logs, config, plugins
// file and Erlang cookie (HOME), all in one temporary directory, and ignores /etc/rabbitmq. It trusts
// one RSA key made here: JWTs that sign() makes with it (RS256) are what the node accepts, as it would
// accept those of a real authorization server sharing its signing key.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from './scalers.ts';

const SERVER_SCRIPTS = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/lib/rabbitmq/sbin/rabbitmq-server'];
const START_TIMEOUT_MS = 120_000;
const KEY_ID = 'scalepass-test-key';

export interface OAuthNode {
  /** http://127.0.0.1:<port>, the management API */
  managementUrl: string;
  amqpPort: number;
  /** the audience and scope prefix the node expects */
  resourceServerId: string;
  /** how long the node took from spawn until the management API accepted a token, in ms */
  startMs: number;
  /** A JWT the node accepts, with these scopes (prefixed with the resource server id by the caller). */
  sign(claims: { scope: string[]; aud?: string[]; expiresInSeconds?: number; sub?: string }): string;
  /** The management API as an administrator (setup: queues, publishing, reading stats). */
  admin(method: string, apiPath: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

function serverScript(): string {
  const found = SERVER_SCRIPTS.find((p) => existsSync(p));
  if (!found) throw new Error(`rabbitmq-oauth-node: no rabbitmq-server script at ${SERVER_SCRIPTS.join(' or ')} (install the Debian rabbitmq-server package)`);
  return found;
}

export async function startOAuthNode(resourceServerId = 'scalepass'): Promise<OAuthNode> {
  const script = serverScript();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scalepass-rabbit-oauth-'));
  const [amqpPort, distPort, mgmtPort] = [await closedPort(), await closedPort(), await closedPort()];
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(dir, 'signing-key.pem');
  await fs.writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  await fs.mkdir(path.join(dir, 'home'));
  await fs.mkdir(path.join(dir, 'conf.d'));
  await fs.writeFile(path.join(dir, 'rabbitmq-env.conf'), '');
  await fs.writeFile(path.join(dir, 'enabled_plugins'), '[rabbitmq_management,rabbitmq_auth_backend_oauth2].\n');
  await fs.writeFile(path.join(dir, 'rabbitmq.conf'), [
    `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
    `management.tcp.ip = 127.0.0.1`,
    `management.tcp.port = ${mgmtPort}`,
    // queue statistics every 0.5 s instead of 5 s, so a test waits less for the counts it published
    'collect_statistics_interval = 500',
    // OAuth 2.0 only: no internal users, so every request this node answers carried a valid token
    'auth_backends.1 = rabbit_auth_backend_oauth2',
    `auth_oauth2.resource_server_id = ${resourceServerId}`,
    `auth_oauth2.default_key = ${KEY_ID}`,
    `auth_oauth2.signing_keys.${KEY_ID} = ${keyFile}`,
    '',
  ].join('\n'));

  const nodeName = `scalepass-oauth-${process.pid}-${crypto.randomBytes(2).toString('hex')}@localhost`;
  const env: NodeJS.ProcessEnv = {};
  // nothing of the machine's node's settings (RABBITMQ_*, ERL_*) leaks in
  for (const [k, v] of Object.entries(process.env)) if (!/^(RABBITMQ_|ERL_)/.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: path.join(dir, 'home'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONFIG_FILES: path.join(dir, 'conf.d'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MOTD_FILE: path.join(dir, 'motd'),
    // the machine's epmd is shared (a name registration, not a reconfiguration); distribution stays on loopback
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  });

  const outFile = path.join(dir, 'stdout.log');
  const out = await fs.open(outFile, 'w');
  const t0 = Date.now();
  // its own process group: stop() ends the script, the Erlang VM and its helpers together
  const child: ChildProcess = spawn(script, [], { env, detached: true, stdio: ['ignore', out.fd, out.fd] });
  await out.close();
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // a test process that dies without its after() still takes the node with it
  const killGroup = (): void => {
    try {
      if (child.pid && !exited) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);

  const managementUrl = `http://127.0.0.1:${mgmtPort}`;
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign: OAuthNode['sign'] = ({ scope, aud = [resourceServerId], expiresInSeconds = 300, sub = 'scalepass-test' }) => {
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg: 'RS256', typ: 'JWT', kid: KEY_ID });
    const body = b64({ iss: 'scalepass-test', sub, client_id: sub, aud, scope, iat: now, exp: now + expiresInSeconds, jti: crypto.randomUUID() });
    return `${head}.${body}.${crypto.sign('sha256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url')}`;
  };
  const adminToken = (): string =>
    sign({ scope: ['tag:administrator', 'configure:*/*', 'write:*/*', 'read:*/*'].map((s) => `${resourceServerId}.${s}`) });
  const admin: OAuthNode['admin'] = async (method, apiPath, body) => {
    const r = await fetch(`${managementUrl}${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (r.status >= 300) throw new Error(`rabbitmq-oauth-node: management API ${method} ${apiPath}: ${r.status} ${await r.text()}`);
    return r;
  };

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killGroup);
    // a throwaway node: no graceful shutdown (it takes about 6 s), its data is deleted anyway
    killGroup();
    if (child.pid) await exit;
    await fs.rm(dir, { recursive: true, force: true });
  };

  const logTail = async (): Promise<string> => {
    const parts: string[] = [];
    for (const f of [outFile, path.join(dir, 'log', `${nodeName}.log`)]) {
      const text = await fs.readFile(f, 'utf8').catch(() => '');
      if (text) parts.push(`--- ${path.basename(f)}\n${text.trimEnd().split('\n').slice(-30).join('\n')}`);
    }
    return parts.join('\n') || '(no log written)';
  };

  // ready when the management API answers an administrator's token: the plugins are up and the key is trusted
  let last = '';
  while (Date.now() - t0 < START_TIMEOUT_MS) {
    const failed = await Promise.race([spawnError, exit.then(() => undefined), new Promise<null>((r) => setTimeout(r, 250, null))]);
    if (failed !== null) {
      const why = failed instanceof Error ? `could not be started: ${failed.message}` : `exited (${exited?.signal ?? `code ${exited?.code}`})`;
      const tail = await logTail();
      await stop();
      throw new Error(`rabbitmq-oauth-node: the private RabbitMQ node ${nodeName} ${why} before its management API answered; last lines of its log:\n${tail}`);
    }
    try {
      const r = await fetch(`${managementUrl}/api/overview`, { headers: { authorization: `Bearer ${adminToken()}` }, signal: AbortSignal.timeout(2000) });
      if (r.status === 200) {
        await r.body?.cancel();
        return { managementUrl, amqpPort, resourceServerId, startMs: Date.now() - t0, sign, admin, stop };
      }
      last = `HTTP ${r.status} ${(await r.text()).slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
  }
  const tail = await logTail();
  await stop();
  throw new Error(
    `rabbitmq-oauth-node: the private RabbitMQ node ${nodeName} did not answer a token on ${managementUrl}/api/overview within ${START_TIMEOUT_MS} ms (last: ${last}); last lines of its log:\n${tail}`,
  );
}
