// KEDA's redis trigger: the length of a list (or the size of a set, sorted set or hash) on one Redis
// server. Also the connection shared with redis-streams, as KEDA shares it: addresses or host/port
// lists, ACL user and password, database index, TLS from enableTLS or the TriggerAuthentication.

import type { Redis, RedisOptions } from 'ioredis';
import { commonJsExports, lazyModule } from './lazy-module.ts';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type ConnectionOptions } from 'node:tls';
import schema from '../../schemas/scalers/redis.schema.json' with { type: 'json' };
import { redact } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema, type ParamSources } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';
import { abortable, errorText } from './abort.ts';
import { AcquireError, clientsFor, type ClientRegistry, type Connector } from './clients.ts';

const ioredis = lazyModule(async () => commonJsExports(await import('ioredis')));

/** The connection parameters KEDA's redisConnectionInfo reads, after aliases are folded in. */
export interface RedisConnectionParams {
  address?: string;
  host?: string;
  port?: string;
  username?: string;
  password?: string;
  sentinelPassword?: string;
  unsafeSsl: boolean;
  cert?: string;
  key?: string;
  keyPassword?: string;
  ca?: string;
  databaseIndex: number;
  enableTLS?: string;
  tls?: 'enable' | 'disable';
}

interface RedisListParams extends RedisConnectionParams {
  listName: string;
  listLength: number;
  activationListLength: number;
}

// The key's type is looked up and measured in one atomic step, as KEDA does. KEDA's own script fails with
// an obscure Lua error on other types; this one says which type it found.
const LENGTH_SCRIPT = `
local t = redis.call('TYPE', KEYS[1]).ok
local cmd = ({ zset = 'ZCARD', set = 'SCARD', list = 'LLEN', hash = 'HLEN', none = 'LLEN' })[t]
if not cmd then return redis.error_reply('unsupported key type "' .. t .. '"') end
return redis.call(cmd, KEYS[1])
`;

