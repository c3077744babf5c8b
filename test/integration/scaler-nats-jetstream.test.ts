// The nats-jetstream trigger against real nats-server JetStream: the harness's server for a single
// node, and a three-node cluster started here (on 127.0.0.1-3) for KEDA's consumer-leader lookup.
// Streams and consumers are made with the NATS client; the scaler reads only the monitoring endpoint.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { harness } from '../helpers/harness.ts';
import { closedPort, scalerFactory } from '../helpers/scalers.ts';
import { freePorts } from '../harness/src/ports.ts';
import { start, stopGroup, waitFor, type Proc } from '../harness/src/proc.ts';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';

const run = randomBytes(3).toString('hex');
const SECRET = `s3cret-${run}`;

let monitoring = ''; // host:port, as the trigger takes it
let nc: NatsConnection;
let jsm: JetStreamManager;
const streams: string[] = [];
const factory = scalerFactory('nats-jetstream', { scaledObjectName: 'events-worker', now: () => Date.now() });
const { read, open } = factory;

function scaler(metadata: Record<string, string>, authParams: Record<string, string> = {}): Scaler {
  return factory.scaler(metadata, { authParams });
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

/** A stream with a durable explicit-ack consumer `worker` and n messages published. */
async function stream(name: string, n: number, m: JetStreamManager = jsm, conn: NatsConnection = nc, replicas = 1): Promise<string> {
  const full = `sp-${run}-${name}`;
  await m.streams.add({ name: full, subjects: [`${full}.>`], num_replicas: replicas });
  streams.push(full);
  await m.consumers.add(full, { durable_name: 'worker', ack_policy: AckPolicy.Explicit, num_replicas: replicas });
  const js = jetstream(conn);
  for (let i = 0; i < n; i++) await js.publish(`${full}.job`, `job ${i}`);
  return full;
}

/** Takes `take` messages for the consumer and acknowledges the first `ack` of them. */
async function deliver(name: string, take: number, ack: number, conn: NatsConnection = nc): Promise<void> {
  const consumer = await jetstream(conn).consumers.get(name, 'worker');
  const batch = await consumer.fetch({ max_messages: take, expires: 2000 });
  let i = 0;
  for await (const msg of batch) {
    if (i++ < ack) await msg.ackAck();
  }
  assert.equal(i, take, `fetched ${i} of ${take}`);
}

before(async () => {
  const h = await harness();
  monitoring = new URL(h.state.natsMonitoringUrl).host;
  nc = await connect({ servers: new URL(h.state.natsUrl).host });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const s of streams) await jsm?.streams.delete(s).catch(() => {});
  await nc?.close();
});

