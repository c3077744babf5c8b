// Which Jobs are running and pending, which finished Jobs the history limits delete, which Jobs a
// rollout replaces, and KEDA's min/max accessors. Worked out from KEDA v2.20
// pkg/scaling/executor/scale_jobs.go, controllers/keda/scaledjob_controller.go and scaledjob_types.go.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { afterDeletions, countJobs, historyDeletions, isPending, rolloutDeletions } from '../../../src/scaling/scaledjob/jobs.ts';
import { resolveJobSpec } from '../../../src/scaling/scaledjob/defaults.ts';
import type { JobSummary, PodSummary, ScaledJobSpec } from '../../../src/scaling/scaledjob.ts';
import { TEMPLATE, finishedJob, iso, runningJob } from './scaledjob-fixtures.ts';

const pod = (phase: string, ...trueConditions: string[]): PodSummary => ({ phase, conditions: trueConditions.map((type) => ({ type, status: 'True' })) });
const job = (...pods: PodSummary[]): JobSummary => ({ name: 'orders-x', creationTimestamp: iso(0), pods });
const COND = ['Ready', 'PodScheduled'];

describe('a Job is pending until one of its pods has started', () => {
  const rows: Array<{ name: string; job: JobSummary; conditions?: string[]; pending: boolean }> = [
    { name: 'a Job without pods yet is pending', job: job(), pending: true },
    { name: 'a Job whose pod is Pending is pending', job: job(pod('Pending')), pending: true },
    { name: 'a Job whose pod is Running is not pending', job: job(pod('Running')), pending: false },
    { name: 'a Job whose pod Succeeded is not pending', job: job(pod('Succeeded')), pending: false },
    { name: 'a Job whose only pod Failed is pending (its retry has not started)', job: job(pod('Failed')), pending: true },
    { name: 'a Job whose pod is Unknown is pending', job: job(pod('Unknown')), pending: true },
    { name: 'a Job with a failed and a running pod is not pending', job: job(pod('Failed'), pod('Running')), pending: false },
    { name: 'a finished Job is not pending', job: finishedJob('Complete', 0), pending: false },
    { name: 'with pendingPodConditions: a pod with none of them keeps the Job pending', job: job(pod('Running')), conditions: COND, pending: true },
    { name: 'with pendingPodConditions: a pod with one of two keeps the Job pending', job: job(pod('Pending', 'PodScheduled')), conditions: COND, pending: true },
    { name: 'with pendingPodConditions: a pod with both ends pending', job: job(pod('Running', 'Ready', 'PodScheduled')), conditions: COND, pending: false },
    { name: 'with pendingPodConditions: a condition that is False does not count', job: job({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] }), conditions: COND, pending: true },
    { name: 'with pendingPodConditions: two pods missing one each keep it pending', job: job(pod('Running', 'Ready'), pod('Running', 'PodScheduled')), conditions: COND, pending: true },
    { name: 'with pendingPodConditions: one pod of three with both ends pending', job: job(pod('Pending'), pod('Running', 'Ready'), pod('Running', 'Ready', 'PodScheduled')), conditions: COND, pending: false },
    { name: 'with pendingPodConditions naming a condition twice the Job stays pending (KEDA counts the list)', job: job(pod('Running', 'Ready')), conditions: ['Ready', 'Ready'], pending: true },
  ];
  for (const r of rows) it(r.name, () => assert.equal(isPending(r.job, r.conditions ?? []), r.pending));

  it('counts unfinished Jobs as running, a Job being deleted included, and the pending ones among them', () => {
    const jobs = [runningJob(), runningJob({ pending: true }), runningJob({ deleting: true }), finishedJob('Complete', -10), finishedJob('Failed', -5)];
    assert.deepEqual(countJobs(jobs, []), { running: 3, pending: 1 });
  });
});

const names = (d: { name: string }[]) => d.map((x) => x.name);

