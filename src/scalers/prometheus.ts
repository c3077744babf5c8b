// KEDA's prometheus trigger: one instant query against a Prometheus-compatible API; the value of the
// single series it returns is the metric.

import schema from '../../schemas/scalers/prometheus.schema.json' with { type: 'json' };
import { authAliases, authConfig, authSecrets, basicAuth, describeUrl, HttpClient, httpTimeoutMs, redactedExcerpt, type AuthParams } from './http.ts';
import { metricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory, type ScalerTelemetry } from './types.ts';

interface PrometheusParams extends AuthParams {
  serverAddress: string;
  query: string;
  threshold?: number;
  activationThreshold: number;
  namespace?: string;
  queryParameters?: string;
  customHeaders?: string;
  cortexOrgID?: string;
  ignoreNullValues: boolean;
  unsafeSsl: boolean;
  timeout?: string;
}

export const createPrometheusScaler: ScalerFactory = (ctx) => {
  const p = parseParams<PrometheusParams>(
    schema as ParamSchema,
    authAliases({ metadata: ctx.trigger.metadata ?? {}, authParams: ctx.authParams, resolvedEnv: ctx.resolvedEnv }),
  );
  if (p.threshold === undefined && !ctx.asMetricSource) {
    throw new ScalerConfigError('threshold', 'missing required parameter "threshold" in [metadata]');
  }
  const auth = authConfig(p);
  const queryParameters = keyValues('queryParameters', p.queryParameters);
  const customHeaders = keyValues('customHeaders', p.customHeaders);
  let server: URL;
  try {
    server = new URL(p.serverAddress);
  } catch {
    // the text itself may carry credentials
    throw new ScalerConfigError('serverAddress', 'parameter "serverAddress" is not a valid absolute URL');
  }
  if (server.protocol !== 'http:' && server.protocol !== 'https:') {
    throw new ScalerConfigError('serverAddress', `parameter "serverAddress" must be an http:// or https:// URL, found scheme "${server.protocol.slice(0, -1)}"`);
  }
  const useTls = auth.modes.has('tls');
  const client = new HttpClient({
    timeoutMs: httpTimeoutMs(p.timeout),
    unsafeSsl: p.unsafeSsl,
    tls: useTls || p.ca ? { cert: useTls ? p.cert : undefined, key: useTls ? p.key : undefined, ca: p.ca } : undefined,
  });

  const headers: Record<string, string> = {};
  const headerSet = (name: string): boolean => Object.keys(headers).some((h) => h.toLowerCase() === name.toLowerCase());
  for (const [name, value] of customHeaders) headers[name] = value;
  if (p.cortexOrgID && !headerSet('X-Scope-OrgID')) headers['X-Scope-OrgID'] = p.cortexOrgID;
  if (auth.modes.has('bearer')) headers.Authorization = `Bearer ${p.bearerToken}`;
  else if (auth.modes.has('basic')) headers.Authorization = basicAuth(p.username!, p.password ?? '');
  else if (auth.modes.has('custom')) headers[p.customAuthHeader!] = p.customAuthValue!;
  const secrets = authSecrets(auth);
  // Go's client turns credentials in the URL into basic auth unless a header is set; they never travel in the URL
  if (server.username || server.password) {
    const user = unescape(server.username);
    const password = unescape(server.password);
    if (!headerSet('Authorization')) headers.Authorization = basicAuth(user, password);
    secrets.push(server.password, { user, password });
    server.username = '';
    server.password = '';
  }
  // KEDA appends to the address as text, so a path prefix (/prometheus, /api/prom) is kept; a trailing
  // slash would make the path //api/v1/query
  const base = server.href.replace(/\/+$/, '');

  const query = async (now: number, signal: AbortSignal, telemetry: ScalerTelemetry | undefined): Promise<number> => {
    const params = new URLSearchParams({ query: p.query, time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    if (p.namespace) params.append('namespace', p.namespace);
    for (const [k, v] of queryParameters) params.append(k, v);
    const url = new URL(`${base}/api/v1/query?${params}`);
    const where = describeUrl(url);
    const res = await client.get(url, headers, signal, secrets, telemetry);
    if (res.status < 200 || res.status > 299) {
      throw new Error(`GET ${where}: prometheus query api returned error. status: ${res.status} response: ${redactedExcerpt(res.body, secrets, 300)}`);
    }
    let doc: { data?: { resultType?: string; result?: unknown } };
    try {
      doc = JSON.parse(res.body) as typeof doc;
    } catch {
      throw new Error(`GET ${where}: the response is not JSON`);
    }
    // KEDA counts an empty answer whether or not ignoreNullValues turns it into 0
    return valueOf(doc.data, p.query, p.ignoreNullValues, () => telemetry?.emptyResponse(p.ignoreNullValues));
  };

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, 'prometheus'),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.threshold ?? 0,
      activationTarget: p.activationThreshold,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const value = await query(m.now, m.signal, m.telemetry);
      return { value, active: value > p.activationThreshold };
    },
    close: () => client.close(),
  } satisfies Scaler;
};

/** KEDA's reading of an instant-query response: zero or one series, its value a float. */
function valueOf(data: { resultType?: string; result?: unknown } | undefined, query: string, ignoreNullValues: boolean, onEmpty: () => void): number {
  const result = data?.result ?? [];
  // a scalar or string result is [time, "value"], which KEDA cannot decode either
  if (!Array.isArray(result) || result.some((r) => r === null || typeof r !== 'object')) {
    throw new Error(`prometheus query ${query} returned a ${data?.resultType ?? 'non-vector'} result; only an instant vector can be read`);
  }
  if (result.length === 0) {
    onEmpty();
    if (ignoreNullValues) return 0;
    throw new Error("prometheus metrics 'prometheus' target may be lost, the result is empty");
  }
  if (result.length > 1) throw new Error(`prometheus query ${query} returned multiple elements`);
  // a range vector has "values", not "value": its value list reads as empty
  const pair = (result[0] as { value?: unknown }).value;
  const value = Array.isArray(pair) ? pair : [];
  if (value.length === 0) {
    onEmpty();
    if (ignoreNullValues) return 0;
    throw new Error("prometheus metrics 'prometheus' target may be lost, the value list is empty");
  }
  if (value.length < 2) throw new Error(`prometheus query ${query} didn't return enough values`);
  const v = parseGoFloat(value[1]);
  if (v === undefined) throw new Error(`prometheus query ${query} returned a value that is not a number: ${JSON.stringify(value[1])}`);
  if (!Number.isFinite(v)) {
    if (ignoreNullValues) return 0;
    throw new Error(`prometheus query ${query} returned ${v}`);
  }
  return v;
}

/** Prometheus sends sample values as strings: decimal, exponent, NaN, +Inf, -Inf. */
function parseGoFloat(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s) ? Number(s) : undefined;
}

/** KEDA's map parameters: `k=v,k=v`, each part trimmed; an entry without exactly one "=" is an error. */
function keyValues(field: string, text: string | undefined): Array<[string, string]> {
  if (!text) return [];
  const out: Array<[string, string]> = [];
  for (const [i, part] of text.split(',').entries()) {
    const kv = part.split('=');
    if (kv.length !== 2 || !kv[0]!.trim()) {
      // not echoed: a header value may be a credential
      throw new ScalerConfigError(field, `parameter "${field}" must be key=value pairs separated by commas; entry ${i + 1} has ${kv.length - 1} "="`);
    }
    out.push([kv[0]!.trim(), kv[1]!.trim()]);
  }
  return out;
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
