// The planted-secret test of event-sources.test.ts, against a backend that echoes what it was sent:
// credentials from a Secret (via a TriggerAuthentication) must not come back out of scalepass in any
// form the request carried them in (base64 of user:password in Authorization, "Bearer <token>", a
// URL-encoded api key in the query string), while the error still says what went wrong.
//
// The echo server is a stand-in for a misbehaving backend or proxy: no real Prometheus or RabbitMQ
// echoes request headers in an error on demand, but error pages that dump the request exist, and a
// scaler reports the body of a failed response.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { create, deployment, scaledObject, pass } from '../helpers/fixtures.ts';

const id = crypto.randomBytes(4).toString('hex');
const user = `echo-user-${id}`;
// characters that percent-encoding, base64 and JSON each change
const password = `pw/${id}+&= "q"`;
const token = `tok-${id}.eyJzdWIiOiJzY2FsZXBhc3MifQ`;
const apiKey = `key ${id}&/+=?`;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const FORMS: Record<string, string> = {
  password,
  'password, JSON-escaped': JSON.stringify(password).slice(1, -1),
  'password, JSON-escaped twice': JSON.stringify(JSON.stringify(password)).slice(3, -3),
  'password, URL-encoded': encodeURIComponent(password),
  'password, form-encoded': new URLSearchParams({ p: password }).toString().slice(2),
  'base64(user:password)': b64(`${user}:${password}`).replace(/=+$/, ''),
  'base64url(user:password)': Buffer.from(`${user}:${password}`).toString('base64url'),
  'base64(password)': b64(password).replace(/=+$/, ''),
  'bearer token': token,
  'api key': apiKey,
  'api key, URL-encoded': encodeURIComponent(apiKey),
  'api key, form-encoded': new URLSearchParams({ k: apiKey }).toString().slice(2),
};

describe('a backend that echoes the request in its error', () => {
  let h: Harness;
  let kubeconfig: string;
  let server: http.Server;
  let echo: string;
  const seenAuth: string[] = [];

  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    server = http.createServer((req, res) => {
      seenAuth.push(req.headers.authorization ?? req.url ?? '');
      // the credentials first: the scalers report the first 200-300 characters of a body
      const dump = JSON.stringify({ authorization: req.headers.authorization, url: req.url, headers: req.headers });
      if (req.url?.startsWith('/metrics-api')) {
        // 200 with the request as the document: the metrics-api trigger reports the value it found
        res.writeHead(200, { 'content-type': 'application/json' }).end(dump);
      } else {
        res.writeHead(500, { 'content-type': 'application/json' }).end(dump);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    echo = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function withAuth(ns: string, name: string, secret: Record<string, string>): Promise<void> {
    await h.admin.create(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: secret });
    await create(h, ns, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name }, spec: {
      secretTargetRef: Object.keys(secret).map((k) => ({ parameter: k, name, key: k })) } } as never);
  }

  it('no password, token or api key, raw, base64 or URL-encoded, reaches logs, stdout, events, status or metrics; the errors still name the status and the response', async () => {
    const ns = await h.namespace('e2e-echo');
    const run = crypto.randomUUID();
    await withAuth(ns, 'basic', { username: user, password });
    await withAuth(ns, 'bearer', { bearerToken: token });
    await withAuth(ns, 'apikey', { apiKey });
    // the management-API URL with user:password@, as users write AMQP and HTTP URLs
    await withAuth(ns, 'rabbit', { host: `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${echo.slice('http://'.length)}/` });
    const objects: Array<{ name: string; auth: string; type: string; metadata: Record<string, string>; error: RegExp }> = [
      { name: 'prom-basic', auth: 'basic', type: 'prometheus', metadata: { serverAddress: echo, query: 'up', threshold: '1', authModes: 'basic' },
        error: /prometheus query api returned error\. status: 500 response: \{"authorization":"Basic \*\*\*"/ },
      { name: 'prom-bearer', auth: 'bearer', type: 'prometheus', metadata: { serverAddress: echo, query: 'up', threshold: '1', authModes: 'bearer' },
        error: /status: 500 response: \{"authorization":"Bearer \*\*\*"/ },
      { name: 'api-basic', auth: 'basic', type: 'metrics-api', metadata: { url: `${echo}/metrics-api`, valueLocation: 'authorization', targetValue: '1', authMode: 'basic' },
        error: /valueLocation "authorization" must point to a number or a quantity string, found "Basic \*\*\*"/ },
      { name: 'api-bearer', auth: 'bearer', type: 'metrics-api', metadata: { url: `${echo}/metrics-api`, valueLocation: 'authorization', targetValue: '1', authMode: 'bearer' },
        error: /found "Bearer \*\*\*"/ },
      { name: 'api-key-query', auth: 'apikey', type: 'metrics-api',
        metadata: { url: `${echo}/metrics-api`, valueLocation: 'url', targetValue: '1', authMode: 'apiKey', method: 'query' },
        error: /found "\/metrics-api\?api_key=\*\*\*"/ },
      { name: 'rabbit-http', auth: 'rabbit', type: 'rabbitmq', metadata: { protocol: 'http', queueName: 'q', mode: 'QueueLength', value: '10' },
        error: /error requesting RabbitMQ API status: 500, response: \{"authorization":"Basic \*\*\*"/ },
    ];
    for (const o of objects) {
      await create(h, ns, deployment(o.name, 2));
      await create(h, ns, scaledObject(o.name, { scaleTargetRef: { name: o.name }, pollingInterval: 1,
        triggers: [{ type: o.type, name: o.name, metadata: o.metadata, authenticationRef: { name: o.auth } }] }));
    }

    const p = await pass(h, { kubeconfig, namespaces: [ns], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
    // the backend did receive the credentials: otherwise there would be nothing to leak
    assert.ok(seenAuth.includes(`Basic ${b64(`${user}:${password}`)}`) && seenAuth.includes(`Bearer ${token}`), `the echo server saw: ${seenAuth.join(', ')}`);

    // every place a user or a backend could see: the run's stderr (logs) and stdout, events, status, metrics
    const pts = await h.waitForMetrics((ps) => ps.filter((x) => x.name === 'keda.scaler.errors').length >= objects.length, 15_000,
      (x) => x.resource['scalepass.test.run'] === run);
    const seen = {
      stderr: p.stderr,
      stdout: p.stdout,
      events: JSON.stringify(await h.admin.list(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)),
      status: JSON.stringify(await h.admin.list(`/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`)),
      metrics: JSON.stringify(pts, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    };
    assert.match(seen.events, /KEDAScalerFailed/, 'the failures are reported as events');
    assert.match(seen.stderr, /response: /, 'the failures are logged');
    const leaks = Object.entries(seen).flatMap(([where, text]) =>
      Object.entries(FORMS).filter(([, form]) => text.includes(form)).map(([what]) => `${what} in ${where}`));
    assert.deepEqual(leaks, []);
    // and the errors still say what went wrong
    for (const o of objects) {
      const r = p.report.objects.find((x) => x.name === o.name);
      assert.match(r?.triggers[0]?.error ?? '', o.error, `${o.name}: ${JSON.stringify(r)}`);
    }
  });
});