export const createRedisScaler: ScalerFactory = (ctx) => {
  const p = parseParams<RedisListParams>(schema as ParamSchema, redisSources(ctx));
  const conn = new RedisConnection(redisTarget(p), ctx.clients);

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`redis-${p.listName}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.listLength,
      activationTarget: p.activationListLength,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const length = await conn.run(m, 'error getting list length', async (c) => {
        const n = await c.eval(LENGTH_SCRIPT, 1, p.listName);
        if (typeof n !== 'number') throw new Error(`expected an integer reply, got ${typeof n}`);
        return n;
      });
      return { value: length, active: length > p.activationListLength };
    },
    close: () => conn.close(),
  } satisfies Scaler;
};

// ---------------------------------------------------------------------------------------------------
// Parameters shared with redis-streams

/** KEDA reads several names for one parameter, in this order, within each source in turn. */
const ALIASES: ReadonlyArray<readonly [canonical: string, ...names: string[]]> = [
  ['address', 'address', 'addresses'],
  ['host', 'host', 'hosts'],
  ['port', 'port', 'ports'],
  ['cert', 'Cert', 'cert'],
];

/** The trigger's sources with each alias folded into its canonical name, so parseParams reads one key. */
export function redisSources(ctx: Pick<ScalerContext, 'trigger' | 'authParams' | 'resolvedEnv'>): ParamSources {
  const metadata = { ...(ctx.trigger.metadata ?? {}) };
  const authParams = { ...ctx.authParams };
  const resolvedEnv = ctx.resolvedEnv;
  const firstIn = (m: Record<string, string>, names: string[]): string | undefined =>
    names.map((n) => m[n]?.trim()).find((v) => !!v);
  for (const [canonical, ...names] of ALIASES) {
    for (const m of [metadata, authParams]) {
      const v = firstIn(m, names);
      if (v) m[canonical] = v;
      else delete m[canonical];
    }
    // `<name>FromEnv` names an env var; the first name whose variable holds a value wins
    const fromEnv = names.map((n) => metadata[`${n}FromEnv`]?.trim()).find((envName) => !!envName && !!resolvedEnv[envName]?.trim());
    if (fromEnv) metadata[`${canonical}FromEnv`] = fromEnv;
    else delete metadata[`${canonical}FromEnv`];
  }
  return { metadata, authParams, resolvedEnv };
}

export interface RedisTarget {
  host: string;
  port: number;
  /** host:port as the user wrote it, for messages */
  where: string;
  username?: string;
  password?: string;
  db: number;
  tls?: ConnectionOptions;
  /** values that must never appear in a message */
  secrets: string[];
}

/** Checks the connection parameters as KEDA's Validate does and resolves the server to talk to. */
export function redisTarget(p: RedisConnectionParams): RedisTarget {
  const list = (s: string | undefined): string[] => (s === undefined ? [] : s.split(',').map((x) => x.trim()));
  const addresses = list(p.address);
  const hosts = list(p.host);
  const ports = list(p.port);
  if (hosts.length > 0 && ports.length > 0) {
    if (hosts.length !== ports.length) {
      throw new ScalerConfigError('port', 'not enough hosts or ports given: the number of hosts must equal the number of ports');
    }
    hosts.forEach((h, i) => addresses.push(joinHostPort(h, ports[i]!)));
  }
  const first = addresses[0];
  if (!first) {
    throw new ScalerConfigError(
      'address',
      'no addresses or hosts given: address must be a comma separated list of host:port, or set host and port',
    );
  }
  const { host, port } = splitHostPort(first);

  let tlsOn = false;
  if (p.enableTLS !== undefined && p.tls !== undefined) {
    throw new ScalerConfigError('tls', 'unable to set `tls` in both ScaledObject and TriggerAuthentication together');
  }
  if (p.enableTLS !== undefined) tlsOn = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(p.enableTLS);
  if (p.tls !== undefined) tlsOn = p.tls === 'enable';

  let tls: ConnectionOptions | undefined;
  if (tlsOn) {
    // like KEDA, a given CA is added to the system roots rather than replacing them
    const ca = p.ca ? [...rootCertificates, p.ca] : undefined;
    tls = {
      rejectUnauthorized: !p.unsafeSsl,
      ...(isIP(host) ? {} : { servername: host }),
      ...(p.cert ? { cert: p.cert } : {}),
      ...(p.key ? { key: p.key } : {}),
      ...(p.keyPassword ? { passphrase: p.keyPassword } : {}),
      ...(ca ? { ca } : {}),
    };
    try {
      createSecureContext(tls);
    } catch {
      // the PEM itself is never echoed: it may be a private key
      throw new ScalerConfigError(
        'cert',
        'parameters "cert", "key", "keyPassword" and "ca" must be valid PEM (a matching certificate and key, the right passphrase)',
      );
    }
  }
  return {
    host,
    port,
    where: first,
    ...(p.username ? { username: p.username } : {}),
    ...(p.password ? { password: p.password } : {}),
    db: p.databaseIndex,
    ...(tls ? { tls } : {}),
    secrets: [p.password, p.sentinelPassword, p.key, p.keyPassword].filter((s): s is string => !!s),
  };
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's net.SplitHostPort, with a numeric port: what go-redis dials. */
function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(address) ?? /^([^:[\]]*):([^:]*)$/.exec(address);
  const bad = (why: string): never => {
    throw new ScalerConfigError('address', `address "${address}" is not host:port: ${why}`);
  };
  if (!m) return bad(address.includes(':') ? 'too many colons (write an IPv6 host as [::1]:6379)' : 'missing port');
  const port = m[2]!;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) bad(`invalid port "${port}"`);
  return { host: m[1] || 'localhost', port: Number(port) };
}

// ---------------------------------------------------------------------------------------------------
// The connection

// go-redis's defaults, which KEDA keeps: 5 s to connect, 3 s for a reply
const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 3000;
// closing waits this long for the server to close its side; a hung server has its socket destroyed
const CLOSE_GRACE_MS = 500;

interface RedisClient {
  redis: Redis;
  /** the last 'error' event: the only place ioredis puts why a socket dropped */
  cause?: unknown;
}

/**
 * One server as the parameters name it. Its connections come from the pass's pool for that server,
 * user and TLS settings; any failure but a reply error drops the one it happened on, so a pass that gave
 * up on a server never holds a socket open. Every message names the server and never carries a secret.
 */
export class RedisConnection {
  readonly #target: RedisTarget;
  readonly #clients: ReturnType<typeof clientsFor>;
  readonly #connector: Connector<RedisClient>;

  constructor(target: RedisTarget, clients: ClientRegistry | undefined) {
    this.#target = target;
    this.#clients = clientsFor(clients);
    this.#connector = { open: (signal, lost) => this.#connect(signal, lost), close: async (c) => c.redis.disconnect(), destroy: (c) => c.redis.disconnect() };
  }

  /** Runs `fn` on a connected client; rejects as soon as `m.signal` aborts. */
  async run<T>(m: Pick<ScalerContext, 'signal' | 'clients'>, what: string, fn: (client: Redis) => Promise<T>): Promise<T> {
    const t = this.#target;
    const pool = this.#clients.get(m.clients).pool('redis', t, this.#connector);
    try {
      return await pool.use(
        m.signal,
        async (c) => {
          try {
            return await abortable(fn(c.redis), m.signal, () => c.redis.disconnect());
          } catch (err) {
            // with TLS 1.3 a refused client certificate arrives after connect() resolved: the command only
            // sees "Connection is closed", the 'error' event has the reason
            throw isReplyError(err) || m.signal.aborted || c.cause === undefined ? err : c.cause;
          }
        },
        // a reply error leaves the connection usable; anything else (timeout, lost socket) does not
        (err) => !isReplyError(err),
      );
    } catch (err) {
      if (err instanceof AcquireError) throw new Error(redact(`connection to redis at ${t.where} failed: ${errorText(err.cause)}`, t.secrets));
      throw new Error(redact(`${what} from redis at ${t.where}: ${errorText(err)}`, t.secrets));
    }
  }

  close(): Promise<void> {
    return this.#clients.close();
  }

  async #connect(signal: AbortSignal, lost: () => void): Promise<RedisClient> {
    const t = this.#target;
    const options: RedisOptions = {
      host: t.host,
      port: t.port,
      username: t.username,
      password: t.password,
      db: t.db,
      tls: t.tls,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      disconnectTimeout: CLOSE_GRACE_MS,
      // one attempt: a short pass reports the failure rather than waiting for the server to come back
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: false,
      // RESP2 replies have the same shape on every server version, HELLO-capable or not
      protocol: 2,
      disableClientInfo: true,
    };
    const { Redis: Client } = await ioredis.load();
    const c: RedisClient = { redis: new Client(options) };
    let connected = false;
    // the cause of a failed connect reaches only the 'error' event; connect() just says the connection closed
    c.redis.on('error', (err: unknown) => {
      c.cause = err;
    });
    c.redis.on('close', () => connected && lost());
    try {
      await abortable(c.redis.connect(), signal, () => c.redis.disconnect());
    } catch (err) {
      c.redis.disconnect();
      throw signal.aborted ? err : c.cause ?? err;
    }
    connected = true;
    return c;
  }
}

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}
