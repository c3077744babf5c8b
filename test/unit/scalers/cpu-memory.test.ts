// What a user sees for a cpu or memory trigger's configuration: KEDA's cpu_memory_scaler.go rules and
// messages ("error parsing cpu metadata: ..."), each naming the field.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseResourceTrigger } from '../../../src/scalers/cpu-memory.ts';
import { ScalerConfigError } from '../../../src/scalers/types.ts';
import type { TriggerSpec } from '../../../src/scaling/types.ts';

describe('cpu and memory trigger configuration', () => {
  it('cpu Utilization 60 targets 60% of requests over the whole pod', () => {
    assert.deepEqual(parseResourceTrigger({ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }), {
      resource: 'cpu', metricType: 'Utilization', target: { type: 'Utilization', averageUtilization: 60 }, targetNumber: 60, containerName: undefined,
    });
  });
  it('memory AverageValue 256Mi targets 256Mi per pod, on the named container', () => {
    assert.deepEqual(parseResourceTrigger({ type: 'memory', metricType: 'AverageValue', metadata: { value: ' 256Mi ', containerName: 'app' } }), {
      resource: 'memory', metricType: 'AverageValue', target: { type: 'AverageValue', averageValueMilli: 268435456000n }, targetNumber: 268435456, containerName: 'app',
    });
  });
  it('cpu AverageValue 500m targets half a core per pod', () => {
    const s = parseResourceTrigger({ type: 'cpu', metricType: 'AverageValue', metadata: { value: '500m' } });
    assert.deepEqual(s.target, { type: 'AverageValue', averageValueMilli: 500n });
    assert.equal(s.targetNumber, 0.5);
  });

  const refused: [string, TriggerSpec, string, string][] = [
    ['without metricType (KEDA gives cpu/memory no default)', { type: 'cpu', metadata: { value: '50' } }, 'metricType',
      "error parsing cpu metadata: unknown metric type: , allowed values are 'Utilization' or 'AverageValue'"],
    ['with metricType Value', { type: 'memory', metricType: 'Value', metadata: { value: '1Gi' } }, 'metricType',
      "error parsing memory metadata: unknown metric type: Value, allowed values are 'Utilization' or 'AverageValue'"],
    ['with the legacy metadata key type', { type: 'cpu', metadata: { type: 'Utilization', value: '50' } }, 'type',
      "error parsing cpu metadata: scaler cpu info: The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead."],
    ['without value', { type: 'cpu', metricType: 'Utilization', metadata: {} }, 'value', 'error parsing cpu metadata: missing required parameter "value" in [metadata]'],
    ['with an empty value', { type: 'cpu', metricType: 'Utilization', metadata: { value: '  ' } }, 'value', 'error parsing cpu metadata: missing required parameter "value" in [metadata]'],
    ['with a Utilization that is not an integer', { type: 'cpu', metricType: 'Utilization', metadata: { value: '50.5' } }, 'value',
      'error parsing cpu metadata: strconv.ParseInt: parsing "50.5": invalid syntax'],
    ['with a Utilization past int32', { type: 'cpu', metricType: 'Utilization', metadata: { value: '3000000000' } }, 'value',
      'error parsing cpu metadata: strconv.ParseInt: parsing "3000000000": value out of range'],
    ['with a Utilization of 0 (the HPA API refuses it)', { type: 'cpu', metricType: 'Utilization', metadata: { value: '0' } }, 'value',
      'error parsing cpu metadata: averageUtilization 0 must be greater than 0'],
    ['with an AverageValue that is not a quantity', { type: 'memory', metricType: 'AverageValue', metadata: { value: '256MB' } }, 'value',
      "error parsing memory metadata: \"256MB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ['with an AverageValue of 0', { type: 'cpu', metricType: 'AverageValue', metadata: { value: '0m' } }, 'value', 'error parsing cpu metadata: averageValue 0m must be positive'],
  ];
  for (const [name, trigger, field, message] of refused) {
    it(`is refused ${name}, naming ${field}`, () => {
      assert.throws(() => parseResourceTrigger(trigger), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError);
        assert.equal(e.field, field);
        assert.equal(e.message, message);
        return true;
      });
    });
  }
});
