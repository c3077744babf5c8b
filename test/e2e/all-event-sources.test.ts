// One pass, nine ScaledObjects, nine trigger types, nine real backends: every object is evaluated,
// every value is what the backend holds, and the latency instrument shows each backend.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { Redis } from 'ioredis';
import amqp from 'amqplib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { create, deployment, scaledObject, pass } from '../helpers/fixtures.ts';
import { EXTERNAL_SCALER_DESCRIPTOR } from '../../src/scalers/external.ts';

const id = crypto.randomBytes(4).toString('hex');

describe('all event sources in one pass', () => {
  let h: Harness;
  let kubeconfig: string;
  let redis: Redis;
  let rabbit: amqp.ChannelModel;
  let nats: NatsConnection;
  let grpcServer: grpc.Server;
  let externalAddress = '';
  const queue = `scalepass-all-${id}`;
  const stream = `ALL_${id}`;

  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    redis = new Redis(h.state.services.redis!);
    await redis.rpush(`all:list:${id}`, 'a', 'b', 'c', 'd');
    for (let i = 0; i < 6; i++) await redis.xadd(`all:stream:${id}`, '*', 'n', String(i));
    rabbit = await amqp.connect(h.state.services.rabbitmq!);
    const ch = await rabbit.createConfirmChannel();
    await ch.assertQueue(queue, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(queue, Buffer.from('x'));
    await ch.waitForConfirms();
    await ch.close();
    nats = await connect({ servers: new URL(h.state.natsUrl.replace('nats:', 'http:')).host });
    const jsm = await jetstreamManager(nats);
    await jsm.streams.add({ name: stream, subjects: [`all.${id}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
    const js = jetstream(nats);
    for (let i = 0; i < 9; i++) await js.publish(`all.${id}.job`, 'x');
    await fetch(`${h.state.etcdEndpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(`/all/${id}`).toString('base64'), value: Buffer.from('12').toString('base64') }) });
    // an external scaler, as a user would write one: a queue of 11 items, target 3
    const pkg = grpc.loadPackageDefinition(fromJSON(EXTERNAL_SCALER_DESCRIPTOR as never, { keepCase: true, longs: Number, defaults: true })) as unknown as { externalscaler: { ExternalScaler: grpc.ServiceClientConstructor } };
    grpcServer = new grpc.Server();
    grpcServer.addService(pkg.externalscaler.ExternalScaler.service, {
      IsActive: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { result: true }),
      StreamIsActive: (c: grpc.ServerWritableStream<unknown, unknown>) => c.end(),
      GetMetricSpec: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { metricSpecs: [{ metricName: 'orders', targetSize: 3 }] }),
      GetMetrics: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { metricValues: [{ metricName: 'orders', metricValue: 11 }] }),
    });
    const port = await new Promise<number>((res, rej) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    externalAddress = `127.0.0.1:${port}`;
  });

  after(async () => {
    await redis.del(`all:list:${id}`, `all:stream:${id}`);
    redis.disconnect();
    const ch = await rabbit.createChannel();
    await ch.deleteQueue(queue);
    await rabbit.close();
    await (await jetstreamManager(nats)).streams.delete(stream);
    await nats.close();
    await fetch(`${h.state.etcdEndpoint}/v3/kv/deleterange`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(`/all/${id}`).toString('base64') }) });
    grpcServer.forceShutdown();
  });

  it('evaluates nine objects with nine trigger types against their real servers in one pass', async () => {
    const ns = await h.namespace('e2e-all');
    const run = crypto.randomUUID();
    const triggers: [string, Record<string, string>, number][] = [
      ['prometheus', { serverAddress: h.state.prometheusUrl, query: 'vector(5)', threshold: '2' }, 5],
      ['redis', { address: '127.0.0.1:6379', listName: `all:list:${id}`, listLength: '2' }, 4],
      ['redis-streams', { address: '127.0.0.1:6379', stream: `all:stream:${id}`, streamLength: '2' }, 6],
      ['postgresql', { host: '127.0.0.1', port: '5432', userName: 'postgres', dbName: 'test', sslmode: 'disable', query: 'SELECT 7', targetQueryValue: '2' }, 7],
      ['mysql', { host: '127.0.0.1', port: '3306', username: 'root', dbName: 'test', query: 'SELECT 8', queryValue: '2' }, 8],
      ['rabbitmq', { host: h.state.services.rabbitmq!, protocol: 'amqp', queueName: queue, mode: 'QueueLength', value: '1' }, 3],
      ['nats-jetstream', { natsServerMonitoringEndpoint: new URL(h.state.natsMonitoringUrl).host, account: '$G', stream, consumer: 'worker', lagThreshold: '3' }, 9],
      ['external', { scalerAddress: externalAddress }, 11],
      ['etcd', { endpoints: h.state.etcdEndpoint.replace('http://', ''), watchKey: `/all/${id}`, value: '4' }, 12],
    ];
    for (const [type, metadata] of triggers) {
      await create(h, ns, deployment(type, 0));
      await create(h, ns, scaledObject(type, { scaleTargetRef: { name: type }, pollingInterval: 1, triggers: [{ type, metadata }] }));
    }
    const p = await pass(h, { kubeconfig, namespaces: [ns], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
    assert.equal(p.code, 0, p.stderr.slice(-3000));
    assert.equal(p.report.objects.length, 9);
    for (const [type, , expected] of triggers) {
      const o = p.report.objects.find((x) => x.name === type)!;
      assert.equal(o.outcome, 'evaluated', `${type}: ${o.detail}`);
      assert.equal(o.triggers[0]!.value, expected, `${type} value`);
      assert.equal(o.desired, 1, `${type} activates`);
    }
    const pts = await h.waitForMetrics((ps) => ps.filter((x) => x.name === 'keda.scaler.metrics.latency').length >= 9, 15_000, (x) => x.resource['scalepass.test.run'] === run);
    const latency = new Map(pts.filter((x) => x.name === 'keda.scaler.metrics.latency').map((x) => [String(x.attrs.scaledObject), x]));
    for (const [type] of triggers) {
      const l = latency.get(type);
      assert.ok(l, `no latency point for ${type}`);
      assert.ok(l.value >= 0 && l.value < 5000, `${type} latency ${l.value} ms`);
      assert.match(String(l.attrs.metric), /^s0-|^orders$/);
    }
  });
});
