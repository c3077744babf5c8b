// KEDA's rabbitmq trigger: how many messages a queue holds (or how fast they are published and
// delivered), read over AMQP with a passive queue declare or from the HTTP management API (with basic
// auth, or an OAuth2 client-credentials token as KEDA gets one).

import { createPrivateKey } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type * as amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { lazyModule } from './lazy-module.ts';
import schema from '../../schemas/scalers/rabbitmq.schema.json' with { type: 'json' };
import { describeUrl, HttpClient, httpTimeoutMs, redact, redactedExcerpt, type Secret } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory, type ScalerTelemetry } from './types.ts';
import { abortable } from './abort.ts';
import { ClientCredentialsTokens, endpointParams, endpointParamsConflict, scopeList, type ClientCredentials } from './oauth2-client-credentials.ts';

const amqplib = lazyModule(() => import('amqplib').then((m) => m.default));

type Mode = 'QueueLength' | 'MessageRate' | 'DeliverGetRate' | 'PublishedToDeliveredRatio' | 'ExpectedQueueConsumptionTime';

interface RabbitParams {
  queueName: string;
  mode?: Mode;
  value?: number;
  activationValue: number;
  queueLength?: number;
  host: string;
  protocol: 'auto' | 'amqp' | 'http';
  vhostName?: string;
  useRegex: boolean;
  excludeUnacknowledged: boolean;
  pageSize: number;
  operation: 'sum' | 'avg' | 'max';
  timeout?: string;
  unsafeSsl: boolean;
  username?: string;
  password?: string;
  tls: 'enable' | 'disable';
  ca?: string;
  cert?: string;
  key?: string;
  keyPassword?: string;
  workloadIdentityResource?: string;
  oauthTokenURI?: string;
  clientID?: string;
  clientSecret?: string;
  scopes?: string;
  scope?: string;
  endpointParams?: string;
}

/** What one read of the queue (or the queues a regex matched) gives. */
interface QueueStatus {
  messages: number;
  publishRate: number;
  deliverRate: number;
}

const DEFAULT_QUEUE_LENGTH = 20;
// amqp091-go's dial timeout, which KEDA keeps: AMQP takes no per-trigger timeout
const AMQP_DIAL_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 1000;

export const createRabbitMqScaler: ScalerFactory = (ctx) => {
  const p = parseParams<RabbitParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  const { protocol, oauth } = validate(p);
  const { mode, target } = resolveMode(p, protocol);
  const secrets: Secret[] = [p.password, p.key, p.keyPassword, p.clientSecret, ...hostPassword(p.host)].filter((s): s is string => !!s);
  // the pair too: the management API gets it as basic auth, whose base64 a backend may echo
  const hostInfo = hostUrl(p.host);
  const password = p.password ?? unescapeUserInfo(hostInfo?.password ?? '');
  if (password) secrets.push({ user: p.username ?? unescapeUserInfo(hostInfo?.username ?? ''), password });
  const tls = p.tls === 'enable' ? tlsMaterial(p) : undefined;
  const source =
    protocol === 'amqp'
      ? amqpSource(p, tls, `keda-${ctx.namespace}-${ctx.scaledObjectName}`)
      : httpSource(p, tls, secrets, oauth);

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`rabbitmq-${goQueryEscape(p.queueName)}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target,
      activationTarget: p.activationValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      let status: QueueStatus;
      try {
        status = await source.read(m.signal, m.telemetry);
      } catch (err) {
        throw new Error(anonymize(`error inspecting RabbitMQ: ${(err as Error).message}`, secrets));
      }
      return reading(mode, status, p.activationValue);
    },
    close: () => source.close(),
  } satisfies Scaler;
};

// ---------------------------------------------------------------------------------------------------
// Metadata rules beyond the schema (KEDA's Validate and validateTrigger, in its order)

function validate(p: RabbitParams): { protocol: 'amqp' | 'http'; oauth?: ClientCredentials } {
  if (!!p.cert !== !!p.key) throw new ScalerConfigError(p.cert ? 'key' : 'cert', 'parameters "cert" and "key" must be given together');
  if (!!p.username !== !!p.password) {
    throw new ScalerConfigError(p.username ? 'password' : 'username', 'parameters "username" and "password" must be given together');
  }
  let protocol: 'amqp' | 'http';
  if (p.protocol !== 'auto') {
    protocol = p.protocol;
  } else {
    const scheme = hostUrl(p.host)?.protocol;
    if (scheme === 'amqp:' || scheme === 'amqps:') protocol = 'amqp';
    else if (scheme === 'http:' || scheme === 'https:') protocol = 'http';
    else {
      // the host usually carries a password: name the scheme only
      const shown = scheme ? `"${scheme.slice(0, -1)}"` : 'none';
      throw new ScalerConfigError('host', `parameter "host" must start with amqp://, amqps://, http:// or https:// to pick the protocol (scheme found: ${shown})`);
    }
  }
  if (p.workloadIdentityResource) {
    throw new ScalerConfigError('workloadIdentityResource', 'parameter "workloadIdentityResource" (Azure workload identity) is not supported: give username and password');
  }
  const oauth = clientCredentials(p, protocol);
  if (p.useRegex && protocol !== 'http') throw new ScalerConfigError('useRegex', 'parameter "useRegex" works only with the HTTP protocol');
  if (p.excludeUnacknowledged && protocol !== 'http') {
    throw new ScalerConfigError('excludeUnacknowledged', 'parameter "excludeUnacknowledged" works only with the HTTP protocol');
  }
  return oauth ? { protocol, oauth } : { protocol };
}

