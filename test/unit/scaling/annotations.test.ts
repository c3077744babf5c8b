import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoBool, readAnnotations } from '../../../src/scaling/annotations.ts';
import type { FullPause } from '../../../src/scaling/annotations.ts';

describe("booleans as Go's ParseBool reads them", () => {
  const cases = [
    ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((v) => ({ value: v, want: true })),
    ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v) => ({ value: v, want: false })),
    ...['yes', 'on', 'tRuE', ' true', ''].map((v) => ({ value: v, want: undefined })),
  ];
  for (const c of cases) it(`reads "${c.value}" as ${String(c.want)}`, () => assert.equal(parseGoBool(c.value), c.want));
});

describe('pause and activation annotations', () => {
  const cases: Array<{ name: string; a: Record<string, string>; want: FullPause | undefined }> = [
    { name: 'paused-replicas "3" pauses at 3', a: { 'autoscaling.keda.sh/paused-replicas': '3' }, want: { kind: 'replicas', replicas: 3 } },
    { name: 'paused-replicas "0" pauses at 0', a: { 'autoscaling.keda.sh/paused-replicas': '0' }, want: { kind: 'replicas', replicas: 0 } },
    { name: 'paused-replicas "+2" is an integer to Go', a: { 'autoscaling.keda.sh/paused-replicas': '+2' }, want: { kind: 'replicas', replicas: 2 } },
    { name: 'paused-replicas "2.5" is not an integer', a: { 'autoscaling.keda.sh/paused-replicas': '2.5' }, want: { kind: 'invalid', value: '2.5' } },
    { name: 'paused-replicas "-1" is refused', a: { 'autoscaling.keda.sh/paused-replicas': '-1' }, want: { kind: 'invalid', value: '-1' } },
    { name: 'paused-replicas wins over paused "false"', a: { 'autoscaling.keda.sh/paused-replicas': '4', 'autoscaling.keda.sh/paused': 'false' }, want: { kind: 'replicas', replicas: 4 } },
    { name: 'paused "true" freezes the replicas', a: { 'autoscaling.keda.sh/paused': 'true' }, want: { kind: 'frozen' } },
    { name: 'paused "yes" counts as true', a: { 'autoscaling.keda.sh/paused': 'yes' }, want: { kind: 'frozen' } },
    { name: 'paused "false" does not pause', a: { 'autoscaling.keda.sh/paused': 'false' }, want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(readAnnotations(c.a).fullPause, c.want));

  it('reads paused-scale-in, paused-scale-out and force-activation as booleans', () => {
    const a = readAnnotations({
      'autoscaling.keda.sh/paused-scale-in': 'True',
      'autoscaling.keda.sh/paused-scale-out': '0',
      'autoscaling.keda.sh/force-activation': 'please',
    });
    assert.deepEqual([a.pausedScaleIn, a.pausedScaleOut, a.forceActivation], [true, false, true]);
  });
});
