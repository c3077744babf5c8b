// The metrics-api trigger against a real HTTP(S) server started here, as a user's API would serve it:
// what value and activity come out of JSON, YAML and Prometheus responses, what the server receives
// for each authentication mode, and how failures read (host and field named, credentials never).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createScaler } from '../../src/scalers/registry.ts';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';
import type { MetricType } from '../../src/scaling/types.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { scalerFactory } from '../helpers/scalers.ts';

interface Seen {
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  clientCN?: string;
}

const seen: Seen[] = [];
const factory = scalerFactory('metrics-api', { scaledObjectName: 'web', metadata: () => ({ targetValue: '5' }) });
const { read, open } = factory;
let base = '';
let hanging: http.ServerResponse[] = [];

const PROM = `# HELP jobs_waiting Jobs waiting per queue
# TYPE jobs_waiting gauge
jobs_waiting{queue="fast"} 3
jobs_waiting{queue="slow",region="eu"} 17.5
# TYPE jobs_done counter
jobs_done 1027
# TYPE latency histogram
latency_bucket{le="+Inf"} 9
latency_sum 4.2
latency_count 9
jobs_untyped 42
`;

const YAML = `components:
  worker:
    tasks: 12
    memory: 10Mi
  queues:
    - name: fast
      depth: 4
    - name: slow
      depth: 9
`;

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
  seen.push({ path: url.pathname, query: url.searchParams, headers: req.headers, clientCN: Array.isArray(cn) ? cn[0] : cn });
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const value = /^\/value\/(.+)$/.exec(url.pathname);
  if (value) return json(200, { value: JSON.parse(decodeURIComponent(value[1]!)) });
  switch (url.pathname) {
    case '/api/v1/stats':
      return json(200, { components: { worker: { tasks: 12, 'build.version': 3 } }, queues: [{ depth: 4 }, { depth: 9, nested: [{ c: 2.5 }] }] });
    case '/prometheus':
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(PROM);
    case '/yaml':
      res.writeHead(200, { 'content-type': 'application/yaml' });
      return void res.end(YAML);
    case '/fail':
      return json(500, { error: 'database down' });
    case '/accepted':
      return json(202, { value: 1 });
    case '/moved':
      res.writeHead(302, { location: '/value/6' });
      return void res.end();
    case '/bad-json':
      return json(200, '{"value": 3,');
    case '/xml':
      res.writeHead(200, { 'content-type': 'application/xml' });
      return void res.end('<value>3</value>');
    case '/hang':
      hanging.push(res);
      return;
    default:
      return json(404, { error: 'no such path' });
  }
}

const server = http.createServer(handler);
let tlsDir = '';
let pki: TestPki | undefined;
let mtlsServer: https.Server | undefined;
let mtlsBase = '';