describe('finished Jobs beyond the history limits are deleted oldest first', () => {
  it('keeps the 3 newest of 5 successful Jobs, whatever the list order', () => {
    const jobs = [-10, -50, -30, -20, -40].map((s) => finishedJob('Complete', s));
    const d = historyDeletions(jobs, 3, 100);
    assert.deepEqual(names(d), ['orders-c-50', 'orders-c-40']);
    assert.deepEqual(d.map((x) => [x.propagationPolicy, x.why]), [['Background', 'successful-history'], ['Background', 'successful-history']]);
  });
  it('a limit of 0 deletes every finished Job of that kind', () => {
    const jobs = [finishedJob('Complete', -2), finishedJob('Complete', -1), finishedJob('Failed', -3)];
    assert.deepEqual(names(historyDeletions(jobs, 0, 100)), ['orders-c-2', 'orders-c-1']);
  });
  it('limits successful and failed Jobs separately', () => {
    const jobs = [finishedJob('Complete', -2), finishedJob('Complete', -1), finishedJob('Failed', -4), finishedJob('Failed', -3)];
    assert.deepEqual(names(historyDeletions(jobs, 1, 1)), ['orders-c-2', 'orders-f-4']);
  });
  it('orders failed Jobs, which have no completionTime, by when they failed', () => {
    const jobs = [finishedJob('Failed', -10), finishedJob('Failed', -30), finishedJob('Failed', -20)];
    assert.ok(jobs.every((j) => j.completionTime === undefined));
    assert.deepEqual(names(historyDeletions(jobs, 1, 1)), ['orders-f-30', 'orders-f-20']);
  });
  it('orders Jobs without any finishing time by creation', () => {
    const jobs = [
      { name: 'b', creationTimestamp: iso(-10), conditions: [{ type: 'Failed', status: 'True' }] },
      { name: 'a', creationTimestamp: iso(-20), conditions: [{ type: 'Failed', status: 'True' }] },
    ];
    assert.deepEqual(names(historyDeletions(jobs, 100, 1)), ['a']);
  });
  it('with the default limit of 100 deletes the oldest of 101 successful Jobs', () => {
    const limits = resolveJobSpec({ jobTargetRef: TEMPLATE, triggers: [] });
    const jobs = Array.from({ length: 101 }, (_, i) => finishedJob('Complete', -i));
    assert.deepEqual(names(historyDeletions(jobs, limits.successfulJobsHistoryLimit, limits.failedJobsHistoryLimit)), ['orders-c-100']);
  });
  it('counts a Job already being deleted towards the limit without deleting it again', () => {
    const jobs = [finishedJob('Complete', -40, { deleting: true }), finishedJob('Complete', -30), finishedJob('Complete', -20), finishedJob('Complete', -10)];
    assert.deepEqual(names(historyDeletions(jobs, 2, 100)), ['orders-c-30']);
  });
  it('never deletes an unfinished Job', () => {
    assert.deepEqual(historyDeletions([runningJob(), runningJob({ pending: true })], 0, 0), []);
  });
  it('a True condition other than Complete/Failed does not finish a Job', () => {
    const j: JobSummary = { name: 'x', creationTimestamp: iso(0), conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'False' }] };
    assert.deepEqual(historyDeletions([j], 0, 0), []);
    assert.deepEqual(countJobs([j], []), { running: 1, pending: 1 });
  });
});