describe('nats-jetstream on a single server', () => {
  it('reads 0 for a consumer with nothing pending and is inactive', async () => {
    const name = await stream('empty', 0);
    assert.deepEqual(await read(scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: name, consumer: 'worker' })), { value: 0, active: false });
  });

  it('reads 37 after 37 messages are published; active above activationLagThreshold 36, inactive at 37', async () => {
    const name = await stream('37', 37);
    const md = { natsServerMonitoringEndpoint: monitoring, account: '$G', stream: name, consumer: 'worker' };
    assert.deepEqual(await read(scaler({ ...md, activationLagThreshold: '36' })), { value: 37, active: true });
    assert.deepEqual(await read(scaler({ ...md, activationLagThreshold: '37' })), { value: 37, active: false });
  });

  it('counts delivered but unacknowledged messages: 37 published, 5 delivered, 2 acked -> 35', async () => {
    const name = await stream('acks', 37);
    await deliver(name, 5, 2);
    assert.equal((await read(scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: name, consumer: 'worker' }))).value, 35);
  });

  it('finds the account by accountID, and takes the endpoint and account from the TriggerAuthentication', async () => {
    const name = await stream('acct', 4);
    assert.equal((await read(scaler({ natsServerMonitoringEndpoint: monitoring, accountID: '$G', stream: name, consumer: 'worker' }))).value, 4);
    assert.equal((await read(scaler({ natsServerMonitoringEndpoint: 'ignored:1', stream: name, consumer: 'worker' }, { natsServerMonitoringEndpoint: monitoring, account: '$G' }))).value, 4);
  });

  it('reads the whole stream (last sequence) for a consumer not created yet, as KEDA does', async () => {
    const name = await stream('noconsumer', 9);
    await deliver(name, 3, 3);
    assert.deepEqual(await read(scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: name, consumer: 'not-yet' })), { value: 9, active: true });
  });

  it('reads 0 for a stream or account that does not exist, as KEDA does', async () => {
    assert.deepEqual(await read(scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: `sp-${run}-absent`, consumer: 'worker' })), { value: 0, active: false });
    const name = await stream('otheracct', 3);
    assert.deepEqual(await read(scaler({ natsServerMonitoringEndpoint: monitoring, account: 'nobody', stream: name, consumer: 'worker' })), { value: 0, active: false });
  });

  it('names the metric s0-nats-jetstream-<stream> with target lagThreshold (10 by default)', () => {
    const s = scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: 'orders.v1', consumer: 'worker' });
    assert.deepEqual(s.spec, { metricName: 's0-nats-jetstream-orders-v1', metricType: 'AverageValue', target: 10, activationTarget: 0 });
    assert.equal(scaler({ natsServerMonitoringEndpoint: monitoring, account: '$G', stream: 'o', consumer: 'w', lagThreshold: '25', activationLagThreshold: '3' }).spec.target, 25);
  });

  it('fails at once when nothing listens on the monitoring port, without showing credentials', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    const m = await failure(scaler({ natsServerMonitoringEndpoint: `monitor:${SECRET}@127.0.0.1:${port}`, account: '$G', stream: 's', consumer: 'worker' }));
    assert.match(m, new RegExp(`^error requesting NATS JetStream monitoring data: GET http://127\\.0\\.0\\.1:${port}/jsz: .*ECONNREFUSED`));
    assert.ok(Date.now() - t0 < 3000);
  });

  it('fails clearly when the endpoint is the client port rather than the monitoring port', async () => {
    const h = await harness();
    const m = await failure(scaler({ natsServerMonitoringEndpoint: new URL(h.state.natsUrl).host, account: '$G', stream: 's', consumer: 'worker' }));
    assert.match(m, /^error requesting NATS JetStream monitoring data: GET http:\/\/127\.0\.0\.1:\d+\/jsz: /);
  });

  it('fails within KEDA_HTTP_DEFAULT_TIMEOUT when the server never answers', async () => {
    // a listener that accepts and stays silent: a real NATS cannot be made to hang on demand
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const saved = process.env.KEDA_HTTP_DEFAULT_TIMEOUT;
    process.env.KEDA_HTTP_DEFAULT_TIMEOUT = '300';
    try {
      const s = scaler({ natsServerMonitoringEndpoint: `127.0.0.1:${(silent.address() as net.AddressInfo).port}`, account: '$G', stream: 's', consumer: 'worker' });
      const t0 = Date.now();
      assert.match(await failure(s), /no response within 300 ms/);
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      if (saved === undefined) delete process.env.KEDA_HTTP_DEFAULT_TIMEOUT;
      else process.env.KEDA_HTTP_DEFAULT_TIMEOUT = saved;
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  const bad: Array<[string, Record<string, string>, string]> = [
    ['no monitoring endpoint', { account: '$G', stream: 's', consumer: 'c' }, 'natsServerMonitoringEndpoint'],
    ['a monitoring endpoint with a scheme', { natsServerMonitoringEndpoint: 'http://nats:8222', account: '$G', stream: 's', consumer: 'c' }, 'natsServerMonitoringEndpoint'],
    ['neither account nor accountID', { natsServerMonitoringEndpoint: 'nats:8222', stream: 's', consumer: 'c' }, 'account'],
    ['no stream', { natsServerMonitoringEndpoint: 'nats:8222', account: '$G', consumer: 'c' }, 'stream'],
    ['no consumer', { natsServerMonitoringEndpoint: 'nats:8222', account: '$G', stream: 's' }, 'consumer'],
    ['a fractional lagThreshold', { natsServerMonitoringEndpoint: 'nats:8222', account: '$G', stream: 's', consumer: 'c', lagThreshold: '1.5' }, 'lagThreshold'],
    ['useHttps that is no boolean', { natsServerMonitoringEndpoint: 'nats:8222', account: '$G', stream: 's', consumer: 'c', useHttps: 'sometimes' }, 'useHttps'],
  ];
  for (const [what, md, field] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.throws(() => scaler(md), (e: unknown) => e instanceof ScalerConfigError && e.field === field);
    });
  }
});