const OAUTH_REQUIRED = ['oauthTokenURI', 'clientID', 'clientSecret'] as const;

/** KEDA's validateOAuth2: all three from the TriggerAuthentication or none, HTTP only, no username/password. */
function clientCredentials(p: RabbitParams, protocol: 'amqp' | 'http'): ClientCredentials | undefined {
  if (!OAUTH_REQUIRED.some((k) => p[k])) return undefined;
  const missing = OAUTH_REQUIRED.find((k) => !p[k]);
  if (missing) {
    throw new ScalerConfigError(missing, `OAuth2 needs oauthTokenURI, clientID and clientSecret in the TriggerAuthentication: "${missing}" is missing`);
  }
  if (protocol === 'amqp') {
    throw new ScalerConfigError('oauthTokenURI', 'OAuth2 authentication works only with the HTTP protocol (an http:// or https:// host), not AMQP');
  }
  if (p.username && p.password) {
    throw new ScalerConfigError('username', 'OAuth2 authentication cannot be combined with username and password');
  }
  const tokenUrl = hostUrl(p.oauthTokenURI!);
  if (tokenUrl?.protocol !== 'http:' && tokenUrl?.protocol !== 'https:') {
    throw new ScalerConfigError('oauthTokenURI', 'parameter "oauthTokenURI" must be an http:// or https:// URL (value hidden)');
  }
  const scopes = scopeList(p.scopes ?? p.scope);
  const params = endpointParams(p.endpointParams);
  const conflict = endpointParamsConflict(scopes, params);
  if (conflict) {
    throw new ScalerConfigError('endpointParams', `parameter "endpointParams" cannot set "${conflict}" when "scopes" is given (x/oauth2 refuses to overwrite it)`);
  }
  return { tokenUrl, clientId: p.clientID!, clientSecret: p.clientSecret!, scopes, endpointParams: params };
}

function resolveMode(p: RabbitParams, protocol: 'amqp' | 'http'): { mode: Mode; target: number } {
  // KEDA treats 0 as "not given" for value and queueLength
  const value = p.value || undefined;
  const queueLength = p.queueLength || undefined;
  let result: { mode: Mode; target: number };
  if (queueLength === undefined && p.mode === undefined && value === undefined) {
    result = { mode: 'QueueLength', target: DEFAULT_QUEUE_LENGTH };
  } else if (queueLength !== undefined) {
    if (p.mode !== undefined || value !== undefined) {
      throw new ScalerConfigError('queueLength', 'parameter "queueLength" is deprecated and cannot be combined with "mode" or "value": use mode and value');
    }
    result = { mode: 'QueueLength', target: queueLength };
  } else if (p.mode === undefined) {
    throw new ScalerConfigError('mode', 'missing required parameter "mode" in [metadata] (required with "value")');
  } else if (value === undefined) {
    throw new ScalerConfigError('value', 'missing required parameter "value" in [metadata] (required with "mode"; 0 counts as missing)');
  } else {
    result = { mode: p.mode, target: value };
  }
  if (result.mode !== 'QueueLength' && protocol !== 'http') {
    throw new ScalerConfigError('mode', `parameter "mode" ${result.mode} needs the HTTP protocol (an http:// or https:// host)`);
  }
  // a timeout of 0 falls back to the global default, so two different defaults expose it (and a bad value throws)
  const timeoutIsZero = (): boolean =>
    httpTimeoutMs(p.timeout, { KEDA_HTTP_DEFAULT_TIMEOUT: '1' }) !== httpTimeoutMs(p.timeout, { KEDA_HTTP_DEFAULT_TIMEOUT: '2' });
  if (protocol === 'amqp' && p.timeout !== undefined && !timeoutIsZero()) {
    throw new ScalerConfigError('timeout', 'parameter "timeout" works only with the HTTP protocol');
  }
  return result;
}

