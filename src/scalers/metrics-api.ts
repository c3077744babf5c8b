// KEDA's metrics-api trigger: GET a URL and read one number out of the response (JSON, YAML or
// Prometheus text), with KEDA's authentication modes.

import { load as loadYaml } from 'js-yaml';
import schema from '../../schemas/scalers/metrics-api.schema.json' with { type: 'json' };
import { authAliases, authConfig, authSecrets, basicAuth, describeUrl, HttpClient, httpTimeoutMs, redact, type AuthParams } from './http.ts';
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory, type ScalerTelemetry } from './types.ts';

type Format = 'json' | 'prometheus' | 'xml' | 'yaml';

interface MetricsApiParams extends AuthParams {
  url: string;
  valueLocation: string;
  format: Format;
  targetValue?: number;
  activationTargetValue: number;
  unsafeSsl: boolean;
  timeout?: string;
  aggregateFromKubeServiceEndpoints: boolean;
  aggregationType: 'average' | 'sum' | 'max' | 'min';
  token?: string;
}

export const createMetricsApiScaler: ScalerFactory = (ctx) => {
  const p = parseParams<MetricsApiParams>(
    schema as ParamSchema,
    authAliases({ metadata: ctx.trigger.metadata ?? {}, authParams: ctx.authParams, resolvedEnv: ctx.resolvedEnv }),
  );
  const auth = authConfig({ ...p, bearerToken: p.bearerToken ?? p.token });
  const secrets = authSecrets(auth);
  if (!p.targetValue && !ctx.asMetricSource) {
    throw new ScalerConfigError('targetValue', 'missing required parameter "targetValue" in [metadata] (0 counts as missing)');
  }
  if (p.aggregateFromKubeServiceEndpoints) {
    throw new ScalerConfigError(
      'aggregateFromKubeServiceEndpoints',
      'parameter "aggregateFromKubeServiceEndpoints" is not supported: point url at one endpoint or at an aggregating service',
    );
  }
  const jsonPath = p.format === 'json' ? compileJsonPath(p.valueLocation) : undefined;
  const client = new HttpClient({
    timeoutMs: httpTimeoutMs(p.timeout),
    unsafeSsl: p.unsafeSsl,
    tls: auth.modes.has('tls') ? { cert: p.cert, key: p.key, ca: p.ca } : undefined,
  });

  const read = async (signal: AbortSignal, telemetry: ScalerTelemetry | undefined): Promise<number> => {
    let url: URL;
    try {
      url = new URL(p.url);
    } catch {
      // the text itself may carry credentials
      throw new Error('parameter "url" is not a valid absolute URL');
    }
    const headers: Record<string, string> = {};
    if (auth.modes.has('apiKey')) {
      if (p.method === 'query') url.searchParams.set(p.keyParamName || 'api_key', p.apiKey!);
      else headers[p.keyParamName || 'X-API-KEY'] = p.apiKey!;
    }
    if (auth.modes.has('basic')) headers.Authorization = basicAuth(p.username!, p.password ?? '');
    if (auth.modes.has('bearer')) headers.Authorization = `Bearer ${auth.params.bearerToken}`;
    const hidden = [...secrets];
    // Go's client turns credentials in the URL into basic auth unless a header is set; they never travel in the URL
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      if (!headers.Authorization) headers.Authorization = basicAuth(user, password);
      hidden.push(url.password, { user, password });
      url.username = '';
      url.password = '';
    }
    const where = describeUrl(url);
    const res = await client.get(url, headers, signal, hidden, telemetry);
    if (res.status !== 200) throw new Error(`GET ${where}: api returned ${res.status}`);
    try {
      return extract(res.body, p.format, p.valueLocation, jsonPath, (text) => redact(text, hidden));
    } catch (err) {
      throw new Error(redact(`GET ${where}: ${(err as Error).message}`, hidden));
    }
  };

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`metric-api-${p.valueLocation}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.targetValue ?? 0,
      activationTarget: p.activationTargetValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      let value: number;
      try {
        value = await read(m.signal, m.telemetry);
      } catch (err) {
        throw new Error(`error requesting metrics endpoint: ${(err as Error).message}`);
      }
      return { value, active: value > p.activationTargetValue };
    },
    close: () => client.close(),
  } satisfies Scaler;
};

/** `hide` redacts a value from the response before it is cut short for a message. */
type Hide = (text: string) => string;

function extract(body: string, format: Format, location: string, jsonPath: JsonPath | undefined, hide: Hide): number {
  switch (format) {
    case 'json':
      return jsonValue(body, jsonPath!, location, hide);
    case 'yaml':
      return yamlValue(body, location, hide);
    case 'prometheus':
      return prometheusValue(body, location);
    case 'xml':
      // KEDA decodes XML into a Go map, which encoding/xml cannot do: every xml read fails there too
      throw new Error('format "xml" cannot be read; serve json, yaml or prometheus text');
  }
}

// ---------------------------------------------------------------------------------------------------
// JSON: the part of GJSON's path syntax that addresses one value

type JsonPath = Array<{ key: string; length?: true }>;

function compileJsonPath(location: string): JsonPath {
  const unsupported = (what: string): never => {
    throw new ScalerConfigError(
      'valueLocation',
      `parameter "valueLocation" uses GJSON ${what}, which is not supported (keys, array indices, escaped dots and a final # for a length are)`,
    );
  };
  if (/^[[{]/.test(location) || location.startsWith('..')) unsupported('multipaths or JSON-lines');
  const parts: JsonPath = [];
  let key = '';
  let plain = '';
  const finish = (): void => {
    if (plain === '#') parts.push({ key, length: true });
    else parts.push({ key });
    key = '';
    plain = '';
  };
  for (let i = 0; i < location.length; i++) {
    const c = location[i]!;
    if (c === '\\' && i + 1 < location.length) {
      key += location[++i];
      plain += '_';
    } else if (c === '.') {
      finish();
    } else {
      if (c === '*' || c === '?') unsupported('wildcards');
      if (c === '|') unsupported('pipes');
      if (c === '@' && plain === '') unsupported('modifiers');
      if (c === '(' && plain === '#') unsupported('queries');
      key += c;
      plain += c;
    }
  }
  finish();
  parts.forEach((part, i) => {
    if (part.length && i !== parts.length - 1) unsupported('"#" in the middle of a path');
  });
  return parts;
}

function jsonValue(body: string, path: JsonPath, location: string, hide: Hide): number {
  let cur: unknown;
  try {
    cur = JSON.parse(body);
  } catch {
    throw new Error('response is not valid JSON');
  }
  const notFound = (): never => {
    throw new Error(`valueLocation "${location}" not found in the response`);
  };
  for (const part of path) {
    if (part.length) {
      if (!Array.isArray(cur)) notFound();
      cur = (cur as unknown[]).length;
    } else if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part.key) || Number(part.key) >= cur.length) notFound();
      cur = cur[Number(part.key)];
    } else if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, part.key)) {
      cur = (cur as Record<string, unknown>)[part.key];
    } else {
      notFound();
    }
  }
  return numberAt(cur, location, hide);
}