async function listen(s: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

before(async () => {
  base = `http://127.0.0.1:${await listen(server)}`;
  pki = makeTestPki('metrics-api-tls');
  tlsDir = pki.dir;
  if (pki) {
    mtlsServer = https.createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, handler);
    mtlsBase = `https://127.0.0.1:${await listen(mtlsServer)}`;
  }
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const res of hanging) res.destroy();
  for (const s of [server, mtlsServer]) {
    if (!s) continue;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

function scaler(metadata: Record<string, string>, authParams: Record<string, string> = {}, metricType?: MetricType): Scaler {
  return factory.scaler(metadata, { authParams, metricType });
}

function lastSeen(path: string): Seen {
  const s = seen.findLast((x) => x.path === path);
  assert.ok(s, `the server saw no request for ${path}`);
  return s;
}

describe('metrics-api: reading the value', () => {
  const cases: Array<[string, Record<string, string>, number]> = [
    ['a nested JSON field, as in KEDA\'s example components.worker.tasks', { url: '/api/v1/stats', valueLocation: 'components.worker.tasks' }, 12],
    ['an array element by index', { url: '/api/v1/stats', valueLocation: 'queues.1.depth' }, 9],
    ['a path through two arrays', { url: '/api/v1/stats', valueLocation: 'queues.1.nested.0.c' }, 2.5],
    ['a key containing a dot, escaped', { url: '/api/v1/stats', valueLocation: 'components.worker.build\\.version' }, 3],
    ['the length of an array with #', { url: '/api/v1/stats', valueLocation: 'queues.#' }, 2],
    ['a quantity string "2k"', { url: `/value/${encodeURIComponent('"2k"')}`, valueLocation: 'value' }, 2000],
    ['a quantity string "250m"', { url: `/value/${encodeURIComponent('"250m"')}`, valueLocation: 'value' }, 0.25],
    ['a YAML field', { url: '/yaml', format: 'yaml', valueLocation: 'components.worker.tasks' }, 12],
    ['a YAML list item by index', { url: '/yaml', format: 'yaml', valueLocation: 'components.queues.1.depth' }, 9],
    ['a YAML quantity "10Mi"', { url: '/yaml', format: 'yaml', valueLocation: 'components.worker.memory' }, 10 * 1024 * 1024],
    ['a Prometheus gauge by label', { url: '/prometheus', format: 'prometheus', valueLocation: 'jobs_waiting{queue="slow"}' }, 17.5],
    ['the first Prometheus series of a name', { url: '/prometheus', format: 'prometheus', valueLocation: 'jobs_waiting' }, 3],
    ['a Prometheus counter', { url: '/prometheus', format: 'prometheus', valueLocation: 'jobs_done' }, 1027],
    ['an untyped Prometheus sample', { url: '/prometheus', format: 'prometheus', valueLocation: 'jobs_untyped' }, 42],
    ['a value behind a redirect', { url: '/moved', valueLocation: 'value' }, 6],
  ];
  for (const [what, md, expected] of cases) {
    it(`reads ${what} -> ${expected}`, async () => {
      const r = await read(scaler({ ...md, url: base + md.url! }));
      assert.equal(r.value, expected);
    });
  }

  it('reaches an API on port 6000, a port the Fetch standard blocks but Go (KEDA) does not', async () => {
    const s6000 = http.createServer(handler);
    try {
      await new Promise<void>((resolve, reject) => s6000.once('error', reject).listen(6000, '127.0.0.1', resolve));
    } catch (e) {
      assert.fail(`port 6000 must be free for this test: ${(e as Error).message}`);
    }
    try {
      assert.equal((await read(scaler({ url: 'http://127.0.0.1:6000/value/60', valueLocation: 'value' }))).value, 60);
    } finally {
      s6000.closeAllConnections();
      await new Promise((resolve) => s6000.close(resolve));
    }
  });

  it('sends a plain GET to the configured path', async () => {
    await read(scaler({ url: `${base}/api/v1/stats?team=a`, valueLocation: 'components.worker.tasks' }));
    const s = lastSeen('/api/v1/stats');
    assert.equal(s.query.get('team'), 'a');
    assert.equal(s.headers.authorization, undefined);
  });
});

describe('metrics-api: activity and metric spec', () => {
  it('is inactive when the value equals activationTargetValue and active only when strictly greater', async () => {
    const at = (v: number) => read(scaler({ url: `${base}/value/${v}`, valueLocation: 'value', activationTargetValue: '3.8' }));
    assert.deepEqual(await at(3.8), { value: 3.8, active: false });
    assert.deepEqual(await at(3.801), { value: 3.801, active: true });
    assert.deepEqual(await at(0), { value: 0, active: false });
  });

  it('is active above 0 when no activationTargetValue is set', async () => {
    assert.deepEqual(await read(scaler({ url: `${base}/value/0.5`, valueLocation: 'value' })), { value: 0.5, active: true });
  });

  it('carries targetValue, activationTargetValue and metricType into the spec, AverageValue by default', () => {
    const md = { url: `${base}/value/1`, valueLocation: 'components.worker.tasks', targetValue: '8.8', activationTargetValue: '3.8' };
    assert.deepEqual(scaler(md).spec, { metricName: 's0-metric-api-components-worker-tasks', metricType: 'AverageValue', target: 8.8, activationTarget: 3.8 });
    assert.equal(scaler(md, {}, 'Value').spec.metricType, 'Value');
    assert.equal(scaler(md, {}, 'AverageValue').spec.metricType, 'AverageValue');
  });
});

describe('metrics-api: authentication reaching the server', () => {
  it('apiKey in the default X-API-KEY header', async () => {
    await read(scaler({ url: `${base}/value/1`, valueLocation: 'value', authMode: 'apiKey' }, { apiKey: 'k-123' }));
    assert.equal(lastSeen('/value/1').headers['x-api-key'], 'k-123');
  });

  it('apiKey in a custom header named by keyParamName', async () => {
    await read(scaler({ url: `${base}/value/2`, valueLocation: 'value', authModes: 'apiKey', keyParamName: 'X-Token' }, { apiKey: 'k-456' }));
    assert.equal(lastSeen('/value/2').headers['x-token'], 'k-456');
  });

  it('apiKey as the api_key query parameter, or the one keyParamName names', async () => {
    await read(scaler({ url: `${base}/value/3?team=a`, valueLocation: 'value', authModes: 'apiKey', method: 'query' }, { apiKey: 'k-789' }));
    assert.equal(lastSeen('/value/3').query.get('api_key'), 'k-789');
    assert.equal(lastSeen('/value/3').query.get('team'), 'a');
    await read(scaler({ url: `${base}/value/4`, valueLocation: 'value', authModes: 'apiKey', method: 'query', keyParamName: 'QUERY_KEY' }, { apiKey: 'k-0' }));
    assert.equal(lastSeen('/value/4').query.get('QUERY_KEY'), 'k-0');
  });

  it('basic auth from the TriggerAuthentication username and password', async () => {
    await read(scaler({ url: `${base}/value/5`, valueLocation: 'value', authModes: 'basic' }, { username: 'user', password: 'p@ss' }));
    assert.equal(lastSeen('/value/5').headers.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it('basic auth with an empty password, as many APIs use a key as username', async () => {
    await read(scaler({ url: `${base}/value/6`, valueLocation: 'value', authModes: 'basic' }, { username: 'key-as-user' }));
    assert.equal(lastSeen('/value/6').headers.authorization, `Basic ${Buffer.from('key-as-user:').toString('base64')}`);
  });

  it('bearer token from "token" (and from "bearerToken")', async () => {
    await read(scaler({ url: `${base}/value/7`, valueLocation: 'value', authMode: 'bearer' }, { token: 'tok-1' }));
    assert.equal(lastSeen('/value/7').headers.authorization, 'Bearer tok-1');
    await read(scaler({ url: `${base}/value/8`, valueLocation: 'value', authMode: 'bearer' }, { bearerToken: 'tok-2', token: 'ignored' }));
    assert.equal(lastSeen('/value/8').headers.authorization, 'Bearer tok-2');
  });

  it('authModes given in the TriggerAuthentication instead of the trigger', async () => {
    await read(scaler({ url: `${base}/value/9`, valueLocation: 'value' }, { authModes: 'bearer', bearerToken: 'tok-3' }));
    assert.equal(lastSeen('/value/9').headers.authorization, 'Bearer tok-3');
  });

  it('credentials in the URL become basic auth', async () => {
    const url = new URL(`${base}/value/10`);
    url.username = 'urluser';
    url.password = 'url secret';
    await read(scaler({ url: url.href, valueLocation: 'value' }));
    assert.equal(lastSeen('/value/10').headers.authorization, `Basic ${Buffer.from('urluser:url secret').toString('base64')}`);
  });

  it('client certificate (tls) presented to a server that requires one, verified against the given CA', async () => {
    assert.ok(pki, 'the openssl CLI is required to make certificates (bash test/harness/install-system.sh installs it)');
    const r = await read(scaler({ url: `${mtlsBase}/value/11`, valueLocation: 'value', authModes: 'tls' }, { cert: pki.clientCert, key: pki.clientKey, ca: pki.ca }));
    assert.equal(r.value, 11);
    assert.equal(lastSeen('/value/11').clientCN, 'scalepass-client');
  });

  it('tls together with an apiKey header', async () => {
    assert.ok(pki, 'the openssl CLI is required to make certificates (bash test/harness/install-system.sh installs it)');
    await read(scaler({ url: `${mtlsBase}/value/12`, valueLocation: 'value', authModes: 'apiKey,tls' }, { apiKey: 'k-tls', cert: pki.clientCert, key: pki.clientKey, ca: pki.ca }));
    assert.equal(lastSeen('/value/12').headers['x-api-key'], 'k-tls');
    assert.equal(lastSeen('/value/12').clientCN, 'scalepass-client');
  });

  it('an unknown server certificate is refused, and accepted with unsafeSsl', async () => {
    assert.ok(pki, 'the openssl CLI is required to make certificates (bash test/harness/install-system.sh installs it)');
    const withCert = { cert: pki.clientCert, key: pki.clientKey };
    await assert.rejects(
      read(scaler({ url: `${mtlsBase}/value/13`, valueLocation: 'value', authModes: 'tls' }, withCert)),
      (e: Error) => /127\.0\.0\.1/.test(e.message) && /certificate/i.test(e.message),
    );
    const r = await read(scaler({ url: `${mtlsBase}/value/13`, valueLocation: 'value', authModes: 'tls', unsafeSsl: 'true' }, withCert));
    assert.equal(r.value, 13);
  });

  it('a server that requires a client certificate refuses a request without one', async () => {
    assert.ok(pki, 'the openssl CLI is required to make certificates (bash test/harness/install-system.sh installs it)');
    await assert.rejects(read(scaler({ url: `${mtlsBase}/value/14`, valueLocation: 'value', unsafeSsl: 'true' })), /127\.0\.0\.1/);
  });
});

describe('metrics-api: failures', () => {
  const secret = 'sup3r-s3cret-value';

  async function failure(md: Record<string, string>, auth: Record<string, string> = {}, signal?: AbortSignal): Promise<string> {
    let message = '';
    await assert.rejects(read(scaler(md, auth), signal), (e: Error) => {
      message = e.message;
      return true;
    });
    assert.ok(!message.includes(secret), `the error shows a secret: ${message}`);
    return message;
  }

  it('a 500 names the host and path and the status, never the api key in the query', async () => {
    const m = await failure({ url: `${base}/fail`, valueLocation: 'value', authModes: 'apiKey', method: 'query' }, { apiKey: secret });
    assert.match(m, /^error requesting metrics endpoint: GET http:\/\/127\.0\.0\.1:\d+\/fail: api returned 500$/);
  });

  it('a 202 is an error too: KEDA accepts only 200', async () => {
    assert.match(await failure({ url: `${base}/accepted`, valueLocation: 'value' }), /api returned 202/);
  });

  it('a 404 never shows basic-auth credentials from the URL', async () => {
    const url = new URL(`${base}/nowhere`);
    url.username = 'me';
    url.password = secret;
    assert.match(await failure({ url: url.href, valueLocation: 'value' }), /http:\/\/127\.0\.0\.1:\d+\/nowhere: api returned 404/);
  });

  it('a body that is not JSON says so', async () => {
    assert.match(await failure({ url: `${base}/bad-json`, valueLocation: 'value' }), /\/bad-json: response is not valid JSON/);
  });

  it('a missing key names valueLocation', async () => {
    assert.match(
      await failure({ url: `${base}/api/v1/stats`, valueLocation: 'components.scheduler.tasks' }),
      /valueLocation "components\.scheduler\.tasks" not found in the response/,
    );
  });

  it('an index past the end of an array is a missing key', async () => {
    assert.match(await failure({ url: `${base}/api/v1/stats`, valueLocation: 'queues.5.depth' }), /valueLocation "queues\.5\.depth" not found/);
  });

  it('a value that is neither a number nor a quantity names valueLocation', async () => {
    assert.match(
      await failure({ url: `${base}/value/${encodeURIComponent('"lots"')}`, valueLocation: 'value' }),
      /valueLocation "value" must point to a number or a quantity string, found "lots"/,
    );
    assert.match(await failure({ url: `${base}/api/v1/stats`, valueLocation: 'components.worker' }), /found an object/);
    assert.match(await failure({ url: `${base}/value/true`, valueLocation: 'value' }), /found a boolean/);
  });

  it('a YAML path that does not exist names the missing key', async () => {
    assert.match(await failure({ url: `${base}/yaml`, format: 'yaml', valueLocation: 'components.worker.cpu' }), /key "cpu" of valueLocation "components\.worker\.cpu" not found/);
  });

  it('a Prometheus selector matching nothing, or only a histogram, names valueLocation', async () => {
    assert.match(await failure({ url: `${base}/prometheus`, format: 'prometheus', valueLocation: 'jobs_waiting{queue="medium"}' }), /matched no counter, gauge or untyped sample/);
    assert.match(await failure({ url: `${base}/prometheus`, format: 'prometheus', valueLocation: 'latency' }), /matched no counter/);
  });

  it('xml cannot be read, as in KEDA', async () => {
    assert.match(await failure({ url: `${base}/xml`, format: 'xml', valueLocation: 'value' }), /format "xml" cannot be read/);
  });

  it('a server that never answers fails after the trigger timeout, with the bearer token hidden', async () => {
    const started = Date.now();
    const m = await failure({ url: `${base}/hang`, valueLocation: 'value', timeout: '200', authModes: 'bearer' }, { bearerToken: secret });
    assert.match(m, /GET http:\/\/127\.0\.0\.1:\d+\/hang: no response within 200 ms/);
    assert.ok(Date.now() - started < 2000, 'the timeout did not cut the request');
  });

  it('a server that never answers is abandoned when the pass aborts the measurement', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('pass deadline reached')), 100);
    const m = await failure({ url: `${base}/hang`, valueLocation: 'value', timeout: '10s' }, {}, controller.signal);
    assert.match(m, /\/hang: aborted \(pass deadline reached\)/);
  });

  it('a port nobody listens on names the host', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    assert.match(await failure({ url: `http://127.0.0.1:${port}/x`, valueLocation: 'value' }), new RegExp(`127\\.0\\.0\\.1:${port}/x: .*ECONNREFUSED`));
  });
});

describe('metrics-api: metadata', () => {
  const refused: Array<[string, Record<string, string>, Record<string, string>, string, RegExp]> = [
    ['no url', { url: '' }, {}, 'url', /missing required parameter "url"/],
    ['no valueLocation', { valueLocation: '' }, {}, 'valueLocation', /missing required parameter "valueLocation"/],
    ['targetValue 0', { targetValue: '0' }, {}, 'targetValue', /"targetValue"/],
    ['an unknown format', { format: 'csv' }, {}, 'format', /must be one of json, prometheus, xml, yaml/],
    ['an unknown aggregationType', { aggregationType: 'median' }, {}, 'aggregationType', /must be one of average, sum, max, min/],
    ['an unknown auth mode', { authModes: 'apiKey,kerberos' }, {}, 'authModes', /must be one of apiKey, basic, tls, bearer, custom, oauth/],
    ['two exclusive auth modes', { authModes: 'basic,bearer' }, { username: 'u', bearerToken: 't' }, 'authModes', /only one of bearer, basic, oauth/],
    ['bearer without a token', { authModes: 'bearer' }, {}, 'bearerToken', /required when authModes includes bearer/],
    ['basic without a username', { authMode: 'basic' }, { password: 'p' }, 'username', /required when authModes includes basic/],
    ['apiKey without a key', { authModes: 'apiKey' }, {}, 'apiKey', /required when authModes includes apiKey/],
    ['tls without a key', { authModes: 'tls' }, { cert: 'x' }, 'key', /required when authModes includes tls/],
    ['tls with a certificate that is not PEM', { authModes: 'tls' }, { cert: 'not a cert', key: 'not a key' }, 'cert', /valid PEM/],
    ['an unknown apiKey method', { authModes: 'apiKey', method: 'cookie' }, { apiKey: 'k' }, 'method', /must be one of header, query/],
    ['a timeout that is not a duration', { timeout: 'soon' }, {}, 'timeout', /"timeout" must be a duration/],
    ['a negative timeout', { timeout: '-5s' }, {}, 'timeout', /must not be negative/],
    ['a GJSON wildcard', { valueLocation: 'components.*.tasks' }, {}, 'valueLocation', /wildcards/],
    ['a GJSON query', { valueLocation: 'queues.#(depth>5).depth' }, {}, 'valueLocation', /queries/],
    ['aggregation over service endpoints', { aggregateFromKubeServiceEndpoints: 'true' }, {}, 'aggregateFromKubeServiceEndpoints', /not supported/],
  ];
  for (const [what, md, auth, field, message] of refused) {
    it(`refuses ${what}, naming the field "${field}"`, () => {
      assert.throws(() => scaler({ url: `${base}/value/1`, valueLocation: 'value', ...md }, auth), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, message);
        assert.ok(!e.message.includes('not a key'), 'a key was echoed');
        return true;
      });
    });
  }

  it('lets a trigger that only feeds a scalingModifiers formula omit targetValue', () => {
    const s = createScaler({
      namespace: 'shop', scaledObjectName: 'web', triggerIndex: 1, asMetricSource: true,
      trigger: { type: 'metrics-api', metadata: { url: `${base}/value/1`, valueLocation: 'value' } }, authParams: {}, resolvedEnv: {},
    });
    open.push(s);
    assert.equal(s.spec.target, 0);
    assert.equal(s.spec.metricName, 's1-metric-api-value');
  });

  it('accepts Go durations and milliseconds for timeout', () => {
    for (const timeout of ['1500', '30s', '1m30s', '250ms', '0']) assert.doesNotThrow(() => scaler({ url: `${base}/value/1`, valueLocation: 'value', timeout }), timeout);
  });
});