describe('a rollout deletes the Jobs of other generations', () => {
  const jobs = [
    runningJob({ name: 'now', generation: '3' }),
    runningJob({ name: 'old', generation: '2' }),
    finishedJob('Complete', -5, { name: 'old-done', generation: '2' }),
    runningJob({ name: 'unmarked', generation: undefined }),
    runningJob({ name: 'going', generation: '1', deleting: true }),
  ];
  it('immediate: deletes running and finished Jobs of another or no generation, in the background', () => {
    const d = rolloutDeletions(jobs, 3, 'immediate', 'Background');
    assert.deepEqual(names(d), ['old', 'old-done', 'unmarked']);
    assert.ok(d.every((x) => x.propagationPolicy === 'Background' && x.why === 'rollout'));
  });
  it('immediate with propagationPolicy foreground deletes in the foreground', () => {
    assert.ok(rolloutDeletions(jobs, 3, 'immediate', 'Foreground').every((x) => x.propagationPolicy === 'Foreground'));
  });
  it('gradual leaves every Job running', () => {
    assert.deepEqual(rolloutDeletions(jobs, 3, 'gradual', 'Background'), []);
  });
  it('nothing to do when every Job is of the current generation', () => {
    assert.deepEqual(rolloutDeletions([runningJob({ generation: '7' })], 7, 'immediate', 'Background'), []);
  });
  it('after a background deletion the Jobs are gone; after a foreground one they still count as running', () => {
    const old = [runningJob({ name: 'a' }), runningJob({ name: 'b' })];
    assert.deepEqual(countJobs(afterDeletions(old, rolloutDeletions(old, 2, 'immediate', 'Background')), []), { running: 0, pending: 0 });
    const kept = afterDeletions(old, rolloutDeletions(old, 2, 'immediate', 'Foreground'));
    assert.deepEqual(countJobs(kept, []), { running: 2, pending: 0 });
    assert.ok(kept.every((j) => j.deleting));
  });
});

describe("KEDA's defaults and MinReplicaCount()/MaxReplicaCount()", () => {
  const spec = (s: Partial<ScaledJobSpec>): ScaledJobSpec => ({ jobTargetRef: TEMPLATE, triggers: [], ...s });
  const rows: Array<{ name: string; s: Partial<ScaledJobSpec>; min: number; room: number }> = [
    { name: 'neither set: minimum 0, room 100', s: {}, min: 0, room: 100 },
    { name: 'maxReplicaCount 10: room 10', s: { maxReplicaCount: 10 }, min: 0, room: 10 },
    { name: 'min 2, max 10: room 10 - 2 = 8', s: { minReplicaCount: 2, maxReplicaCount: 10 }, min: 2, room: 8 },
    { name: 'min 2, max unset: room 100, not 98 (KEDA)', s: { minReplicaCount: 2 }, min: 2, room: 100 },
    { name: 'min 12 above max 10: minimum lowered to 10, room 10', s: { minReplicaCount: 12, maxReplicaCount: 10 }, min: 10, room: 10 },
    { name: 'min 10 equal to max 10: room 0', s: { minReplicaCount: 10, maxReplicaCount: 10 }, min: 10, room: 0 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = resolveJobSpec(spec(r.s));
      assert.deepEqual([got.minReplicaCount, got.maxReplicaCount], [r.min, r.room]);
    });
  }
  it('pollingInterval 30 and history limits 100 when unset', () => {
    const got = resolveJobSpec(spec({}));
    assert.deepEqual([got.pollingIntervalS, got.successfulJobsHistoryLimit, got.failedJobsHistoryLimit], [30, 100, 100]);
  });
  const rollouts: Array<{ name: string; s: Partial<ScaledJobSpec>; want: [string, string, string] }> = [
    { name: 'no rollout settings: immediate, in the background', s: {}, want: ['immediate', 'default', 'Background'] },
    { name: 'rollout.strategy gradual', s: { rollout: { strategy: 'gradual' } }, want: ['gradual', 'rollout.strategy', 'Background'] },
    { name: 'the legacy rolloutStrategy wins over rollout.strategy', s: { rolloutStrategy: 'gradual', rollout: { strategy: 'immediate' } }, want: ['gradual', 'rolloutStrategy', 'Background'] },
    { name: 'propagationPolicy foreground applies with the legacy field too', s: { rolloutStrategy: 'immediate', rollout: { propagationPolicy: 'foreground' } }, want: ['immediate', 'rolloutStrategy', 'Foreground'] },
  ];
  for (const r of rollouts) {
    it(`rollout: ${r.name}`, () => {
      const got = resolveJobSpec(spec(r.s));
      assert.deepEqual([got.rolloutStrategy, got.rolloutFrom, got.propagationPolicy], r.want);
    });
  }
});
