// How a run that got to its pass reports itself on scalepass.pass.duration (outcome) and in its exit code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { passOutcome } from '../../src/pass.ts';

describe('pass outcome', () => {
  const cases: [string, Parameters<typeof passOutcome>[0], ReturnType<typeof passOutcome>][] = [
    ['every object evaluated or skipped -> success', { failedObjects: 0, listErrors: 0, leaseLost: false }, 'success'],
    ['one object failed, the others handled -> partial_failure', { failedObjects: 1, listErrors: 0, leaseLost: false }, 'partial_failure'],
    ['a kind could not be listed -> partial_failure', { failedObjects: 0, listErrors: 1, leaseLost: false }, 'partial_failure'],
    ['the lease was lost: that is what the user must hear first -> lease_lost', { failedObjects: 3, listErrors: 1, leaseLost: true }, 'lease_lost'],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.equal(passOutcome(input), want));
});