// ---------------------------------------------------------------------------------------------------
// YAML: dot path with numeric list indices (KEDA's GetValueByPath)

function yamlValue(body: string, location: string, hide: Hide): number {
  let doc: unknown;
  try {
    doc = loadYaml(body);
  } catch {
    throw new Error('response is not valid YAML');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('response is not a YAML mapping');
  let cur: unknown = doc;
  for (const key of location.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(key) && Number(key) < cur.length) cur = cur[Number(key)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else throw new Error(`key "${key}" of valueLocation "${location}" not found in the response`);
  }
  return numberAt(cur, location, hide);
}

function numberAt(v: unknown, location: string, hide: Hide): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const q = parseQuantity(v);
    if (q !== undefined) return q;
    // hidden before cut: a cut credential would no longer match, and its prefix would leak
    const h = hide(v);
    const shown = h.length > 64 ? `${h.slice(0, 64)}…` : h;
    throw new Error(`valueLocation "${location}" must point to a number or a quantity string, found "${shown}"`);
  }
  const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  throw new Error(`valueLocation "${location}" must point to a number or a quantity string, found ${kind}`);
}

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes resource quantity ("2k", "10Mi", "1.5", "250m", "1e3") as a float, else undefined. */
export function parseQuantity(s: string): number | undefined {
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] !== undefined ? n * 10 ** Number(m[2]) : n * SUFFIX[m[3] ?? '']!;
}

