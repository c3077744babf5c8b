// KEDA's postgresql trigger: run a query and read one number from its first row. The connection is a
// libpq connection string (key/value or URL) or separate host/port/userName/dbName/sslmode/password,
// with libpq's sslmode semantics as pgx (KEDA's driver) applies them.

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type * as pg from 'pg';
import { lazyModule } from './lazy-module.ts';
import type { ConnectionOptions } from 'node:tls';
import schema from '../../schemas/scalers/postgresql.schema.json' with { type: 'json' };
import { redact } from './http.ts';
import { metricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';
import { abortable, errorText } from './abort.ts';
import { AcquireError, clientsFor, type ClientRegistry, type Connector } from './clients.ts';

const pgLib = lazyModule(() => import('pg').then((m) => m.default));
/** a server's error reply; pg is loaded by then, since only a connection can produce one */
const isDatabaseError = (err: unknown): err is pg.DatabaseError => pgLib.loaded !== undefined && err instanceof pgLib.loaded.DatabaseError;

type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

interface PostgresParams {
  query: string;
  targetQueryValue: number;
  activationTargetQueryValue: number;
  connection?: string;
  host?: string;
  port?: string;
  userName?: string;
  dbName?: string;
  sslmode?: SslMode;
  password?: string;
}

/** What a connection string or the separate parameters resolve to. */
interface PgTarget {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslpassword?: string;
  connectTimeoutMs: number;
  applicationName?: string;
  options?: string;
}

// libpq waits forever without connect_timeout; a pass must not, and 5 s is what KEDA's other drivers allow
const CONNECT_TIMEOUT_MS = 5000;
// a backstop only: the pass's per-trigger signal normally ends a slow query much sooner
const QUERY_TIMEOUT_MS = 60_000;
const CLOSE_GRACE_MS = 500;
// int2, int4, int8, float4, float8, numeric: the column types pgx scans into a float64
const NUMERIC_TYPES = new Set([21, 23, 20, 700, 701, 1700]);

export const createPostgresqlScaler: ScalerFactory = (ctx) => {
  const p = parseParams<PostgresParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  if (!p.targetQueryValue && !ctx.asMetricSource) {
    throw new ScalerConfigError('targetQueryValue', 'missing required parameter "targetQueryValue" in [metadata] (0 counts as missing)');
  }
  const target = p.connection !== undefined ? fromConnectionString(p.connection) : fromParameters(p);
  // the connection string itself never enters a message; the passwords it holds might, through a driver's text
  const secrets = [p.password, target.password, target.sslpassword].filter((s): s is string => !!s);
  const conn = new PgEndpoint(target, secrets);
  const clients = clientsFor(ctx.clients);

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, 'postgresql'),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.targetQueryValue,
      activationTarget: p.activationTargetQueryValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const value = await conn.queryNumber(clients.get(m.clients), p.query, m.signal);
      return { value, active: value > p.activationTargetQueryValue };
    },
    close: () => clients.close(),
  } satisfies Scaler;
};

