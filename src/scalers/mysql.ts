// KEDA's mysql trigger: run a query and read one number from its first row. The connection is a Go MySQL
// DSN (what KEDA's go-sql-driver reads) or separate host/port/dbName/username/password.

import type * as mysql from 'mysql2';
import { lazyModule } from './lazy-module.ts';
import schema from '../../schemas/scalers/mysql.schema.json' with { type: 'json' };
import { redact } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';
import { abortable, errorText } from './abort.ts';
import { AcquireError, clientsFor, type ClientRegistry, type Connector } from './clients.ts';

const mysql2 = lazyModule(() => import('mysql2').then((m) => m.default));

interface MysqlParams {
  query: string;
  queryValue: number;
  activationQueryValue: number;
  connectionString?: string;
  username?: string;
  password?: string;
  host?: string;
  port?: string;
  dbName?: string;
}

type TlsMode = 'off' | 'verify' | 'skip-verify' | 'preferred';

/** What a DSN or the separate parameters resolve to. */
interface MysqlTarget {
  host?: string;
  port?: number;
  socketPath?: string;
  user: string;
  password: string;
  database: string;
  tls: TlsMode;
  connectTimeoutMs: number;
}

// go-sql-driver waits as long as the OS lets a dial wait; a pass must not
const CONNECT_TIMEOUT_MS = 5000;
// a backstop only: the pass's per-trigger signal normally ends a slow query much sooner
const QUERY_TIMEOUT_MS = 60_000;
const CLOSE_GRACE_MS = 500;
// server errors after which the session is gone: ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (KILL CONNECTION)
const SESSION_ENDED = new Set([1053, 1927]);

