// The dry-run table as a person reads it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { roundTable, table } from '../../src/output.ts';
import type { PassReport } from '../../src/pass.ts';

describe('the plan table', () => {
  it('shows a cpu Utilization target as a percent and an AverageValue target as Avg', () => {
    const report: PassReport = {
      start: 0, durationMs: 1, requests: {}, denied: [], listErrors: [],
      objects: [{
        kind: 'ScaledObject', namespace: 'shop', name: 'web', outcome: 'evaluated', scaled: false, statusWritten: false, events: [], current: 3, desired: 6, active: true, reason: 'scaling 3 -> 6',
        triggers: [
          { index: 0, type: 'cpu', metricName: 'cpu', metricType: 'Utilization', target: 50, activationTarget: 0, active: true, latencyMs: 0 },
          { index: 1, type: 'metrics-api', metricName: 's1-metric-api-value', metricType: 'AverageValue', target: 5, activationTarget: 0, value: 7, active: true, latencyMs: 1 },
        ],
      }],
    };
    const lines = table(report).split('\n');
    assert.match(lines[1]!, /0:cpu\s+cpu\s+-\s+50%\s+true\s+3 -> 6/);
    assert.match(lines[2]!, /1:metrics-api\s+s1-metric-api-value\s+7\s+5 Avg\s+true/);
  });

  it('heads each round of a period-mode run with its number, time and how many objects were due', () => {
    const object = (name: string, outcome: 'evaluated' | 'skipped') => ({
      kind: 'ScaledObject' as const, namespace: 'shop', name, outcome, scaled: false, statusWritten: false, events: [], triggers: [],
      ...(outcome === 'skipped' ? { detail: 'not due: next pollingInterval tick at 2026-12-03T06:00:30.000Z' } : { current: 2, desired: 2, reason: 'keeping 2' }),
    });
    const report: PassReport = { start: Date.parse('2026-12-03T06:00:07.000Z'), durationMs: 80, requests: {}, denied: [], listErrors: [], objects: [object('web', 'evaluated'), object('api', 'skipped')] };
    const lines = roundTable(3, report).split('\n');
    assert.equal(lines[0], 'ROUND 3 at 2026-12-03T06:00:07.000Z: 1 of 2 due');
    assert.match(lines[1]!, /^NAMESPACE\s+SCALEDOBJECT/);
    assert.match(lines[3]!, /api .*not due: next pollingInterval tick at 2026-12-03T06:00:30.000Z$/);
  });
});
