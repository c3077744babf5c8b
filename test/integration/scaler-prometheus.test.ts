// The prometheus trigger against the harness's real Prometheus, fed through the real OpenTelemetry
// Collector: a gauge recorded here with a label unique to this run travels OTLP -> collector ->
// Prometheus exporter -> scrape, and the trigger's query reads it back. Empty, NaN and multi-series
// results, bad queries and bad addresses come from the same server.
//
// What the trigger sends (headers, authentication, extra query parameters) cannot be observed at a
// real Prometheus, so those cases use a small HTTP server started here that records the request.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { harness, type Harness } from '../helpers/harness.ts';
import { closedPort, scalerFactory } from '../helpers/scalers.ts';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';
import type { MetricType } from '../../src/scaling/types.ts';

const run = randomBytes(4).toString('hex');
const SECRET = `t0ken-${run}`;
const GAUGE = 'scalepass_test_queue_depth';

let h: Harness;
let prom = '';
let provider: MeterProvider | undefined;
const factory = scalerFactory('prometheus', { scaledObjectName: 'checkout', now: () => Date.now() });
const { read, open } = factory;

function scaler(metadata: Record<string, string>, authParams: Record<string, string> = {}, opts: { metricType?: MetricType; asMetricSource?: boolean } = {}): Scaler {
  return factory.scaler(metadata, { authParams, ...opts });
}

async function failure(s: Scaler): Promise<string> {
  let message = '';
  await assert.rejects(read(s), (e: Error) => {
    message = e.message;
    return true;
  });
  assert.ok(!message.includes(SECRET), `the error shows a secret: ${message}`);
  return message;
}

const query = (part: string) => `${GAUGE}{case="${run}",part="${part}"}`;

