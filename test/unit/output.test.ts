// The dry-run table as a person reads it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { table } from '../../src/output.ts';
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
});
