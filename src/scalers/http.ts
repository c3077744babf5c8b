// HTTP for scalers that poll an API: KEDA's timeout rule, unsafeSsl, client certificates and the
// authModes of KEDA's shared authentication config, with errors that never carry a credential.
//
// undici's request() with a private Agent, not fetch: fetch refuses the "bad ports" of the Fetch standard
// (6000, 5060, 10080...) and URLs with credentials, which Go's client (KEDA's) accepts, and the Agent of
// the installed undici cannot be handed to Node's built-in fetch anyway. The Agent is shared by every
// client with the same TLS settings (./http-agents.ts), so triggers on one endpoint reuse connections;
// the last close() at the end of the pass releases its sockets deterministically.

import { createSecureContext, rootCertificates } from 'node:tls';
import { request, type Dispatcher } from 'undici';
import { leaseAgent, type AgentLease } from './http-agents.ts';
import { bounded, type Bounded } from './abort.ts';
import { redact, type Secret } from '../secrets.ts';
import type { ParamSources } from './metadata.ts';
import { ScalerConfigError, type ScalerTelemetry } from './types.ts';

// every scaler hides credentials through this one function (derived forms included: see secrets.ts)
export { redact, type Secret };

const DEFAULT_TIMEOUT_MS = 3000;
const FLOOR_TIMEOUT_MS = 300;

/**
 * KEDA: the trigger's `timeout` when > 0, else KEDA_HTTP_DEFAULT_TIMEOUT (3000 ms; a value <= 0 there
 * means 300 ms). `timeout` is a Go duration (`30s`, `1m30s`) or a number of milliseconds.
 */