before(async () => {
  h = await harness();
  prom = h.state.prometheusUrl;
  provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'scalepass-prometheus-scaler-test' }),
    readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${h.state.otlpEndpoint}/v1/metrics` }), exportIntervalMillis: 60_000 })],
  });
  const gauge = provider.getMeter('scaler-prometheus-test').createGauge(GAUGE);
  gauge.record(37, { case: run, part: 'a' });
  gauge.record(5, { case: run, part: 'b' });
  await provider.forceFlush();
  // The scaler asks for the value at the pass's time in whole seconds (RFC 3339, as KEDA does), and a
  // series first scraped a moment ago does not exist yet at the start of the current second: wait until
  // Prometheus answers that very query, at the current whole second, with both series.
  const t0 = Date.now();
  for (;;) {
    const rows = await queryAt(`${GAUGE}{case="${run}"}`, Math.floor(Date.now() / 1000));
    if (rows === 2) break;
    if (Date.now() - t0 > 30_000) {
      assert.fail(`the gauge did not reach Prometheus through the collector within 30 s (${rows} series seen); collector log: ${h.state.dir}/logs/otelcol.log`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
});

/** How many series Prometheus returns for q evaluated at `seconds` (Unix time). */
async function queryAt(q: string, seconds: number): Promise<number> {
  const r = await fetch(`${prom}/api/v1/query?${new URLSearchParams({ query: q, time: String(seconds) })}`);
  const j = (await r.json()) as { status: string; data: { result: unknown[] } };
  if (j.status !== 'success') throw new Error(`prometheus query failed: ${q}`);
  return j.data.result.length;
}

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  await provider?.shutdown();
});

describe('prometheus against a real Prometheus', () => {
  it('reads 0 from an empty result and is inactive (ignoreNullValues defaults to true)', async () => {
    assert.deepEqual(await read(scaler({ serverAddress: prom, query: query('none'), threshold: '10' })), { value: 0, active: false });
  });

  it('fails on an empty result when ignoreNullValues is false', async () => {
    const m = await failure(scaler({ serverAddress: prom, query: query('none'), threshold: '10', ignoreNullValues: 'false' }));
    assert.equal(m, "prometheus metrics 'prometheus' target may be lost, the result is empty");
  });

  it('reads the one value of a vector: 37; active above activationThreshold 36, inactive at 37', async () => {
    assert.deepEqual(await read(scaler({ serverAddress: prom, query: query('a'), threshold: '10', activationThreshold: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ serverAddress: prom, query: query('a'), threshold: '10', activationThreshold: '37' })), { value: 37, active: false });
  });

  it('reads an aggregation over several series: sum -> 42', async () => {
    assert.equal((await read(scaler({ serverAddress: prom, query: `sum(${GAUGE}{case="${run}"})`, threshold: '10' }))).value, 42);
  });

  it('fails when the query returns more than one series', async () => {
    assert.match(await failure(scaler({ serverAddress: prom, query: `${GAUGE}{case="${run}"}`, threshold: '10' })), /returned multiple elements/);
  });

  it('evaluates the query at the time of the pass', async () => {
    // an hour before the gauge existed Prometheus has nothing for it
    const s = scaler({ serverAddress: prom, query: query('a'), threshold: '10' });
    assert.equal((await read(s, undefined, Date.now() - 3_600_000)).value, 0);
  });

  it('reads NaN and infinity as 0 with ignoreNullValues, and fails on them without', async () => {
    for (const q of ['vector(0/0)', 'vector(1/0)', 'vector(-1/0)']) {
      assert.deepEqual(await read(scaler({ serverAddress: prom, query: q, threshold: '10' })), { value: 0, active: false }, q);
      assert.match(await failure(scaler({ serverAddress: prom, query: q, threshold: '10', ignoreNullValues: 'false' })), /returned (NaN|Infinity|-Infinity)/, q);
    }
  });

  it('fails on a scalar result, which is not an instant vector', async () => {
    assert.match(await failure(scaler({ serverAddress: prom, query: 'scalar(vector(3))', threshold: '10' })), /returned a scalar result; only an instant vector can be read/);
  });

  it('fails on a query Prometheus cannot parse, with its status and error', async () => {
    const m = await failure(scaler({ serverAddress: prom, query: 'sum(', threshold: '10' }));
    assert.match(m, /^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: prometheus query api returned error\. status: 400 response: .*bad_data/);
  });

  it('takes namespace and queryParameters as extra parameters the server ignores when it has no use for them', async () => {
    const r = await read(scaler({ serverAddress: prom, query: query('a'), threshold: '10', namespace: 'shop', queryParameters: 'dedup=true, partial_response=false' }));
    assert.equal(r.value, 37);
  });

  it('a bad address: a path Prometheus does not serve fails with the status, host and path', async () => {
    const m = await failure(scaler({ serverAddress: `${prom}/not-prometheus`, query: query('a'), threshold: '10' }, { bearerToken: SECRET, authModes: 'bearer' }));
    assert.match(m, /^GET http:\/\/127\.0\.0\.1:\d+\/not-prometheus\/api\/v1\/query: prometheus query api returned error\. status: 404/);
  });

  it('a bad address: nothing listening fails at once, without showing credentials', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    const m = await failure(scaler({ serverAddress: `http://admin:${SECRET}@127.0.0.1:${port}`, query: 'up', threshold: '10' }));
    assert.match(m, new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/api/v1/query: .*ECONNREFUSED`));
    assert.ok(Date.now() - t0 < 3000);
  });

  it('names the metric s0-prometheus whatever metricName says; threshold, activationThreshold and metricType go to the spec', () => {
    assert.deepEqual(scaler({ serverAddress: prom, query: 'up', threshold: '2.5', activationThreshold: '1.5', metricName: 'ignored' }).spec,
      { metricName: 's0-prometheus', metricType: 'AverageValue', target: 2.5, activationTarget: 1.5 });
    assert.equal(scaler({ serverAddress: prom, query: 'up', threshold: '2' }, {}, { metricType: 'Value' }).spec.metricType, 'Value');
    assert.equal(scaler({ serverAddress: prom, query: 'up' }, {}, { asMetricSource: true }).spec.target, 0);
  });
});

describe('prometheus: what the server receives', () => {
  interface Seen { path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders }
  const seen: Seen[] = [];
  const hanging: http.ServerResponse[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    if (url.pathname.startsWith('/hang/')) return void hanging.push(res);
    if (url.pathname.startsWith('/fail')) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end(`upstream said: ${req.headers.authorization ?? ''}`);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '7'] }] } }));
  });
  const last = (): Seen => seen.at(-1)!;

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    hanging.forEach((r) => r.destroy());
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('GETs <serverAddress>/api/v1/query with query, time (RFC 3339, UTC), namespace and each query parameter', async () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    await read(scaler({ serverAddress: `${base}/prom/`, query: 'sum(rate(x{a="b c"}[1m]))', threshold: '1', namespace: 'shop', queryParameters: 'dedup=true,tenant=a b' }), undefined, now);
    assert.equal(last().path, '/prom/api/v1/query');
    assert.equal(last().query.get('query'), 'sum(rate(x{a="b c"}[1m]))');
    assert.equal(last().query.get('time'), '2026-01-02T03:04:05Z');
    assert.equal(last().query.get('namespace'), 'shop');
    assert.equal(last().query.get('dedup'), 'true');
    assert.equal(last().query.get('tenant'), 'a b');
  });

  it('sends customHeaders, and cortexOrgID as X-Scope-OrgID unless customHeaders sets it', async () => {
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1', customHeaders: 'X-Client-Id=cid, X-Tenant-Id=tid', cortexOrgID: 'org-1' }));
    assert.equal(last().headers['x-client-id'], 'cid');
    assert.equal(last().headers['x-tenant-id'], 'tid');
    assert.equal(last().headers['x-scope-orgid'], 'org-1');
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1', customHeaders: 'X-Scope-OrgID=org-2', cortexOrgID: 'org-1' }));
    assert.equal(last().headers['x-scope-orgid'], 'org-2');
  });

  it('authenticates with bearer (bearerToken or token), basic, or a custom header', async () => {
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1', authModes: 'bearer' }, { bearerToken: 'tok-1' }));
    assert.equal(last().headers.authorization, 'Bearer tok-1');
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1' }, { authMode: 'bearer', token: 'tok-2' }));
    assert.equal(last().headers.authorization, 'Bearer tok-2');
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1', authModes: 'basic' }, { username: 'u', password: 'p@ss' }));
    assert.equal(last().headers.authorization, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1', authModes: 'custom' }, { customAuthHeader: 'X-Api-Token', customAuthValue: 'c-3' }));
    assert.equal(last().headers['x-api-token'], 'c-3');
    await read(scaler({ serverAddress: base.replace('http://', 'http://urluser:url%20pw@'), query: 'q', threshold: '1' }));
    assert.equal(last().headers.authorization, `Basic ${Buffer.from('urluser:url pw').toString('base64')}`);
  });

  it('sends no credentials when no authModes is set, even if the TriggerAuthentication has some', async () => {
    await read(scaler({ serverAddress: base, query: 'q', threshold: '1' }, { bearerToken: 'tok', username: 'u', password: 'p' }));
    assert.equal(last().headers.authorization, undefined);
  });

  it('a 500 shows the status and body, with the bearer token hidden', async () => {
    const m = await failure(scaler({ serverAddress: `${base}/fail`, query: 'q', threshold: '1', authModes: 'bearer' }, { bearerToken: SECRET }));
    assert.match(m, /status: 500 response: upstream said: Bearer \*\*\*/);
  });

  it('gives up after the trigger timeout when the server never answers', async () => {
    const t0 = Date.now();
    assert.match(await failure(scaler({ serverAddress: `${base}/hang`, query: 'q', threshold: '1', timeout: '250' })), /no response within 250 ms/);
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('prometheus metadata', () => {
  const ok = { serverAddress: 'http://prometheus:9090', query: 'up', threshold: '5' };
  const bad: Array<[string, Record<string, string>, string, Record<string, string>?]> = [
    ['no serverAddress', { query: 'up', threshold: '5' }, 'serverAddress'],
    ['no query', { serverAddress: ok.serverAddress, threshold: '5' }, 'query'],
    ['no threshold', { serverAddress: ok.serverAddress, query: 'up' }, 'threshold'],
    ['a threshold that is not a number', { ...ok, threshold: 'lots' }, 'threshold'],
    ['an activationThreshold that is not a number', { ...ok, activationThreshold: 'x' }, 'activationThreshold'],
    ['a serverAddress without a scheme', { ...ok, serverAddress: 'prometheus:9090' }, 'serverAddress'],
    ['ignoreNullValues that is no boolean', { ...ok, ignoreNullValues: 'sometimes' }, 'ignoreNullValues'],
    ['customHeaders without "="', { ...ok, customHeaders: `X-A=1,Authorization:Bearer ${SECRET}` }, 'customHeaders'],
    ['queryParameters with a value containing "="', { ...ok, queryParameters: 'a=b=c' }, 'queryParameters'],
    ['a timeout that is no duration', { ...ok, timeout: 'soon' }, 'timeout'],
    ['an unknown authModes', { ...ok, authModes: 'kerberos' }, 'authModes'],
    ['bearer and basic together', { ...ok, authModes: 'bearer,basic' }, 'authModes', { bearerToken: SECRET, username: 'u' }],
    ['bearer without a token', { ...ok, authModes: 'bearer' }, 'bearerToken'],
    ['custom without its header', { ...ok, authModes: 'custom' }, 'customAuthHeader', { customAuthValue: SECRET }],
  ];
  for (const [what, md, field, auth] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.throws(() => scaler(md, auth ?? {}), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field, e.message);
        assert.ok(!e.message.includes(SECRET), e.message);
        return true;
      });
    });
  }
});
