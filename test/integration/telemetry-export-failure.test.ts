// The real OTLP/HTTP exporter against real sockets on 127.0.0.1: a collector that is not there, one
// that accepts the connection and never answers, one that refuses the data, and one that accepts it.
// flush() must say which, and must come back within its timeout (plus scheduling slack) every time.

import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createTelemetry, formatFlushResult, shardInstanceId, type FlushResult } from '../../src/telemetry/provider.ts';
import { closedPort } from '../helpers/scalers.ts';

const FLUSH_TIMEOUT_MS = 1500;
const SLACK_MS = 1000;

const savedEnv = { ...process.env };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

async function flushTo(url: string): Promise<{ result: FlushResult; elapsedMs: number }> {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] = url;
  const t = createTelemetry({ instanceId: shardInstanceId(0), serviceVersion: '0.0.0-test', flushTimeoutMs: FLUSH_TIMEOUT_MS });
  const ref = { namespace: 'shop', name: 'orders-so' };
  t.recorder.recordScalerValue(ref, { index: 0, type: 'redis', metricName: 's0-redis-orders' }, 7);
  t.recorder.recordScalerError(ref, { index: 0, type: 'redis', metricName: 's0-redis-orders' });
  const started = performance.now();
  const result = await t.flush(FLUSH_TIMEOUT_MS);
  return { result, elapsedMs: performance.now() - started };
}


async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.close();
    if (server instanceof http.Server) server.closeAllConnections();
    await once(server, 'close').catch(() => {});
  });
  return (server.address() as net.AddressInfo).port;
}

describe('flush() with the real OTLP/HTTP exporter', () => {
  it('reports ok:false within the timeout when nothing listens on the collector port', async () => {
    const port = await closedPort();
    const { result, elapsedMs } = await flushTo(`http://127.0.0.1:${port}/v1/metrics`);
    assert.equal(result.ok, false, formatFlushResult(result));
    assert.match(result.error!, /ECONNREFUSED|did not finish/);
    assert.equal(result.points, 0);
    assert.ok(result.lostPoints > 0, formatFlushResult(result));
    assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
  });

  it('reports ok:false within the timeout when the collector accepts the connection and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.resume();
    });
    cleanups.push(() => { for (const s of sockets) s.destroy(); });
    const port = await listen(server);
    const { result, elapsedMs } = await flushTo(`http://127.0.0.1:${port}/v1/metrics`);
    assert.equal(result.ok, false, formatFlushResult(result));
    assert.ok(sockets.size >= 1, 'the exporter connected');
    assert.match(result.error!, /no answer from the collector|Request timed out/);
    assert.ok(result.lostPoints > 0, formatFlushResult(result));
    assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
  });

  it('reports ok:false with the status and body when the collector refuses the data', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"code":3,"message":"unmarshal failed"}');
      });
    });
    const port = await listen(server);
    const { result, elapsedMs } = await flushTo(`http://127.0.0.1:${port}/v1/metrics`);
    assert.equal(result.ok, false);
    assert.match(result.error!, /400.*unmarshal failed/);
    assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
  });

  it('reports ok:true with the accepted point count when the collector accepts, in one request', async () => {
    const bodies: unknown[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    const port = await listen(server);
    const { result } = await flushTo(`http://127.0.0.1:${port}/v1/metrics`);
    assert.equal(result.ok, true, formatFlushResult(result));
    assert.equal(bodies.length, 1);
    type Body = { resourceMetrics: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeMetrics: { metrics: { name: string }[] }[] }[] };
    const body = bodies[0] as Body;
    const rm = body.resourceMetrics[0]!;
    const resource = Object.fromEntries(rm.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    assert.equal(resource['service.name'], 'scalepass');
    assert.equal(resource['service.instance.id'], 'scalepass-shard-0');
    const names = rm.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name));
    assert.ok(names.includes('keda.scaler.metrics.value') && names.includes('keda.scaler.errors') && names.includes('keda.build.info'), names.join(','));
    assert.ok(result.points >= 5, formatFlushResult(result));
    assert.equal(result.lostPoints, 0);
  });
});