export function httpTimeoutMs(timeout: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (timeout !== undefined) {
    const ms = parseDurationMs(timeout);
    if (ms === undefined) {
      throw new ScalerConfigError(
        'timeout',
        `parameter "timeout" must be a duration such as "30s" or a number of milliseconds, got "${timeout}"`,
      );
    }
    if (ms < 0) throw new ScalerConfigError('timeout', 'parameter "timeout" must not be negative');
    if (ms > 0) return ms;
  }
  const raw = env.KEDA_HTTP_DEFAULT_TIMEOUT?.trim();
  const global = raw && /^[+-]?\d+$/.test(raw) ? Number(raw) : DEFAULT_TIMEOUT_MS;
  return global > 0 ? global : FLOOR_TIMEOUT_MS;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, else an integer of milliseconds (KEDA's typed config accepts both). */
function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return m[1] === '-' ? -total : total;
}

// ---------------------------------------------------------------------------------------------------
// authModes (KEDA pkg/scalers/authentication: Config, Validate)

export const AUTH_MODES = ['apiKey', 'basic', 'tls', 'bearer', 'custom', 'oauth'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
const EXCLUSIVE_MODES: readonly AuthMode[] = ['bearer', 'basic', 'oauth'];

/** The parameters KEDA's authentication config reads; names as in the trigger and TriggerAuthentication. */
export interface AuthParams {
  authModes?: string;
  apiKey?: string;
  method?: 'header' | 'query';
  keyParamName?: string;
  username?: string;
  password?: string;
  bearerToken?: string;
  cert?: string;
  key?: string;
  ca?: string;
  customAuthHeader?: string;
  customAuthValue?: string;
  oauthTokenURI?: string;
  clientID?: string;
  clientSecret?: string;
}

export interface AuthConfig {
  modes: ReadonlySet<AuthMode>;
  params: AuthParams;
}

/** Parses `authModes` and checks that every enabled mode has what it needs, as KEDA does at build time. */
export function authConfig(p: AuthParams): AuthConfig {
  const modes = new Set<AuthMode>();
  if (p.authModes !== undefined) {
    for (const raw of p.authModes.split(',')) {
      const mode = raw.trim();
      if (!(AUTH_MODES as readonly string[]).includes(mode)) {
        throw new ScalerConfigError(
          'authModes',
          `parameter "authModes" value ${JSON.stringify(p.authModes)} must be one of ${AUTH_MODES.join(', ')}`,
        );
      }
      modes.add(mode as AuthMode);
    }
  }
  if (EXCLUSIVE_MODES.filter((m) => modes.has(m)).length > 1) {
    throw new ScalerConfigError(
      'authModes',
      `parameter "authModes" value "${p.authModes}" must contain only one of ${EXCLUSIVE_MODES.join(', ')}`,
    );
  }
  const need = (mode: AuthMode, field: keyof AuthParams, present: boolean): void => {
    if (modes.has(mode) && !present) {
      throw new ScalerConfigError(field, `parameter "${field}" is required when authModes includes ${mode}`);
    }
  };
  need('bearer', 'bearerToken', !!p.bearerToken);
  need('basic', 'username', !!p.username);
  need('tls', 'cert', !!p.cert);
  need('tls', 'key', !!p.key);
  need('oauth', 'oauthTokenURI', !!p.oauthTokenURI);
  need('oauth', 'clientID', !!p.clientID);
  need('oauth', 'clientSecret', !!p.clientSecret);
  need('custom', 'customAuthHeader', !!p.customAuthHeader);
  need('custom', 'customAuthValue', !!p.customAuthValue);
  need('apiKey', 'apiKey', !!p.apiKey);
  return { modes, params: p };
}

/** Values that must never appear in a message; the basic-auth pair, so that its base64 goes too. */
export function authSecrets(auth: AuthConfig): Secret[] {
  const p = auth.params;
  const values: Secret[] = [p.apiKey, p.password, p.bearerToken, p.key, p.customAuthValue, p.clientSecret].filter(
    (s): s is string => !!s,
  );
  if (p.username && p.password) values.push({ user: p.username, password: p.password });
  return values;
}

// ---------------------------------------------------------------------------------------------------
// The client

export interface HttpClientOptions {
  timeoutMs: number;
  unsafeSsl: boolean;
  /** client certificate, key and extra CA, PEM */
  tls?: { cert?: string; key?: string; ca?: string };
}

export interface HttpResponse {
  status: number;
  body: string;
}

export class HttpClient {
  readonly timeoutMs: number;
  readonly #agent: AgentLease;
  readonly #dispatcher: Dispatcher;

  constructor(opts: HttpClientOptions) {
    this.timeoutMs = opts.timeoutMs;
    const tls = opts.tls;
    // keyed by the settings as given: the connect options (and the PEM check) are built once per distinct set
    this.#agent = leaseAgent({ unsafeSsl: opts.unsafeSsl, cert: tls?.cert, key: tls?.key, ca: tls?.ca }, () => connectOptions(opts));
    this.#dispatcher = this.#agent.dispatcher;
  }

  /**
   * GET with the client's timeout and the caller's signal (whichever fires first). Rejects with an
   * Error whose message names the URL without credentials or query, and never a value from `secrets`.
   * `telemetry` hears of the request once its response headers arrive or it fails, as KEDA's
   * instrumented RoundTripper does (a redirected request counts once, with the last status).
   */
  async get(url: URL, headers: Record<string, string>, signal: AbortSignal, secrets: readonly Secret[], telemetry?: Pick<ScalerTelemetry, 'httpRequest'>): Promise<HttpResponse> {
    const bound = bounded(this.timeoutMs, signal);
    const fail = (err: unknown): Error => this.#failure('GET', describeUrl(url), err, bound, signal, secrets);
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method: 'GET', headers, dispatcher: this.#dispatcher, signal: bound.signal });
      } catch (err) {
        telemetry?.httpRequest(seconds(), undefined);
        throw fail(err);
      }
      telemetry?.httpRequest(seconds(), res.statusCode);
      try {
        return { status: res.statusCode, body: await res.body.text() };
      } catch (err) {
        throw fail(err);
      }
    } finally {
      bound.done();
    }
  }

  /**
   * POST a form (an OAuth2 token request) with the client's timeout and the caller's signal, reading
   * at most `maxBytes` of the answer: a larger one is an error, not a truncated body. Errors read as
   * get()'s do, with the URL's credentials and query left out and no value from `secrets`.
   */
  async postForm(
    url: URL,
    headers: Record<string, string>,
    form: string,
    signal: AbortSignal,
    secrets: readonly Secret[],
    maxBytes: number,
  ): Promise<HttpResponse & { contentType: string }> {
    const where = describeUrl(url);
    const bound = bounded(this.timeoutMs, signal);
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
        dispatcher: this.#dispatcher,
        signal: bound.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > maxBytes) {
          res.body.destroy();
          throw new TooLarge(`response larger than ${maxBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      const type = res.headers['content-type'];
      return { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), contentType: (Array.isArray(type) ? type[0] : type) ?? '' };
    } catch (err) {
      throw this.#failure('POST', where, err, bound, signal, secrets);
    } finally {
      bound.done();
    }
  }

  async close(): Promise<void> {
    await this.#agent.release();
  }

  /** get()'s and postForm()'s failure, naming the URL without credentials and showing no secret. */
  #failure(method: string, where: string, err: unknown, bound: Bounded, signal: AbortSignal, secrets: readonly Secret[]): Error {
    let why: string;
    if (err instanceof TooLarge) why = err.message;
    else if (bound.timedOut() && !signal.aborted) why = `no response within ${this.timeoutMs} ms`;
    else if (signal.aborted) why = `aborted (${reasonText(signal.reason)})`;
    else why = causeText(err);
    return new Error(redact(`${method} ${where}: ${why}`, secrets));
  }
}

/** undici's connect options for these TLS settings; invalid PEM is a ScalerConfigError that never echoes it. */
function connectOptions(opts: HttpClientOptions): Record<string, unknown> {
  const connect: Record<string, unknown> = { rejectUnauthorized: !opts.unsafeSsl };
  const tls = opts.tls;
  if (tls?.cert || tls?.key || tls?.ca) {
    // like KEDA, a given CA is added to the system roots rather than replacing them
    const ca = tls.ca ? [...rootCertificates, tls.ca] : undefined;
    try {
      createSecureContext({ cert: tls.cert, key: tls.key, ca });
    } catch {
      // the PEM itself is never echoed: it may be a private key
      throw new ScalerConfigError('cert', 'parameters "cert", "key" and "ca" must be valid PEM (a matching certificate and key)');
    }
    Object.assign(connect, { cert: tls.cert, key: tls.key }, ca ? { ca } : {});
  }
  return connect;
}

class TooLarge extends Error {}

/** `scheme://host:port/path`: no user info, no query (either may hold a credential). */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'signal' : String(reason);
}

/** The innermost error's message with its code (ECONNREFUSED...), as fetch and undici wrap them. */
export function causeText(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const c = cause instanceof Error ? cause : err instanceof Error ? err : undefined;
  if (!c) return String(err);
  const code = (c as { code?: string }).code;
  return code && !c.message.includes(code) ? `${code}: ${c.message}` : c.message;
}

/** KEDA reads authModes then authMode, and bearerToken then token, within each source in turn. */
export function authAliases(src: ParamSources): ParamSources {
  const alias = (m: Record<string, string>, name: string, other: string): Record<string, string> =>
    m[name]?.trim() || !m[other]?.trim() ? m : { ...m, [name]: m[other]! };
  return {
    metadata: alias(src.metadata, 'authModes', 'authMode'),
    authParams: alias(alias(src.authParams, 'authModes', 'authMode'), 'bearerToken', 'token'),
    resolvedEnv: src.resolvedEnv,
  };
}

/** `text` without any secret, then cut to `max` characters: cut first, a secret's prefix would survive. */
export function redactedExcerpt(text: string, secrets: readonly Secret[], max: number): string {
  const hidden = redact(text.trim(), secrets);
  return hidden.length > max ? `${hidden.slice(0, max)}…` : hidden;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