/** KEDA's GetMetricsAndActivity per mode. */
function reading(mode: Mode, s: QueueStatus, activation: number): MetricReading {
  const { messages, publishRate: pub, deliverRate: del } = s;
  switch (mode) {
    case 'QueueLength':
      return { value: messages, active: messages > activation };
    case 'MessageRate':
      return { value: pub, active: pub > activation || messages > activation };
    case 'DeliverGetRate':
      return { value: del, active: del > activation };
    case 'PublishedToDeliveredRatio': {
      // publishing with nobody consuming sits exactly at the activation value, yet counts as active
      const stalled = pub > 0 && del === 0;
      const ratio = stalled ? activation : pub > 0 && del > 0 ? pub / del : 0;
      return { value: ratio, active: ratio > activation || stalled };
    }
    case 'ExpectedQueueConsumptionTime': {
      const eta = del === 0 ? activation : (pub - del) / del + messages / del;
      return { value: eta, active: eta > activation || del === 0 };
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Sources

interface Source {
  /** `telemetry` hears of HTTP requests (the management API); AMQP has none */
  read(signal: AbortSignal, telemetry?: ScalerTelemetry): Promise<QueueStatus>;
  close(): Promise<void>;
}

interface TlsMaterial {
  cert?: string;
  key?: string;
  ca?: string;
}

function tlsMaterial(p: RabbitParams): TlsMaterial {
  let key = p.key;
  if (key && p.keyPassword) {
    try {
      key = createPrivateKey({ key, format: 'pem', passphrase: p.keyPassword }).export({ type: 'pkcs8', format: 'pem' }).toString();
    } catch {
      throw new ScalerConfigError('keyPassword', 'parameter "keyPassword" does not decrypt "key" (value hidden)');
    }
  }
  return { cert: p.cert, key, ca: p.ca };
}

/** Passive declare on a channel opened at the first read; the connection is named as KEDA names it. */
function amqpSource(p: RabbitParams, tls: TlsMaterial | undefined, connectionName: string): Source {
  const url = hostUrl(p.host);
  if (!url) throw new ScalerConfigError('host', 'parameter "host" is not a valid amqp:// or amqps:// URL (value hidden)');
  if (p.vhostName) url.pathname = `/${encodeURIComponent(p.vhostName)}`;
  const socket: amqp.SocketOptions = {
    clientProperties: { connection_name: connectionName },
    timeout: AMQP_DIAL_TIMEOUT_MS,
  };
  if (tls) {
    Object.assign(socket, { cert: tls.cert, key: tls.key }, tls.ca ? { ca: [...rootCertificates, tls.ca] } : {});
    socket.rejectUnauthorized = !p.unsafeSsl;
  }
  // ends every socket of this scaler, connected or still connecting, when the scaler closes
  const lifetime = new AbortController();
  let model: Promise<ChannelModel> | undefined;
  let channel: Promise<Channel> | undefined;

  const connect = (signal: AbortSignal): Promise<ChannelModel> => {
    if (!model) {
      const attempt = new AbortController();
      // net and tls sockets take a signal; the library hands its options straight to them
      const socketSignal = AbortSignal.any([lifetime.signal, attempt.signal]);
      const opening: Promise<ChannelModel> = amqplib.load().then((lib) => {
        const options: amqp.SocketOptions & { signal: AbortSignal } = { ...socket, signal: socketSignal,
          ...(p.username && p.password ? { credentials: lib.credentials.plain(p.username, p.password) } : {}) };
        return lib.connect(url.href, options);
      }).then((m) => {
        // a broken connection is reported by the next read; without listeners the library would throw
        m.on('error', () => {});
        m.on('close', () => {
          if (model === opening) model = channel = undefined;
        });
        return m;
      });
      model = opening;
      opening.catch(() => {
        if (model === opening) model = undefined;
      });
      // a read that gives up while connecting takes the half-open socket with it
      const giveUp = (): void => attempt.abort();
      signal.addEventListener('abort', giveUp, { once: true });
      opening.then(
        () => signal.removeEventListener('abort', giveUp),
        () => signal.removeEventListener('abort', giveUp),
      );
    }
    return model;
  };

  const open = async (signal: AbortSignal): Promise<Channel> => {
    if (!channel) {
      const opening = connect(signal).then(async (m) => {
        const ch = await m.createChannel();
        ch.on('error', () => {});
        // a passive declare of a missing queue makes the server close the channel
        ch.on('close', () => {
          if (channel === opening) channel = undefined;
        });
        return ch;
      });
      channel = opening;
      opening.catch(() => {
        if (channel === opening) channel = undefined;
      });
    }
    return channel;
  };

  return {
    async read(signal) {
      const ch = await abortable(open(signal), signal);
      const q = await abortable(ch.checkQueue(p.queueName), signal);
      // declare-ok counts ready messages only; AMQP has no rates
      return { messages: q.messageCount, publishRate: 0, deliverRate: 0 };
    },
    async close() {
      const pending = model;
      model = channel = undefined;
      if (pending) {
        const m = await settledWithin(pending, 0);
        if (m) await settledWithin(m.close(), CLOSE_GRACE_MS);
      }
      lifetime.abort();
    },
  };
}

/**
 * GET the management API's queue (or regex match list) with the client's timeout and basic auth, or
 * with an OAuth2 token: then user info in host is not sent (KEDA's Bearer header replaces it), and, as
 * KEDA builds that client, unsafeSsl applies only with tls enable.
 */
function httpSource(p: RabbitParams, tls: TlsMaterial | undefined, secrets: Secret[], oauth: ClientCredentials | undefined): Source {
  const base = hostUrl(p.host);
  if (!base) throw new ScalerConfigError('host', 'parameter "host" is not a valid http:// or https:// URL (value hidden)');
  const client = new HttpClient({ timeoutMs: httpTimeoutMs(p.timeout), unsafeSsl: oauth && !tls ? false : p.unsafeSsl, tls });
  const basic: Record<string, string> = {};
  const user = p.username ?? unescapeUserInfo(base.username);
  const password = p.password ?? unescapeUserInfo(base.password);
  if (!oauth && (p.username || base.username || base.password)) {
    basic.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  base.username = '';
  base.password = '';
  const url = managementUrl(base, p);
  const tokens = oauth ? new ClientCredentialsTokens(oauth, client, secrets) : undefined;

  return {
    async read(signal, telemetry) {
      if (!tokens) return query(basic, signal, telemetry);
      // KEDA's client timeout covers the token request and the API request together
      const budget = new AbortController();
      const timer = setTimeout(
        () => budget.abort(new Error(`no answer within ${client.timeoutMs} ms for the token and the management API request together`)),
        client.timeoutMs,
      );
      try {
        const both = AbortSignal.any([signal, budget.signal]);
        return await query({ Authorization: await tokens.authorization(both) }, both, telemetry);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => client.close(),
  };

  async function query(headers: Record<string, string>, signal: AbortSignal, telemetry?: ScalerTelemetry): Promise<QueueStatus> {
    const where = describeUrl(url);
    const res = await client.get(url, headers, signal, secrets, telemetry);
    if (res.status !== 200) {
      throw new Error(`error requesting RabbitMQ API status: ${res.status}, response: ${redactedExcerpt(res.body, secrets, 200)}, from: ${where}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(res.body);
    } catch {
      throw new Error(`GET ${where}: response is not valid JSON`);
    }
    if (!p.useRegex) return statusOf(queueInfo(doc));
    const page = (doc ?? {}) as { items?: unknown; page_count?: unknown };
    if (typeof page.page_count === 'number' && page.page_count > 1) {
      throw new Error(`GET ${where}: regex matches more queues than can be recovered at once (raise pageSize)`);
    }
    const items = Array.isArray(page.items) ? page.items.map(queueInfo) : [];
    return combine(items, p.operation, p.excludeUnacknowledged);
  }

  function statusOf(q: QueueInfo): QueueStatus {
    return { messages: p.excludeUnacknowledged ? q.ready : q.messages, publishRate: q.publishRate, deliverRate: q.deliverRate };
  }
}

/**
 * KEDA: the host's last path segment is the vhost (vhostName overrides it; empty means "/"), the rest
 * is a path prefix in front of /api. Names in the path are escaped as path segments, so a space is
 * %20: KEDA's query escaping sends "+", which the management API reads as a plus sign.
 */
function managementUrl(base: URL, p: RabbitParams): URL {
  const parts = base.pathname.split('/');
  let vhost = parts.pop() ?? '';
  const prefix = parts.filter(Boolean).join('/');
  if (p.vhostName) vhost = encodeURIComponent(p.vhostName);
  if (vhost === '') vhost = '%2F';
  const root = `${base.protocol}//${base.host}${prefix ? `/${prefix}` : ''}`;
  if (p.useRegex) {
    return new URL(`${root}/api/queues/${vhost}?page=1&use_regex=true&pagination=false&name=${goQueryEscape(p.queueName)}&page_size=${p.pageSize}`);
  }
  return new URL(`${root}/api/queues/${vhost}/${encodeURIComponent(p.queueName)}`);
}

interface QueueInfo {
  messages: number;
  ready: number;
  publishRate: number;
  deliverRate: number;
}

/** Absent fields read as 0, as Go's JSON decoding leaves them (a new queue has no stats yet). */
function queueInfo(raw: unknown): QueueInfo {
  const q = (raw ?? {}) as {
    messages?: unknown;
    messages_ready?: unknown;
    message_stats?: { publish_details?: { rate?: unknown }; deliver_get_details?: { rate?: unknown } };
  };
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    messages: num(q.messages),
    ready: num(q.messages_ready),
    publishRate: num(q.message_stats?.publish_details?.rate),
    deliverRate: num(q.message_stats?.deliver_get_details?.rate),
  };
}

function combine(qs: QueueInfo[], operation: RabbitParams['operation'], readyOnly: boolean): QueueStatus {
  const count = (q: QueueInfo): number => (readyOnly ? q.ready : q.messages);
  if (qs.length === 0) return { messages: 0, publishRate: 0, deliverRate: 0 };
  const sum = (f: (q: QueueInfo) => number): number => qs.reduce((a, q) => a + f(q), 0);
  const max = (f: (q: QueueInfo) => number): number => qs.reduce((a, q) => Math.max(a, f(q)), 0);
  switch (operation) {
    case 'sum':
      return { messages: sum(count), publishRate: sum((q) => q.publishRate), deliverRate: sum((q) => q.deliverRate) };
    case 'avg':
      // counts are integers in KEDA, so their average is truncated; rates are not
      return {
        messages: Math.trunc(sum(count) / qs.length),
        publishRate: sum((q) => q.publishRate) / qs.length,
        deliverRate: sum((q) => q.deliverRate) / qs.length,
      };
    case 'max':
      return { messages: max(count), publishRate: max((q) => q.publishRate), deliverRate: max((q) => q.deliverRate) };
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function hostUrl(host: string): URL | undefined {
  try {
    return new URL(host);
  } catch {
    return undefined;
  }
}

/** The password in the host URL, as written and unescaped. */
function hostPassword(host: string): string[] {
  const pw = hostUrl(host)?.password;
  return pw ? [pw, unescapeUserInfo(pw)] : [];
}

function unescapeUserInfo(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** KEDA masks `user:password@` in every error; the known secrets go too, wherever they appear. */
function anonymize(text: string, secrets: readonly Secret[]): string {
  return redact(text.replace(/([^ /:]+):([^/:]+)@/g, 'user:password@'), secrets);
}

/** Go's url.QueryEscape: only letters, digits and -_.~ stay; space becomes "+". */
function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}


/** The value if `p` fulfils within ms, else undefined; never rejects and leaves no timer behind. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
