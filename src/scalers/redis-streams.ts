// KEDA's redis-streams trigger: how far behind the consumers of a Redis stream are. The metadata picks
// what is measured: the stream's length, a consumer group's pending entries, or (Redis 7+) its lag.

import type { Redis } from 'ioredis';
import schema from '../../schemas/scalers/redis-streams.schema.json' with { type: 'json' };
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { RedisConnection, redisSources, redisTarget, type RedisConnectionParams } from './redis.ts';
import type { MetricReading, Scaler, ScalerContext, ScalerFactory } from './types.ts';

interface RedisStreamsParams extends RedisConnectionParams {
  stream: string;
  consumerGroup?: string;
  pendingEntriesCount: number;
  streamLength: number;
  lagCount: number;
  activationLagCount: number;
}

type Mode = 'length' | 'pending' | 'lag';

export const createRedisStreamsScaler: ScalerFactory = (ctx) => {
  const p = parseParams<RedisStreamsParams>(schema as ParamSchema, redisSources(ctx));
  const conn = new RedisConnection(redisTarget(p), ctx.clients);
  const group = p.consumerGroup;
  // KEDA's rule: a consumer group means pending entries, unless a lagCount asks for the lag
  const mode: Mode = group === undefined ? 'length' : p.lagCount !== 0 ? 'lag' : 'pending';
  const target = { length: p.streamLength, pending: p.pendingEntriesCount, lag: p.lagCount }[mode];

  const count = async (c: Redis): Promise<number> => {
    switch (mode) {
      case 'length':
        // a stream that does not exist yet is empty
        return c.xlen(p.stream);
      case 'pending': {
        const summary = (await c.xpending(p.stream, group!)) as unknown[];
        return asInteger(summary[0], 'XPENDING');
      }
      case 'lag':
        return lag(c, p.stream, group!);
    }
  };

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`redis-streams-${p.stream}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target,
      activationTarget: p.activationLagCount,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const what = mode === 'length' ? 'error getting stream length' : mode === 'pending' ? 'error getting pending entries' : 'error getting consumer group lag';
      const value = await conn.run(m, what, count);
      return { value, active: value > p.activationLagCount };
    },
    close: () => conn.close(),
  } satisfies Scaler;
};

/** The group's `lag` from XINFO GROUPS (Redis 7+); the whole stream when the group does not exist yet. */
async function lag(c: Redis, stream: string, group: string): Promise<number> {
  const info = await c.info('server');
  const version = /^redis_version:(\S+)/m.exec(info)?.[1];
  if (version === undefined) throw new Error('could not find the Redis version in INFO');
  const major = Number(version.split('.')[0]);
  if (!Number.isInteger(major)) throw new Error(`redis version "${version}" could not be read as a number`);
  if (major < 7) throw new Error(`redis version 7+ required for lag, the server runs ${version}`);

  let groups: unknown[];
  try {
    groups = (await c.xinfo('GROUPS', stream)) as unknown[];
  } catch (err) {
    // KEDA: no stream yet means nothing to catch up on
    if (err instanceof Error && err.message === 'ERR no such key') return 0;
    throw err;
  }
  for (const g of groups) {
    const fields = pairs(g);
    if (fields.get('name') !== group) continue;
    const l = fields.get('lag');
    // Redis answers nil when it cannot tell (entries were deleted); go-redis, and so KEDA, reads that as 0
    return l === null || l === undefined ? 0 : asInteger(l, 'XINFO GROUPS lag');
  }
  // the producer made the stream before the scaled consumers made their group: all of it is lag
  return c.xlen(stream);
}

function pairs(reply: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), reply[i + 1]);
  return out;
}

function asInteger(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new Error(`${what} returned ${JSON.stringify(v)}, not an integer`);
  return n;
}