function fromParameters(p: PostgresParams): PgTarget {
  for (const field of ['host', 'port', 'userName', 'dbName', 'sslmode'] as const) {
    if (!p[field]) {
      throw new ScalerConfigError(
        field,
        `missing required parameter "${field}" in [authentication, metadata]: it is needed when no "connection" is given`,
      );
    }
  }
  return {
    host: p.host!,
    port: portNumber(p.port!, 'port', `parameter "port" must be a port number, got "${p.port}"`),
    user: p.userName!,
    ...(p.password ? { password: p.password } : {}),
    database: p.dbName!,
    sslmode: p.sslmode!,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
}

function portNumber(s: string, field: string, message: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new ScalerConfigError(field, message);
  return Number(s);
}

// ---------------------------------------------------------------------------------------------------
// libpq connection strings. Messages name keys, never values: any of them may be (or hold) the password.

const CONNECTION_KEYS = new Set([
  'host', 'port', 'user', 'password', 'dbname', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'connect_timeout',
  'application_name', 'options',
]);

// read by libpq or pgx themselves rather than sent to the server as settings
const CLIENT_ONLY_KEYS = new Set([
  'hostaddr', 'passfile', 'sslsni', 'sslnegotiation', 'sslcompression', 'sslcrl', 'sslcrldir', 'ssl_min_protocol_version',
  'ssl_max_protocol_version', 'krbsrvname', 'krbspn', 'gsslib', 'gssencmode', 'gssdelegation', 'channel_binding', 'require_auth',
  'target_session_attrs', 'load_balance_hosts', 'service', 'servicefile', 'keepalives', 'keepalives_idle', 'keepalives_interval',
  'keepalives_count', 'tcp_user_timeout', 'requirepeer', 'replication', 'fallback_application_name', 'min_read_buffer_size',
  'statement_cache_capacity', 'description_cache_capacity', 'default_query_exec_mode',
]);

function fromConnectionString(s: string): PgTarget {
  const kv = /^postgres(?:ql)?:\/\//.test(s) ? parseUrl(s) : parseKeyValue(s);
  const bad = (message: string): never => {
    throw new ScalerConfigError('connection', `parameter "connection" ${message} (value hidden)`);
  };
  // libpq treats an empty value as an absent one
  const opt = (key: string): string | undefined => kv.get(key) || undefined;
  const sslmode = opt('sslmode') ?? 'prefer';
  if (!SSL_MODES.includes(sslmode)) bad(`has an invalid sslmode: must be one of ${SSL_MODES.join(', ')}`);
  // of several hosts libpq would try in turn, the first is used
  const host = (opt('hostaddr') ?? opt('host'))?.split(',')[0];
  const port = opt('port')?.split(',')[0];
  const timeout = opt('connect_timeout');
  if (timeout !== undefined && !/^\d+$/.test(timeout)) bad('has an invalid connect_timeout: must be a whole number of seconds');
  const extra: string[] = [];
  for (const [k, v] of kv) {
    if (CONNECTION_KEYS.has(k) || CLIENT_ONLY_KEYS.has(k)) continue;
    // pgx sends any other key as a server setting at startup; `-c` in options does the same
    extra.push(`-c ${k}=${v.replace(/[\\ ]/g, '\\$&')}`);
  }
  const options = [opt('options'), ...extra].filter(Boolean).join(' ');
  return {
    ...(host ? { host } : {}),
    ...(port ? { port: portNumber(port, 'connection', 'parameter "connection" has an invalid port (value hidden)') } : {}),
    ...(opt('user') ? { user: opt('user') } : {}),
    ...(opt('password') ? { password: opt('password') } : {}),
    ...(opt('dbname') ? { database: opt('dbname') } : {}),
    sslmode: sslmode as SslMode,
    ...(opt('sslrootcert') ? { sslrootcert: opt('sslrootcert') } : {}),
    ...(opt('sslcert') ? { sslcert: opt('sslcert') } : {}),
    ...(opt('sslkey') ? { sslkey: opt('sslkey') } : {}),
    ...(opt('sslpassword') ? { sslpassword: opt('sslpassword') } : {}),
    // libpq rounds anything below 2 s up to 2 s; its 0 (or absent) would wait forever, which a pass must not
    connectTimeoutMs: timeout && Number(timeout) > 0 ? Math.max(2, Number(timeout)) * 1000 : CONNECT_TIMEOUT_MS,
    ...(opt('application_name') ? { applicationName: opt('application_name') } : {}),
    ...(options ? { options } : {}),
  };
}

/** `key=value key='quoted \' value'`, libpq's key/value form. */
function parseKeyValue(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const bad = (message: string): never => {
    throw new ScalerConfigError('connection', `parameter "connection" is not a valid connection string: ${message} (value hidden)`);
  };
  let i = 0;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  for (;;) {
    ws();
    if (i >= s.length) break;
    const key = /^[^=\s]+/.exec(s.slice(i))?.[0] ?? bad('expected a key');
    i += key.length;
    ws();
    // the key is not echoed: in a mistyped string it may be part of the password
    if (s[i] !== '=') bad(`missing "=" after a key at character ${i + 1}`);
    i++;
    ws();
    let value = '';
    if (s[i] === "'") {
      i++;
      for (;;) {
        if (i >= s.length) bad(`unterminated quoted value for key "${key}"`);
        const c = s[i++]!;
        if (c === "'") break;
        value += c === '\\' && i < s.length ? s[i++] : c;
      }
    } else {
      while (i < s.length && !/\s/.test(s[i]!)) {
        const c = s[i++]!;
        value += c === '\\' && i < s.length ? s[i++] : c;
      }
    }
    out.set(key === 'database' ? 'dbname' : key, value);
  }
  return out;
}

/** `postgresql://user:password@host:port/dbname?key=value`, libpq's URL form. */
function parseUrl(s: string): Map<string, string> {
  const bad = (message: string): never => {
    throw new ScalerConfigError('connection', `parameter "connection" is not a valid connection URL: ${message} (value hidden)`);
  };
  const m = /^postgres(?:ql)?:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(s) ?? bad('expected postgresql://[user[:password]@][host][:port][/dbname][?key=value...]');
  const decode = (x: string, what: string): string => {
    try {
      return decodeURIComponent(x);
    } catch {
      return bad(`the ${what} is not correctly percent-encoded`);
    }
  };
  const out = new Map<string, string>();
  const authority = m[1]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    out.set('user', decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user'));
    if (colon >= 0) out.set('password', decode(userinfo.slice(colon + 1), 'password'));
  }
  const hostspec = (at >= 0 ? authority.slice(at + 1) : authority).split(',')[0]!;
  const hp = /^\[([^\]]*)\](?::(\d*))?$/.exec(hostspec) ?? /^([^:]*)(?::(\d*))?$/.exec(hostspec) ?? bad('the host is not host[:port]');
  if (hp[1]) out.set('host', decode(hp[1], 'host'));
  if (hp[2]) out.set('port', hp[2]);
  if (m[2]) out.set('dbname', decode(m[2], 'database name'));
  for (const part of (m[3] ?? '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) bad('a query parameter has no "="');
    const key = decode(part.slice(0, eq), 'query');
    out.set(key === 'database' ? 'dbname' : key, decode(part.slice(eq + 1), 'query'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The connection

type Attempt = { tls: false } | { tls: true; verify: 'none' | 'chain' | 'full' };

/** The connections pgx tries for an sslmode, in order: prefer falls back to plain text, allow to TLS. */
function attempts(t: PgTarget): Attempt[] {
  const noVerify: Attempt = { tls: true, verify: 'none' };
  switch (t.sslmode) {
    case 'disable':
      return [{ tls: false }];
    case 'allow':
      return [{ tls: false }, noVerify];
    case 'prefer':
      return [noVerify, { tls: false }];
    case 'require':
      // libpq: require with a root certificate verifies the chain, as verify-ca does
      return [t.sslrootcert ? { tls: true, verify: 'chain' } : noVerify];
    case 'verify-ca':
      return [{ tls: true, verify: 'chain' }];
    case 'verify-full':
      return [{ tls: true, verify: 'full' }];
  }
}

// the server's verdicts that another TLS mode cannot change (pgx stops on the same three)
const FINAL_CODES = new Set(['28P01', '3D000', '42501']);

/** One server as the connection parameters name it: opens its connections for the pool and runs queries on them. */
class PgEndpoint {
  readonly #t: PgTarget;
  readonly #secrets: string[];
  readonly #where: string;
  readonly #connector: Connector<pg.Client>;

  constructor(target: PgTarget, secrets: string[]) {
    this.#t = target;
    this.#secrets = secrets;
    const host = target.host ?? 'localhost';
    this.#where = `${host.includes(':') ? `[${host}]` : host}:${target.port ?? 5432}${target.database ? `/${target.database}` : ''}`;
    this.#connector = { open: (signal, lost) => this.#connect(signal, lost), close: closeClient, destroy: destroyClient };
  }

  async queryNumber(clients: ClientRegistry, query: string, signal: AbortSignal): Promise<number> {
    // everything a connection is opened from is its key: one pool per server, role, database and TLS setting
    const pool = clients.pool('postgresql', this.#t, this.#connector);
    // extended protocol, as pgx uses: one statement only, like KEDA
    const config = { text: query, rowMode: 'array' as const, queryMode: 'extended' };
    let result: pg.QueryArrayResult;
    try {
      result = await pool.use(
        signal,
        (client) =>
          abortable(client.query<unknown[]>(config), AbortSignal.any([signal, AbortSignal.timeout(QUERY_TIMEOUT_MS)]), () => {
            // as pgx does on a cancelled context: the server stops the query instead of running it to the end
            this.#cancelQuery(client);
            destroyClient(client);
          }),
        // an error about the query leaves the session usable; a FATAL one (the server ended it) or any other does not
        (err) => !isDatabaseError(err) || err.severity === 'FATAL' || err.severity === 'PANIC',
      );
    } catch (err) {
      if (err instanceof AcquireError) throw new Error(this.#text(`could not connect to postgreSQL at ${this.#where}: ${errorText(err.cause)}`));
      throw new Error(this.#text(`could not query postgreSQL at ${this.#where}: ${errorText(err)}`));
    }
    const fail = (why: string): never => {
      throw new Error(this.#text(`could not query postgreSQL at ${this.#where}: ${why}`));
    };
    if (result.fields.length !== 1) fail(`the query must return exactly one column, it returned ${result.fields.length}`);
    const row = result.rows[0] ?? fail('the query returned no rows');
    const v = row[0];
    if (v === null || v === undefined) return fail('the query returned NULL, not a number');
    if (!NUMERIC_TYPES.has(result.fields[0]!.dataTypeID)) {
      fail(`the query must return a number, its column has type oid ${result.fields[0]!.dataTypeID}`);
    }
    return typeof v === 'number' ? v : Number(v);
  }

  /** A connected client, trying the TLS modes sslmode allows in pgx's order; rejects with the last attempt's error. */
  async #connect(signal: AbortSignal, lost: () => void): Promise<pg.Client> {
    const lib = await pgLib.load();
    let last: unknown;
    for (const attempt of attempts(this.#t)) {
      let client: pg.Client;
      try {
        client = new lib.Client(this.#config(attempt));
      } catch (err) {
        last = err;
        break;
      }
      let connected = false;
      // an idle client that loses its server emits 'error'; unheard, that would end the process
      client.on('error', () => (connected ? lost() : destroyClient(client)));
      client.on('end', () => connected && lost());
      try {
        await abortable(client.connect(), signal, () => destroyClient(client));
        connected = true;
        return client;
      } catch (err) {
        destroyClient(client);
        last = err;
        if (signal.aborted || (isDatabaseError(err) && FINAL_CODES.has(err.code ?? ''))) break;
      }
    }
    throw last;
  }

  #config(a: Attempt): pg.ClientConfig {
    const t = this.#t;
    let ssl: boolean | ConnectionOptions = false;
    if (a.tls) {
      const file = (path: string | undefined, what: string): string | undefined => {
        if (!path) return undefined;
        try {
          return readFileSync(path, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${what} "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      };
      const ca = t.sslrootcert === 'system' ? undefined : file(t.sslrootcert, 'sslrootcert');
      ssl = {
        rejectUnauthorized: a.verify !== 'none',
        ...(a.verify === 'chain' ? { checkServerIdentity: () => undefined } : {}),
        ...(ca ? { ca } : {}),
        ...(t.sslcert ? { cert: file(t.sslcert, 'sslcert') } : {}),
        ...(t.sslkey ? { key: file(t.sslkey, 'sslkey') } : {}),
        ...(t.sslpassword ? { passphrase: t.sslpassword } : {}),
      };
    }
    return {
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
      ssl,
      connectionTimeoutMillis: t.connectTimeoutMs,
      ...(t.applicationName ? { application_name: t.applicationName } : {}),
      ...(t.options ? { options: t.options } : {}),
    };
  }

  /** PostgreSQL's CancelRequest for the client's backend, sent on a connection of its own; best effort. */
  #cancelQuery(client: pg.Client): void {
    const { processID, secretKey } = client as unknown as { processID: number | null; secretKey: number | null };
    if (processID === null || secretKey === null) return;
    const host = this.#t.host ?? 'localhost';
    const port = this.#t.port ?? 5432;
    const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
    const message = Buffer.alloc(16);
    message.writeInt32BE(16, 0);
    message.writeInt32BE(80877102, 4);
    message.writeInt32BE(processID, 8);
    message.writeInt32BE(secretKey, 12);
    socket.setTimeout(CLOSE_GRACE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('connect', () => socket.end(message));
  }

  #text(message: string): string {
    return redact(message, this.#secrets);
  }
}

/** A polite Terminate, but a server that does not answer gets a short grace and then the socket closed. */
async function closeClient(client: pg.Client): Promise<void> {
  const timer = setTimeout(() => destroyClient(client), CLOSE_GRACE_MS);
  try {
    await client.end();
  } catch {
    // the connection is gone either way
  } finally {
    clearTimeout(timer);
  }
}

/** Destroy, not end(): end() waits for the server, which may be the thing that hangs. */
function destroyClient(client: pg.Client): void {
  client.connection.stream.destroy();
}