// ---------------------------------------------------------------------------------------------------
// Prometheus text exposition: valueLocation is a series selector; the first counter, gauge or untyped
// sample of that name whose labels equal every matcher wins.

interface Selector {
  name: string;
  labels: Array<[string, string]>;
}

function parseSelector(location: string): Selector {
  const bad = (why: string): never => {
    throw new Error(`valueLocation "${location}" is not a series selector: ${why}`);
  };
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$/s.exec(location);
  if (!m || (m[1] === undefined && m[2] === undefined)) bad('expected name{label="value",...}');
  let name = m![1] ?? '';
  const labels: Array<[string, string]> = [];
  const body = m![2] ?? '';
  let i = 0;
  const ws = (): void => {
    while (i < body.length && /\s/.test(body[i]!)) i++;
  };
  for (;;) {
    ws();
    if (i >= body.length) break;
    const lm = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(body.slice(i));
    if (!lm) bad(`expected a label name at "${body.slice(i)}"`);
    i += lm![0].length;
    ws();
    const op = /^(=~|!~|!=|=)/.exec(body.slice(i))?.[0];
    if (!op) bad(`expected a matcher after ${lm![0]}`);
    if (op !== '=') bad(`only "=" matchers are supported, found "${op}"`);
    i += op!.length;
    ws();
    const [value, next] = readQuoted(body, i) ?? bad(`expected a quoted value for ${lm![0]}`);
    i = next;
    if (lm![0] === '__name__') name = value;
    else labels.push([lm![0], value]);
    ws();
    if (body[i] === ',') i++;
    else if (i < body.length) bad(`expected "," at "${body.slice(i)}"`);
  }
  if (!name) bad('no metric name');
  return { name, labels };
}

/** A "…", '…' or `…` string starting at i: [value, index after the closing quote]. */
function readQuoted(s: string, i: number): [string, number] | undefined {
  const q = s[i];
  if (q !== '"' && q !== "'" && q !== '`') return undefined;
  let out = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === q) return [out, j + 1];
    if (c === '\\' && q !== '`' && j + 1 < s.length) {
      const e = s[++j]!;
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
    } else out += c;
  }
  return undefined;
}

function prometheusValue(body: string, location: string): number {
  const sel = parseSelector(location);
  const types = new Map<string, string>();
  const lines = body.replaceAll('\r\n', '\n').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const fail = (why: string): never => {
      throw new Error(`prometheus format parsing error: line ${n + 1}: ${why}`);
    };
    if (line.startsWith('#')) {
      const t = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(line);
      if (t) {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(t[2]!)) fail(`unknown metric type "${t[2]}"`);
        types.set(t[1]!, t[2]!);
      }
      continue;
    }
    const sample = parseSample(line) ?? fail('not a sample');
    const type = types.get(sample.name) ?? 'untyped';
    if (sample.name !== sel.name || type === 'histogram' || type === 'summary') continue;
    if (sel.labels.every(([k, v]) => sample.labels.get(k) === v)) return sample.value;
  }
  throw new Error(`valueLocation "${location}" matched no counter, gauge or untyped sample`);
}

function parseSample(line: string): { name: string; labels: Map<string, string>; value: number } | undefined {
  const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nm) return undefined;
  let i = nm[0].length;
  const labels = new Map<string, string>();
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (/\s/.test(line[i] ?? '')) i++;
      if (line[i] === '}') break;
      const lm = /^[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*/.exec(line.slice(i));
      if (!lm) return undefined;
      i += lm[0].length;
      if (line[i] !== '"') return undefined;
      const q = readQuoted(line, i);
      if (!q) return undefined;
      labels.set(lm[0].replace(/\s*=\s*$/, ''), q[0]);
      i = q[1];
      while (/\s/.test(line[i] ?? '')) i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') return undefined;
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') return undefined;
  const value = parseFloatGo(rest[0]!);
  return value === undefined ? undefined : { name: nm[0], labels, value };
}

function parseFloatGo(s: string): number | undefined {
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s) ? Number(s) : undefined;
}
