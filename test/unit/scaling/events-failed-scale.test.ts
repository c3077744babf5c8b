import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventsAfterFailedScale, successfulRescale, scaleTargetActivated, scaleTargetDeactivated, SCALED_OBJECT_READY } from '../../../src/scaling/events.ts';
import type { TargetState } from '../../../src/scaling/types.ts';

const target: TargetState = { specReplicas: 1, statusReplicas: 1, readyReplicas: 1, kind: 'apps/v1.Deployment', namespace: 'ns', name: 'web' };

describe('events after a refused /scale write: what did not happen is not reported', () => {
  const cases = [
    { name: 'an HPA step: SuccessfulRescale becomes FailedRescale with the error', from: 1, to: 4,
      events: [successfulRescale(4, 'external metric s0-x above target')], want: [['Warning', 'FailedRescale', 'New size: 4; reason: external metric s0-x above target; error: 422 Invalid']] },
    { name: 'an activation: KEDAScaleTargetActivated becomes KEDAScaleTargetActivationFailed', from: 0, to: 1,
      events: [SCALED_OBJECT_READY, scaleTargetActivated(target, 0, 1, ['s0-x'], false)],
      want: [['Normal', 'ScaledObjectReady', 'ScaledObject is ready for scaling'], ['Warning', 'KEDAScaleTargetActivationFailed', 'Failed to scale apps/v1.Deployment ns/web from 0 to 1: 422 Invalid']] },
    { name: 'a deactivation: KEDAScaleTargetDeactivated becomes KEDAScaleTargetDeactivationFailed', from: 3, to: 0,
      events: [scaleTargetDeactivated(target, 3, 0)], want: [['Warning', 'KEDAScaleTargetDeactivationFailed', 'Failed to deactivate apps/v1.Deployment ns/web from 3 to 0: 422 Invalid']] },
    { name: 'a change no event announced (paused-replicas) still gets a failure event', from: 2, to: 5,
      events: [], want: [['Warning', 'KEDAScaleTargetActivationFailed', 'Failed to scale apps/v1.Deployment ns/web from 2 to 5: 422 Invalid']] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = eventsAfterFailedScale(c.events, target, c.from, c.to, '422 Invalid').map((e) => [e.type, e.reason, e.message]);
      assert.deepEqual(got, c.want);
    });
  }
});
