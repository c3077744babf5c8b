import fs from 'node:fs';
import path from 'node:path';
// What a user sees when a trigger type is unknown, and what every scaler built through the registry
// reports: KEDA's external-metric rules applied once for all of them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createScaler, supportedTriggerTypes } from '../../../src/scalers/registry.ts';
import { ScalerConfigError, type ScalerContext } from '../../../src/scalers/types.ts';
import type { TriggerSpec } from '../../../src/scaling/types.ts';

function ctx(trigger: TriggerSpec, kube?: ScalerContext['kube']): Omit<ScalerContext, 'signal' | 'now'> {
  return { namespace: 'shop', scaledObjectName: 'web', triggerIndex: 0, trigger, authParams: {}, resolvedEnv: {}, ...(kube ? { kube } : {}) };
}

function podsReturning(n: number): ScalerContext['kube'] {
  return { countPods: async () => n, countPodNodes: async () => n };
}

describe('scaler registry', () => {
  it('refuses an unknown trigger type with: unsupported trigger type "x"', () => {
    assert.throws(() => createScaler(ctx({ type: 'x', metadata: {} })), (e: unknown) => {
      assert.ok(e instanceof ScalerConfigError);
      assert.equal(e.field, 'type');
      assert.match(e.message, /^unsupported trigger type "x"/);
      return true;
    });
  });

  it('is case-sensitive like KEDA: "Cron" is not "cron"', () => {
    assert.throws(() => createScaler(ctx({ type: 'Cron', metadata: {} })), /unsupported trigger type "Cron"/);
  });

  it('does not treat inherited object keys as trigger types', () => {
    assert.throws(() => createScaler(ctx({ type: 'constructor', metadata: {} })), /unsupported trigger type "constructor"/);
  });

  it('lists the supported types, sorted, with a JSON Schema for each', () => {
    assert.deepEqual(supportedTriggerTypes, [...supportedTriggerTypes].sort());
    for (const t of ['cron', 'metrics-api', 'kubernetes-workload', 'redis', 'redis-streams', 'postgresql', 'mysql', 'rabbitmq', 'nats-jetstream', 'external', 'etcd']) {
      assert.ok(supportedTriggerTypes.includes(t), `${t} missing`);
    }
    const schemas = fs.readdirSync(path.join(import.meta.dirname, '../../../schemas/scalers')).map((f) => f.replace('.schema.json', ''));
    assert.deepEqual(schemas.sort(), [...supportedTriggerTypes]);
  });

  it('builds a scaler per supported type', () => {
    const s = createScaler(ctx({ type: 'kubernetes-workload', metadata: { podSelector: 'app=a', value: '1' } }));
    assert.equal(s.spec.metricName, 's0-workload-shop');
  });

  it('refuses metricType Utilization for an external metric, naming metricType', () => {
    assert.throws(
      () => createScaler(ctx({ type: 'kubernetes-workload', metricType: 'Utilization', metadata: { podSelector: 'app=a', value: '1' } })),
      (e: unknown) => e instanceof ScalerConfigError && e.field === 'metricType' && /Utilization/.test(e.message),
    );
  });

  it('passes a scaler configuration error through unchanged', () => {
    assert.throws(() => createScaler(ctx({ type: 'cron', metadata: {} })), (e: unknown) => e instanceof ScalerConfigError && e.field === 'timezone');
  });
});

describe('values reported through the registry', () => {
  const reading = async (n: number, activationValue = '0') => {
    const t: TriggerSpec = { type: 'kubernetes-workload', metadata: { podSelector: 'app=a', value: '1', activationValue } };
    const s = createScaler(ctx(t));
    return s.measure({ ...ctx(t, podsReturning(n)), now: 0, signal: new AbortController().signal });
  };

  it('keeps a plain count as it is', async () => {
    assert.deepEqual(await reading(7), { value: 7, active: true });
  });

  it('reports a negative value as 0 while activity still comes from the raw value', async () => {
    assert.deepEqual(await reading(-3, '-5'), { value: 0, active: true });
  });

  it('reports NaN and infinities as 0', async () => {
    assert.deepEqual(await reading(Number.NaN), { value: 0, active: false });
    assert.deepEqual(await reading(Number.POSITIVE_INFINITY), { value: 0, active: true });
  });

  it('rounds to milli-units as the HPA receives them', async () => {
    assert.deepEqual(await reading(1.23456), { value: 1.235, active: true });
  });
});

describe('parameters the fuzzing found mishandled', () => {
  it('refuses a threshold of "Infinity" or "1e309", naming it (ajv coerces both to an infinite number)', () => {
    for (const threshold of ['Infinity', '1e309', '-1e309']) {
      assert.throws(() => createScaler(ctx({ type: 'prometheus', metadata: { serverAddress: 'http://127.0.0.1:9', query: 'up', threshold } })),
        (e: unknown) => e instanceof ScalerConfigError && e.field === 'threshold' && /must be a finite number/.test(e.message), threshold);
    }
  });

  it('a …FromEnv key naming "constructor" or "valueOf" reads no such variable, not Object.prototype', () => {
    for (const name of ['constructor', 'valueOf', '__proto__']) {
      // mysql reads its password from the env too; without a variable of that name there is no password
      const scaler = createScaler(ctx({ type: 'mysql', metadata: { query: 'select 1', queryValue: '1', host: '127.0.0.1', port: '9', username: 'u', dbName: 'd', passwordFromEnv: name } }));
      assert.equal(scaler.spec.target, 1, name);
    }
  });

  it('refuses a metricType other than AverageValue or Value (the CRD admits any text), and reads an empty one as AverageValue, as KEDA does', () => {
    const t = (metricType: string): TriggerSpec => ({ type: 'prometheus', metadata: { serverAddress: 'http://127.0.0.1:9', query: 'up', threshold: '1' }, metricType: metricType as TriggerSpec['metricType'] });
    assert.throws(() => createScaler(ctx(t('averagevalue'))), (e: unknown) => e instanceof ScalerConfigError && e.field === 'metricType' && /metricType "averagevalue" is unsupported/.test(e.message));
    assert.equal(createScaler(ctx(t(''))).spec.metricType, 'AverageValue');
  });
});
