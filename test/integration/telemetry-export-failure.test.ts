// The real OTLP exporters (http/protobuf, http/json, grpc) against real sockets on 127.0.0.1: a
// collector that is not there, one that accepts the connection and never answers, one that refuses
// the data, and one that accepts it. flush() must say which, and must come back within its timeout
// (plus scheduling slack) every time, whatever the protocol. The refusing and accepting collectors
// are small servers here because the real one never refuses well-formed data; the e2e suite sends to
// the real collector over all three.

import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { createTelemetry, formatFlushResult, shardInstanceId, type FlushResult } from '../../src/telemetry/provider.ts';
import { OTLP_PROTOCOLS, type OtlpProtocol } from '../../src/telemetry/otlp.ts';
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

/** The metrics endpoint of a collector on this port: OTLP/HTTP has a path, OTLP/gRPC has none. */
function endpointFor(protocol: OtlpProtocol, port: number): string {
  return protocol === 'grpc' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1/metrics`;
}

async function flushTo(protocol: OtlpProtocol, url: string): Promise<{ result: FlushResult; elapsedMs: number }> {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  process.env['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'] = protocol;
  process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] = url;
  const t = createTelemetry({ instanceId: shardInstanceId(0), serviceVersion: '0.0.0-test', flushTimeoutMs: FLUSH_TIMEOUT_MS });
  assert.equal(t.info.protocol, protocol);
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

/** A gRPC server with no services: it answers every call, the metrics Export too, UNIMPLEMENTED. */
async function grpcServerWithoutServices(): Promise<number> {
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cleanups.push(() => { server.forceShutdown(); });
  return port;
}

/**
 * A gRPC server with the OTLP metrics Export method, keeping each request's bytes and answering an
 * empty ExportMetricsServiceResponse (zero bytes in protobuf).
 */
async function grpcMetricsServer(requests: Buffer[]): Promise<number> {
  const server = new grpc.Server();
  const raw = (b: Buffer) => b;
  server.addService({
    Export: {
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', requestStream: false, responseStream: false,
      requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw,
    },
  }, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      requests.push(call.request);
      callback(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cleanups.push(() => { server.forceShutdown(); });
  return port;
}

for (const protocol of OTLP_PROTOCOLS) {
  describe(`flush() with the real ${protocol} exporter`, () => {
    it('reports ok:false within the timeout when nothing listens on the collector port', async () => {
      const port = await closedPort();
      const { result, elapsedMs } = await flushTo(protocol, endpointFor(protocol, port));
      assert.equal(result.ok, false, formatFlushResult(result));
      assert.match(result.error!, /ECONNREFUSED|did not finish/);
      assert.equal(result.points, 0);
      assert.ok(result.lostPoints > 0, formatFlushResult(result));
      assert.equal(result.protocol, protocol);
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
      const { result, elapsedMs } = await flushTo(protocol, endpointFor(protocol, port));
      assert.equal(result.ok, false, formatFlushResult(result));
      assert.ok(sockets.size >= 1, 'the exporter connected');
      assert.match(result.error!, /no answer from the collector|Request timed out|DEADLINE_EXCEEDED/);
      assert.ok(result.lostPoints > 0, formatFlushResult(result));
      assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
    });
  });
}

describe('flush() when the collector answers', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: reports ok:false with the status and body when the collector refuses the data`, async () => {
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"code":3,"message":"unmarshal failed"}');
        });
      });
      const port = await listen(server);
      const { result, elapsedMs } = await flushTo(protocol, endpointFor(protocol, port));
      assert.equal(result.ok, false);
      assert.match(result.error!, /400.*unmarshal failed/);
      assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
    });
  }

  it('grpc: reports ok:false with the gRPC status when the server refuses the call', async () => {
    const port = await grpcServerWithoutServices();
    const { result, elapsedMs } = await flushTo('grpc', endpointFor('grpc', port));
    assert.equal(result.ok, false, formatFlushResult(result));
    assert.match(result.error!, /^gRPC 12 UNIMPLEMENTED/);
    assert.ok(result.lostPoints > 0, formatFlushResult(result));
    assert.ok(elapsedMs < FLUSH_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsedMs)} ms`);
  });

  it('grpc: reports ok:true with the accepted point count when the server accepts, in one Export call', async () => {
    const requests: Buffer[] = [];
    const port = await grpcMetricsServer(requests);
    const { result } = await flushTo('grpc', endpointFor('grpc', port));
    assert.equal(result.ok, true, formatFlushResult(result));
    assert.equal(requests.length, 1);
    const text = requests[0]!.toString('latin1');
    for (const s of ['scalepass-shard-0', 'keda.scaler.metrics.value', 'keda.scaler.errors', 'keda.build.info']) assert.ok(text.includes(s), `${s} not in the Export request`);
    assert.ok(result.points >= 5, formatFlushResult(result));
    assert.equal(result.lostPoints, 0);
  });

  const contentTypes = { 'http/protobuf': 'application/x-protobuf', 'http/json': 'application/json' } as const;
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: reports ok:true with the accepted point count when the collector accepts, in one ${contentTypes[protocol]} request`, async () => {
      const requests: { contentType: string | undefined; body: Buffer }[] = [];
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          requests.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
          // an empty ExportMetricsServiceResponse in the request's own encoding
          res.writeHead(200, { 'content-type': contentTypes[protocol] });
          res.end(protocol === 'http/json' ? '{}' : '');
        });
      });
      const port = await listen(server);
      const { result } = await flushTo(protocol, endpointFor(protocol, port));
      assert.equal(result.ok, true, formatFlushResult(result));
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.contentType, contentTypes[protocol]);
      const body = requests[0]!.body;
      if (protocol === 'http/json') {
        type Body = { resourceMetrics: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeMetrics: { metrics: { name: string }[] }[] }[] };
        const rm = (JSON.parse(body.toString('utf8')) as Body).resourceMetrics[0]!;
        const resource = Object.fromEntries(rm.resource.attributes.map((a) => [a.key, a.value.stringValue]));
        assert.equal(resource['service.name'], 'scalepass');
        assert.equal(resource['service.instance.id'], 'scalepass-shard-0');
        const names = rm.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name));
        assert.ok(names.includes('keda.scaler.metrics.value') && names.includes('keda.scaler.errors') && names.includes('keda.build.info'), names.join(','));
      } else {
        // protobuf is binary, but its strings travel as they are: the names and identity are in it
        const text = body.toString('latin1');
        for (const s of ['scalepass-shard-0', 'keda.scaler.metrics.value', 'keda.scaler.errors', 'keda.build.info']) assert.ok(text.includes(s), `${s} not in the protobuf body`);
        assert.ok(!text.trimStart().startsWith('{'), 'not JSON');
      }
      assert.ok(result.points >= 5, formatFlushResult(result));
      assert.equal(result.lostPoints, 0);
    });
  }
});
