// KEDA's etcd trigger: the number stored under one etcd key.
//
// etcd is read through its JSON gRPC gateway (POST /v3/kv/range, /v3/auth/authenticate), which every etcd
// v3 server serves on its client URLs, and not through the `etcd3` package: that client reads its .proto
// files from disk at run time, which the bundled dist/ does not have, and it is no longer maintained.
// One range request per measurement needs nothing the gateway lacks; the watch KEDA also runs (push
// scaling) has no place in a periodic pass.
//
// Like etcd's own client, the endpoints are tried in turn until one answers; a server that answers with an
// error is final. undici with a private Agent (see http.ts for why not fetch) carries the TLS material,
// and close() releases its sockets.

import { createSecureContext, rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import schema from '../../schemas/scalers/etcd.schema.json' with { type: 'json' };
import { causeText, describeUrl, reasonText, redact } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';

interface EtcdParams {
  endpoints: string;
  watchKey: string;
  value: number;
  activationValue: number;
  watchProgressNotifyInterval: number;
  username?: string;
  password?: string;
  tls: 'enable' | 'disable';
  cert?: string;
  key?: string;
  keyPassword?: string;
  ca?: string;
}

/** KEDA bounds each read by 5 s, whatever the pass allows. */
const GET_TIMEOUT_MS = 5000;

export const createEtcdScaler: ScalerFactory = (ctx) => {
  const p = parseParams<EtcdParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  const tls = p.tls === 'enable';
  if (tls && p.key && !p.cert) throw new ScalerConfigError('cert', 'parameter "cert" must be provided with "key"');
  if (tls && p.cert && !p.key) throw new ScalerConfigError('key', 'parameter "key" must be provided with "cert"');
  if (p.password && !p.username) throw new ScalerConfigError('username', 'parameter "username" must be provided with "password"');
  if (p.username && !p.password) throw new ScalerConfigError('password', 'parameter "password" must be provided with "username"');
  const endpoints = parseEndpoints(p.endpoints, tls);
  const connect: Record<string, unknown> = {};
  if (tls) {
    // like KEDA, a given CA is added to the system roots rather than replacing them
    const ca = p.ca ? [...rootCertificates, p.ca] : undefined;
    const pair = p.cert && p.key ? { cert: p.cert, key: p.key, passphrase: p.keyPassword } : {};
    try {
      createSecureContext({ ...pair, ca });
    } catch {
      // the PEM itself is never echoed: it may be a private key
      throw new ScalerConfigError('cert', 'parameters "cert", "key" and "ca" must be valid PEM (a matching certificate and key, decrypted by keyPassword if set)');
    }
    Object.assign(connect, pair, ca ? { ca } : {});
  }
  const secrets = [p.password, p.key, p.keyPassword].filter((s): s is string => !!s);
  const key = Buffer.from(p.watchKey).toString('base64');

  let agent: Agent | undefined;
  let preferred = 0;
  // a token is asked from the member it is used with: simple tokens are not shared across members
  const tokens = new Map<string, string>();

  const post = async (base: URL, path: string, body: unknown, signal: AbortSignal, token?: string): Promise<Answer> => {
    agent ??= new Agent({ connect });
    const res = await request(new URL(path, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
      body: JSON.stringify(body),
      dispatcher: agent,
      signal,
    });
    const text = await res.body.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a proxy's HTML error page: the status says enough
    }
    return { status: res.statusCode, json };
  };

  const authenticate = async (base: URL, signal: AbortSignal): Promise<string> => {
    const known = tokens.get(base.href);
    if (known) return known;
    const a = await post(base, '/v3/auth/authenticate', { name: p.username, password: p.password }, signal);
    if (a.status !== 200 || typeof a.json.token !== 'string') {
      throw new Answered(`authenticating as user "${p.username}" at ${describeUrl(base)}: ${serverError(a)}`);
    }
    tokens.set(base.href, a.json.token);
    return a.json.token;
  };

  /** The key's value, undefined when it is absent. */
  const rangeAt = async (base: URL, signal: AbortSignal): Promise<string | undefined> => {
    for (let attempt = 0; ; attempt++) {
      const token = p.username ? await authenticate(base, signal) : undefined;
      const r = await post(base, '/v3/kv/range', { key }, signal, token);
      // an expired token is renewed once
      if (r.status === 401 && token && attempt === 0) {
        tokens.delete(base.href);
        continue;
      }
      if (r.status !== 200) throw new Answered(`reading key "${p.watchKey}" at ${describeUrl(base)}: ${serverError(r)}`);
      const kvs = r.json.kvs as Array<{ value?: string }> | undefined;
      if (!kvs?.length) return undefined;
      return Buffer.from(kvs[0]!.value ?? '', 'base64').toString('utf8');
    }
  };

  const read = async (signal: AbortSignal, timeout: AbortSignal): Promise<string | undefined> => {
    const failures: string[] = [];
    for (let i = 0; i < endpoints.length; i++) {
      const at = (preferred + i) % endpoints.length;
      const base = endpoints[at]!;
      try {
        const v = await rangeAt(base, AbortSignal.any([signal, timeout]));
        preferred = at;
        return v;
      } catch (err) {
        if (err instanceof Answered) throw err;
        if (timeout.aborted && !signal.aborted) throw new Error(`no answer from ${describeUrl(base)} within ${GET_TIMEOUT_MS} ms`);
        if (signal.aborted) throw new Error(`aborted (${reasonText(signal.reason)})`);
        failures.push(`${describeUrl(base)} (${causeText(err)})`);
      }
    }
    throw new Error(`no etcd endpoint answered: ${failures.join('; ')}`);
  };

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`etcd-${p.watchKey}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.value,
      activationTarget: p.activationValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      let text: string | undefined;
      try {
        text = await read(m.signal, AbortSignal.timeout(GET_TIMEOUT_MS));
      } catch (err) {
        // the tokens etcd issued are credentials too
        throw new Error(redact(`error getting metric value: ${(err as Error).message}`, [...secrets, ...tokens.values()]));
      }
      if (text === undefined) throw new Error(`error getting metric value: watchKey ${p.watchKey} doesn't exist`);
      const value = parseGoFloat(text);
      if (typeof value === 'string') {
        const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text;
        throw new Error(`error getting metric value: the value of watchKey ${p.watchKey} ${value}: "${shown}"`);
      }
      return { value, active: value > p.activationValue };
    },
    async close(): Promise<void> {
      const a = agent;
      agent = undefined;
      tokens.clear();
      // destroy, not close: a request the pass gave up on must not hold the run open
      await a?.destroy();
    },
  } satisfies Scaler;
};

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** The server answered with an error: another endpoint would answer the same. */
class Answered extends Error {}

