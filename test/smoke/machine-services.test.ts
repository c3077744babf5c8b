// The event-source servers scalers are tested against answer: each a real server on this machine.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import mysql from 'mysql2/promise';
import amqp from 'amqplib';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { harness, type Harness } from '../helpers/harness.ts';

describe('machine services', () => {
  let h: Harness;
  before(async () => { h = await harness(); });

  it('Redis answers PING', async () => {
    const r = new Redis(h.state.services.redis!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await r.connect();
    assert.equal(await r.ping(), 'PONG');
    r.disconnect();
  });

  it('PostgreSQL answers SELECT 1', async () => {
    const c = new pg.Client({ connectionString: h.state.services.postgresql });
    await c.connect();
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    await c.end();
  });

  it('MariaDB answers SELECT 1', async () => {
    const c = await mysql.createConnection(h.state.services.mariadb!);
    const [rows] = await c.query('SELECT 1 AS one');
    assert.equal((rows as { one: number }[])[0]!.one, 1);
    await c.end();
  });

  it('RabbitMQ accepts an AMQP connection and declares a queue', async () => {
    const c = await amqp.connect(h.state.services.rabbitmq!);
    const ch = await c.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    assert.equal(q.messageCount, 0);
    await c.close();
  });

  for (const which of ['machine', 'harness'] as const) {
    it(`NATS (${which}) reports JetStream account info`, async () => {
      const url = which === 'machine' ? h.state.services.nats! : h.state.natsUrl;
      const nc = await connect({ servers: url.replace('nats://', '') });
      const info = await (await jetstreamManager(nc)).getAccountInfo();
      assert.equal(typeof info.streams, 'number');
      await nc.close();
    });
  }
});