export const createMysqlScaler: ScalerFactory = (ctx) => {
  const p = parseParams<MysqlParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  const target = p.connectionString !== undefined ? parseDsn(p.connectionString) : fromParameters(p);
  // KEDA names the metric after the text behind the DSN's last "/", parameters included
  const dbName = p.connectionString !== undefined ? p.connectionString.slice(p.connectionString.lastIndexOf('/') + 1) : (p.dbName ?? '');
  // the DSN itself never enters a message; the password it holds might, through a driver's text
  const secrets = [p.password, target.password].filter((s): s is string => !!s);
  const conn = new MysqlEndpoint(target, secrets);
  const clients = clientsFor(ctx.clients);

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`mysql-${dbName}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.queryValue,
      activationTarget: p.activationQueryValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const value = await conn.queryNumber(clients.get(m.clients), p.query, m.signal);
      return { value, active: value > p.activationQueryValue };
    },
    close: () => clients.close(),
  } satisfies Scaler;
};

function fromParameters(p: MysqlParams): MysqlTarget {
  // KEDA would dial ":port" (this machine) or "host:" (no port) and fail there; saying so up front is clearer
  for (const field of ['host', 'port'] as const) {
    if (!p[field]) {
      throw new ScalerConfigError(
        field,
        `missing required parameter "${field}" in [metadata, authentication]: it is needed when no "connectionString" is given`,
      );
    }
  }
  if (!/^\d{1,5}$/.test(p.port!) || Number(p.port) < 1 || Number(p.port) > 65535) {
    throw new ScalerConfigError('port', `parameter "port" must be a port number, got "${p.port}"`);
  }
  return {
    host: p.host!,
    port: Number(p.port),
    user: p.username ?? '',
    password: p.password ?? '',
    database: p.dbName ?? '',
    tls: 'off',
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
}

// ---------------------------------------------------------------------------------------------------
// Go MySQL DSN: [user[:password]@][net[(addr)]]/dbname[?param=value&...], split the way go-sql-driver's
// ParseDSN does (last "/", then last "@" before it, then first ":" for the password). Messages never
// quote the DSN: it holds the password.

function parseDsn(dsn: string): MysqlTarget {
  const bad = (message: string): never => {
    throw new ScalerConfigError('connectionString', `parameter "connectionString" ${message} (value hidden)`);
  };
  const slash = dsn.lastIndexOf('/');
  if (slash < 0) bad('is not a valid DSN: missing the "/" before the database name');
  let user = '';
  let password = '';
  let net = '';
  let addr = '';
  const head = dsn.slice(0, slash);
  const at = head.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = head.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    password = colon >= 0 ? userinfo.slice(colon + 1) : '';
  }
  const protocol = head.slice(at + 1);
  const paren = protocol.indexOf('(');
  if (paren >= 0) {
    if (!protocol.endsWith(')')) bad('is not a valid DSN: the address must be enclosed in "(...)"');
    addr = protocol.slice(paren + 1, -1);
    net = protocol.slice(0, paren);
  } else {
    net = protocol;
  }
  const rest = dsn.slice(slash + 1);
  const q = rest.indexOf('?');
  let database: string;
  try {
    database = decodeURIComponent(q >= 0 ? rest.slice(0, q) : rest);
  } catch {
    return bad('has a database name that is not correctly percent-encoded');
  }

  let tls: TlsMode = 'off';
  let connectTimeoutMs = CONNECT_TIMEOUT_MS;
  for (const part of q >= 0 ? rest.slice(q + 1).split('&') : []) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) bad('is not a valid DSN: a parameter has no "="');
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'tls') {
      const v = value.toLowerCase();
      if (['1', 't', 'true'].includes(v)) tls = 'verify';
      else if (['0', 'f', 'false'].includes(v)) tls = 'off';
      else if (v === 'skip-verify') tls = 'skip-verify';
      else if (v === 'preferred') tls = 'preferred';
      // go-sql-driver's other values name TLS configs registered in the program's code, which KEDA has none of
      else bad('has an unsupported tls value: use true, false, skip-verify or preferred');
    } else if (key === 'timeout') {
      const ms = durationMs(value);
      if (ms === undefined) bad('has an invalid timeout: use a duration such as 5s');
      if (ms! > 0) connectTimeoutMs = ms!;
    }
    // other parameters tune the driver (charset, parseTime, readTimeout...) and change nothing measured here
  }

  if (net === '') net = 'tcp';
  if (net === 'unix') {
    return { socketPath: addr || '/tmp/mysql.sock', user, password, database, tls, connectTimeoutMs };
  }
  if (net !== 'tcp' && net !== 'tcp6' && net !== 'tcp4') bad(`uses network "${net}": only tcp and unix are supported`);
  const hp = /^\[([^\]]*)\](?::(\d+))?$/.exec(addr) ?? /^([^:]*)(?::(\d+))?$/.exec(addr) ?? /^(.*)()$/.exec(addr)!;
  const port = Number(hp[2] || '3306');
  if (port < 1 || port > 65535) bad('has an invalid port');
  return { host: hp[1] || '127.0.0.1', port, user, password, database, tls, connectTimeoutMs };
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds. */
function durationMs(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of s.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return total;
}

// ---------------------------------------------------------------------------------------------------
// The connection

/** One server as the DSN or parameters name it: opens its connections for the pool and runs queries on them. */
class MysqlEndpoint {
  readonly #t: MysqlTarget;
  readonly #secrets: string[];
  readonly #where: string;
  readonly #connector: Connector<mysql.Connection>;

  constructor(target: MysqlTarget, secrets: string[]) {
    this.#t = target;
    this.#secrets = secrets;
    const host = target.host ?? '';
    const at = target.socketPath ?? `${host.includes(':') ? `[${host}]` : host}:${target.port}`;
    this.#where = `${at}/${target.database}`;
    this.#connector = { open: (signal, lost) => this.#connect(signal, lost), close: closeConnection, destroy: destroyConnection };
  }

  async queryNumber(clients: ClientRegistry, query: string, signal: AbortSignal): Promise<number> {
    // everything a connection is opened from is its key: one pool per server, user, database and TLS setting
    const pool = clients.pool('mysql', this.#t, this.#connector);
    let rows: unknown;
    let fields: unknown[];
    try {
      [rows, fields] = await pool.use(
        signal,
        (conn) =>
          abortable(
            conn.promise().query({ sql: query, rowsAsArray: true }),
            // not mysql2's own query timeout: its timer outlives a destroyed connection and holds the process open
            AbortSignal.any([signal, AbortSignal.timeout(QUERY_TIMEOUT_MS)]),
            () => destroyConnection(conn),
          ),
        // a server error about the query leaves the connection usable; one that ends the session, or anything else, does not
        (err) => {
          const e = err as { sqlState?: unknown; fatal?: unknown; errno?: unknown };
          return typeof e.sqlState !== 'string' || e.fatal === true || SESSION_ENDED.has(Number(e.errno));
        },
      );
    } catch (err) {
      if (err instanceof AcquireError) throw new Error(this.#text(`could not connect to MySQL at ${this.#where}: ${errorText(err.cause)}`));
      throw new Error(this.#text(`could not query MySQL at ${this.#where}: ${errorText(err)}`));
    }
    const fail = (why: string): never => {
      throw new Error(this.#text(`could not query MySQL at ${this.#where}: ${why}`));
    };
    if (!Array.isArray(rows) || !Array.isArray(fields)) return fail('the statement returned no result set');
    if (fields.length !== 1) fail(`the query must return exactly one column, it returned ${fields.length}`);
    const row = (rows[0] as unknown[] | undefined) ?? fail('the query returned no rows');
    return asFloat(row[0]) ?? fail(`the query must return a number, it returned ${describe(row[0])}`);
  }

  /** A connected connection, with go-sql-driver's TLS fallback for tls=preferred; rejects with the last attempt's error. */
  async #connect(signal: AbortSignal, lost: () => void): Promise<mysql.Connection> {
    const t = this.#t;
    // go-sql-driver's "preferred": TLS without verification when the server offers it, else plain text
    const modes: Array<false | { rejectUnauthorized: boolean }> =
      t.tls === 'off' ? [false]
        : t.tls === 'verify' ? [{ rejectUnauthorized: true }]
          : t.tls === 'skip-verify' ? [{ rejectUnauthorized: false }]
            : [{ rejectUnauthorized: false }, false];
    const lib = await mysql2.load();
    let last: unknown;
    for (const ssl of modes) {
      const conn = lib.createConnection({
        ...(t.socketPath ? { socketPath: t.socketPath } : { host: t.host, port: t.port }),
        user: t.user,
        password: t.password,
        database: t.database || undefined,
        connectTimeout: t.connectTimeoutMs,
        ...(ssl ? { ssl } : {}),
      });
      let connected = false;
      // a fatal error on an idle connection is emitted; unheard, that would end the process
      conn.on('error', () => (connected ? lost() : destroyConnection(conn)));
      conn.on('end', () => connected && lost());
      try {
        await abortable(
          new Promise<void>((resolve, reject) => conn.connect((err: unknown) => (err ? reject(err) : resolve()))),
          signal,
          () => destroyConnection(conn),
        );
        connected = true;
        return conn;
      } catch (err) {
        destroyConnection(conn);
        last = err;
        if (signal.aborted || !(ssl && t.tls === 'preferred' && /does not support secure connection/i.test(errorText(err)))) break;
      }
    }
    throw last;
  }

  #text(message: string): string {
    return redact(message, this.#secrets);
  }
}

/** A polite COM_QUIT, but a server that does not answer gets a short grace and then the socket closed. */
function closeConnection(conn: mysql.Connection): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      destroyConnection(conn);
      resolve();
    }, CLOSE_GRACE_MS);
    conn.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function destroyConnection(conn: mysql.Connection): void {
  conn.destroy();
  // mysql2's destroy() only half-closes the socket, which a server busy with the query leaves open for seconds
  (conn as unknown as { stream?: { destroy(): void } }).stream?.destroy();
}

/** database/sql's conversion into a float64: numbers, and text that strconv.ParseFloat reads. */
function asFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : undefined;
  if (s === undefined) return undefined;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^[+-]?(?:inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return undefined;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return `"${v.length > 64 ? `${v.slice(0, 64)}…` : v}"`;
  if (v instanceof Date) return 'a date';
  return Buffer.isBuffer(v) ? 'binary data' : `a ${typeof v}`;
}