function serverError(a: Answer): string {
  const message = typeof a.json.message === 'string' ? a.json.message : typeof a.json.error === 'string' ? a.json.error : '';
  return message ? `${message} (HTTP ${a.status})` : `HTTP ${a.status}`;
}

/** `host:port` takes the scheme from `tls`, as etcd's client does; an explicit http:// or https:// wins. */
function parseEndpoints(text: string, tls: boolean): URL[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new ScalerConfigError('endpoints', 'parameter "endpoints" must list at least one host:port');
  return list.map((e) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `${tls ? 'https' : 'http'}://${e}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new ScalerConfigError('endpoints', `parameter "endpoints" entry "${e}" is not host:port or an http(s) URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ScalerConfigError('endpoints', `parameter "endpoints" entry "${e}" must use http or https, not ${url.protocol.slice(0, -1)}`);
    }
    return new URL(`${url.protocol}//${url.host}/`);
  });
}

/**
 * Go's strconv.ParseFloat(s, 64): decimal or hexadecimal (with a p exponent) notation, inf, infinity and
 * nan in any case; no surrounding space. Returns the number, or why the text is not one.
 */
export function parseGoFloat(s: string): number | string {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  let v: number | undefined;
  const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?\d+)$/i.exec(s);
  if (hex && (hex[2] || hex[3])) {
    const frac = hex[3] ?? '';
    v = parseInt(`${hex[2]}${frac}` || '0', 16) / 16 ** frac.length * 2 ** Number(hex[4]);
    if (hex[1] === '-') v = -v;
  } else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    v = Number(s);
  }
  if (v === undefined) return 'is not a number';
  if (!Number.isFinite(v)) return 'is out of the range of a float64';
  return v;
}