describe('nats-jetstream on a three-node cluster', () => {
  const procs: Proc[] = [];
  let dir = '';
  let cnc: NatsConnection | undefined;
  let cjsm: JetStreamManager;
  let mon = 0;

  before(async () => {
    const [client, cluster, monPort] = (await freePorts(3)) as [number, number, number];
    mon = monPort;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-nats-cluster-'));
    const bin = execFileSync('bash', ['-c', 'command -v nats-server || echo /usr/sbin/nats-server'], { encoding: 'utf8' }).trim();
    // one node per loopback address, so every node has the same ports and KEDA's host:port rewriting applies
    const routes = [1, 2, 3].map((i) => `nats://127.0.0.${i}:${cluster}`).join(', ');
    for (const i of [1, 2, 3]) {
      const conf = path.join(dir, `n${i}.conf`);
      fs.writeFileSync(conf, `server_name: n${i}\nlisten: 127.0.0.${i}:${client}\nhttp: 127.0.0.${i}:${mon}\n` +
        `jetstream { store_dir: ${path.join(dir, `d${i}`)} }\ncluster { name: sp-${run}\n listen: 127.0.0.${i}:${cluster}\n routes: [${routes}] }\n`);
      procs.push(start(`nats-cluster-n${i}`, bin, ['-c', conf], dir));
    }
    for (const [i, p] of procs.entries()) {
      await waitFor(p, 'ready with JetStream', async () =>
        (await fetch(`http://127.0.0.${i + 1}:${mon}/healthz?js-enabled-only=true`)).status === 200, 30_000);
    }
    // a JetStream cluster answers only once the routes are up and a meta leader is elected
    await waitFor(procs[0]!, 'part of a cluster with a JetStream meta leader', async () => {
      const jsz = (await (await fetch(`http://127.0.0.1:${mon}/jsz`)).json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
      return !!jsz.meta_cluster?.leader && jsz.meta_cluster.cluster_size === 3;
    }, 30_000);
    cnc = await connect({ servers: `127.0.0.1:${client}` });
    cjsm = await jetstreamManager(cnc);
  });

  after(async () => {
    await cnc?.close().catch(() => {});
    await Promise.all(procs.map((p) => stopGroup(p.pid)));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the lag the consumer leader reports, whichever node the endpoint names: 37 published, 5 delivered, 2 acked -> 35', async () => {
    const name = await stream('cluster', 37, cjsm, cnc!, 3);
    await deliver(name, 5, 2, cnc!);
    const leader = (await cjsm.consumers.info(name, 'worker')).cluster?.leader;
    assert.ok(leader, 'the consumer has a leader');
    // followers' own /jsz lags behind (it said 37 pending, 0 awaiting ack when this was written)
    for (const i of [1, 2, 3]) {
      const r = await read(scaler({ natsServerMonitoringEndpoint: `127.0.0.${i}:${mon}`, account: '$G', stream: name, consumer: 'worker' }));
      assert.deepEqual(r, { value: 35, active: true }, `through node n${i} (leader ${leader})`);
    }
  });

  it('fails when no node leads the consumer named', async () => {
    const name = await stream('cluster-noconsumer', 3, cjsm, cnc!, 3);
    const m = await failure(scaler({ natsServerMonitoringEndpoint: `127.0.0.1:${mon}`, account: '$G', stream: name, consumer: 'nobody' }));
    assert.match(m, /leader node not found for consumer nobody/);
  });
});
