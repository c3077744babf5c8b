// One pass for one ScaledJob: rollout, trigger combination, counts, strategy, history, status,
// conditions and events together. Numbers worked out by hand from KEDA v2.20 (see the other
// scaledjob-*.test.ts files for each formula); texts from KEDA's executor and reconciler.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideInvalidScaledJob, decideScaledJob, type ScaledJobDecision } from '../../../src/scaling/scaledjob.ts';
import { eventsAfterJobWrites } from '../../../src/scaling/scaledjob/events.ts';
import { canonical } from '../../../src/scaling/status.ts';
import { at, failedReading, finishedJob, iso, jobInput, reading, runningJob, settledJob, type JobCase } from './scaledjob-fixtures.ts';

interface Want {
  create?: number;
  /** names of the Jobs deleted, in order */
  deleted?: string[];
  events?: string[];
  ready?: string;
  active?: string;
  paused?: string;
  running?: number;
  pending?: number;
  reason?: RegExp;
}

const cond = (d: ScaledJobDecision, type: string) => {
  const c = d.status.conditions?.find((x) => x.type === type);
  return c && `${c.status}/${c.reason ?? ''}`;
};

function check(d: ScaledJobDecision, w: Want): void {
  const got: Record<string, unknown> = {};
  const want: Record<string, unknown> = {};
  const add = (k: string, actual: unknown, expected: unknown) => {
    if (expected === undefined) return;
    got[k] = actual;
    want[k] = expected;
  };
  add('create', d.jobsToCreate, w.create);
  add('deleted', d.deletions.map((x) => x.name), w.deleted);
  add('events', d.events.map((e) => e.reason), w.events);
  add('ready', cond(d, 'Ready'), w.ready);
  add('active', cond(d, 'Active'), w.active);
  add('paused', cond(d, 'Paused'), w.paused);
  add('running', d.running, w.running);
  add('pending', d.pending, w.pending);
  assert.deepEqual(got, want, `reason was: ${d.reason}`);
  if (w.reason) assert.match(d.reason, w.reason);
}

const ACTIVE = settledJob({ active: true, lastActiveTime: iso(-600) });
const QUIET = settledJob({ active: false });
const PAUSED = { 'autoscaling.keda.sh/paused': 'true' };

function table(title: string, rows: Array<{ name: string; c: JobCase; want: Want }>): void {
  describe(title, () => {
    for (const r of rows) it(r.name, () => check(decideScaledJob(jobInput(r.c)), r.want));
  });
}

table('how many Jobs a pass creates', [
  // 7 / 2 -> maxScale 4; default 4 - 0 = 4; min(7, 4) = 4
  { name: 'a new ScaledJob with 7 messages at target 2 creates 4 Jobs and says it is ready and active', c: { measurements: [reading(7, { target: 2 })] }, want: { create: 4, events: ['ScaledJobReady', 'KEDAJobsCreated', 'ScaledJobActive'], ready: 'True/ScaledJobReady', active: 'True/ScalerActive', reason: /s0-rabbitmq-jobs queue 7 -> 3.5 jobs; running 0, pending 0; default: maxScale 4 - running 0 = 4; creating min\(scaleTo 7, 4\) = 4/ } },
  // 4 - 4 = 0
  { name: 'creates none while 4 running Jobs already match maxScale 4', c: { status: ACTIVE, measurements: [reading(7, { target: 2 })], jobs: [runningJob(), runningJob(), runningJob(), runningJob()] }, want: { create: 0, events: [], running: 4, pending: 0 } },
  // accurate: maxScale 4; r 3, p 2: 4 + 3 - 2 = 5 <= 100 -> 4 - 2 = 2
  { name: 'accurate: 3 running Jobs of which 2 pending leave 2 Jobs to create for a queue of 4', c: { status: ACTIVE, spec: { scalingStrategy: { strategy: 'accurate' } }, measurements: [reading(4)], jobs: [runningJob(), runningJob({ pending: true }), runningJob({ pending: true })] }, want: { create: 2, running: 3, pending: 2, events: ['KEDAJobsCreated'] } },
  // eager, max 10 -> room 10; r 2, p 1: min(10 - 2 - 1, 4) = 4; scaleTo 10 -> 4
  { name: 'eager: fills up to maxScale 4 next to 2 running and 1 pending Job', c: { status: ACTIVE, spec: { maxReplicaCount: 10, scalingStrategy: { strategy: 'eager' } }, measurements: [reading(4)], jobs: [runningJob(), runningJob(), runningJob({ pending: true })] }, want: { create: 4 } },
  // custom: 6 - 1 - trunc(2 x 0.5) = 4
  { name: 'custom: deduction 1 and half the running Jobs leave 4 of 6', c: { status: ACTIVE, spec: { scalingStrategy: { strategy: 'custom', customScalingQueueLengthDeduction: 1, customScalingRunningJobPercentage: '0.5' } }, measurements: [reading(6)], jobs: [runningJob(), runningJob()] }, want: { create: 4 } },
  // max 5 -> maxValue min(100, 5) = 5; default 5 - 0 = 5
  { name: 'maxReplicaCount 5 caps a queue of 100 at 5 Jobs', c: { spec: { maxReplicaCount: 5 }, measurements: [reading(100)] }, want: { create: 5 } },
  // max 5, 3 running: 5 - 3 = 2
  { name: 'maxReplicaCount 5 with 3 running Jobs creates 2', c: { status: ACTIVE, spec: { maxReplicaCount: 5 }, measurements: [reading(100)], jobs: [runningJob(), runningJob(), runningJob()] }, want: { create: 2 } },
  // min 2, nothing running: 2 - 0 = 2, active because min > 0
  { name: 'minReplicaCount 2 keeps 2 Jobs around on an empty queue', c: { status: QUIET, spec: { minReplicaCount: 2 }, measurements: [reading(0)] }, want: { create: 2, active: 'True/ScalerActive', events: ['KEDAJobsCreated', 'ScaledJobActive'] } },
  // finished Jobs do not count: running 0 -> 3 - 0 = 3
  { name: 'finished Jobs do not count as running', c: { status: ACTIVE, measurements: [reading(3)], jobs: [finishedJob('Complete', -30), finishedJob('Failed', -20)] }, want: { create: 3, running: 0 } },
  { name: 'an empty queue creates nothing and shows Active False', c: { status: QUIET, measurements: [reading(0)] }, want: { create: 0, events: [], active: 'False/ScalerNotActive' } },
  { name: 'going quiet reports ScaledJobInactive once', c: { status: ACTIVE, measurements: [reading(0)] }, want: { create: 0, events: ['ScaledJobInactive'], active: 'False/ScalerNotActive' } },
  // sum of s0 3/1 -> 3 and s1 4/2 -> 2: queue 7, maxValue 5 -> 5
  { name: 'sum of two triggers: 3 + 2 Jobs', c: { status: ACTIVE, spec: { scalingStrategy: { multipleScalersCalculation: 'sum' } }, measurements: [reading(3), reading(4, { index: 1, type: 'redis', target: 2 })] }, want: { create: 5 } },
]);

table('trigger failures', [
  // s1 6 / 2 = 3 Jobs; s0 failed
  { name: 'one failing trigger next to an active one: Jobs still created, Ready Unknown', c: { status: ACTIVE, measurements: [failedReading('connection refused'), reading(6, { index: 1, target: 2 })] }, want: { create: 3, ready: 'Unknown/PartialTriggerError', events: ['KEDAScalerFailed', 'KEDAJobsCreated'] } },
  { name: 'the only trigger failing: no Jobs, Ready False, Active False', c: { status: ACTIVE, measurements: [failedReading('connection refused')] }, want: { create: 0, ready: 'False/TriggerError', active: 'False/ScalerNotActive', events: ['KEDAScalerFailed', 'ScaledJobInactive'] } },
]);

table('pause', [
  { name: 'autoscaling.keda.sh/paused stops everything: no Jobs created or deleted, Paused True', c: { status: ACTIVE, annotations: PAUSED, measurements: [], jobs: [finishedJob('Complete', -5), runningJob({ generation: '0' })], spec: { successfulJobsHistoryLimit: 0 } }, want: { create: 0, deleted: [], events: ['ScaledJobPaused'], paused: 'True/ScaledJobPaused', ready: 'True/ScaledJobReady', active: 'True/ScalerActive', reason: /^paused by autoscaling.keda.sh\/paused/ } },
  { name: 'a second paused pass reports nothing new', c: { status: settledJob({ active: true, paused: true }), annotations: PAUSED, measurements: [] }, want: { events: [], paused: 'True/ScaledJobPaused' } },
  { name: 'paused: "false" does not pause', c: { status: ACTIVE, annotations: { 'autoscaling.keda.sh/paused': 'false' }, measurements: [reading(2)] }, want: { create: 2, paused: 'False/' } },
  { name: 'paused: "yes" pauses (a value Go cannot parse counts as true)', c: { status: ACTIVE, annotations: { 'autoscaling.keda.sh/paused': 'yes' }, measurements: [] }, want: { create: 0, paused: 'True/ScaledJobPaused' } },
  { name: 'paused-replicas means nothing to a ScaledJob', c: { status: ACTIVE, annotations: { 'autoscaling.keda.sh/paused-replicas': '0' }, measurements: [reading(2)] }, want: { create: 2 } },
  { name: 'removing the annotation unpauses and scales in the same pass', c: { status: settledJob({ active: true, paused: true }), measurements: [reading(2)] }, want: { create: 2, events: ['ScaledJobUnpaused', 'KEDAJobsCreated'], paused: 'False/ScaledJobUnpaused' } },
]);

table('spec checks', [
  { name: 'duplicate trigger names: Ready False naming the problem, Active Unknown, no Jobs', c: { status: ACTIVE, spec: { triggers: [{ type: 'rabbitmq', name: 'q', metadata: {} }, { type: 'redis', name: 'q', metadata: {} }] }, measurements: [reading(5)] }, want: { create: 0, ready: 'False/ScaledJobCheckFailed', active: 'Unknown/UnknownState', events: ['ScaledJobCheckFailed'], reason: /triggerName "q" is defined multiple times/ } },
  { name: 'metricType on a trigger is refused, as KEDA refuses it for ScaledJobs', c: { spec: { triggers: [{ type: 'rabbitmq', metadata: {}, metricType: 'Value' }] }, measurements: [reading(5)] }, want: { create: 0, ready: 'False/ScaledJobCheckFailed', reason: /Cannot set metricType in ScaledJob triggers: spec.triggers\[0\].metricType is set/ } },
  { name: 'useCachedMetrics on a cron trigger is refused', c: { spec: { triggers: [{ type: 'cron', metadata: {}, useCachedMetrics: true }] }, measurements: [reading(1, { type: 'cron' })] }, want: { create: 0, ready: 'False/ScaledJobCheckFailed', reason: /"useCachedMetrics" is not supported for "cron" scaler/ } },
]);

const OLD = (name: string) => runningJob({ name, generation: '1' });
table('rollout of a changed jobTargetRef', [
  // both old Jobs deleted in the background, so none is counted: 3 / 1 -> 3
  { name: 'default (immediate): deletes the 2 running Jobs of generation 1 and creates 3 from generation 2', c: { generation: 2, status: ACTIVE, measurements: [reading(3)], jobs: [OLD('a'), OLD('b')] }, want: { deleted: ['a', 'b'], create: 3, running: 0, events: ['ScaledJobRolloutCleanupStarted', 'ScaledJobRolloutCleanupCompleted', 'KEDAJobsCreated'], reason: /rollout \(immediate, from default\): deleting 2 Jobs of other generations than 2/ } },
  // foreground: the two stay listed (being deleted) and count as running: 3 - 2 = 1
  { name: 'propagationPolicy foreground: the Jobs being deleted still count, 1 more is created', c: { generation: 2, status: ACTIVE, spec: { rollout: { propagationPolicy: 'foreground' } }, measurements: [reading(3)], jobs: [OLD('a'), OLD('b')] }, want: { deleted: ['a', 'b'], create: 1, running: 2 } },
  { name: 'gradual: leaves the old Jobs running and counts them', c: { generation: 2, status: ACTIVE, spec: { rollout: { strategy: 'gradual' } }, measurements: [reading(3)], jobs: [OLD('a'), OLD('b')] }, want: { deleted: [], create: 1, running: 2, events: ['KEDAJobsCreated'] } },
  { name: 'the legacy rolloutStrategy gradual is honoured', c: { generation: 2, status: ACTIVE, spec: { rolloutStrategy: 'gradual' }, measurements: [reading(3)], jobs: [OLD('a')] }, want: { deleted: [], create: 2 } },
]);

table('history limits', [
  { name: 'successfulJobsHistoryLimit 1 deletes the 2 older of 3 successful Jobs', c: { status: QUIET, spec: { successfulJobsHistoryLimit: 1 }, jobs: [finishedJob('Complete', -30), finishedJob('Complete', -10), finishedJob('Complete', -20)] }, want: { deleted: ['orders-c-30', 'orders-c-20'], create: 0, reason: /history: deleting 2 finished Jobs beyond the limits \(1 successful, 100 failed\)/ } },
  { name: 'failedJobsHistoryLimit 0 deletes every failed Job, also while quiet', c: { status: QUIET, spec: { failedJobsHistoryLimit: 0 }, jobs: [finishedJob('Failed', -30), finishedJob('Complete', -10)] }, want: { deleted: ['orders-f-30'] } },
  { name: 'a rollout deletion comes first and is not deleted again by the history limits', c: { generation: 2, status: QUIET, spec: { successfulJobsHistoryLimit: 0 }, jobs: [finishedJob('Complete', -30, { generation: '1' }), finishedJob('Complete', -10, { generation: '2' })] }, want: { deleted: ['orders-c-30', 'orders-c-10'] } },
]);

describe('status', () => {
  it('writes triggersActivity, externalMetricNames, triggersTypes, authenticationsTypes and lastActiveTime', () => {
    const c = jobInput({ measurements: [failedReading('timeout'), reading(2, { index: 1, type: 'redis' })], now: 5 });
    c.spec.triggers = [{ type: 'rabbitmq', metadata: {}, authenticationRef: { name: 'rmq' } }, { type: 'redis', metadata: {} }];
    const d = decideScaledJob(c);
    assert.deepEqual(d.status.triggersActivity, { 's0-rabbitmq-jobs': { isActive: false }, 's1-redis-jobs': { isActive: true } });
    assert.deepEqual(d.status.externalMetricNames, ['s0-rabbitmq-jobs', 's1-redis-jobs']);
    assert.equal(d.status.triggersTypes, 'rabbitmq,redis');
    assert.equal(d.status.authenticationsTypes, 'rmq');
    assert.equal(d.status.lastActiveTime, iso(5));
    assert.deepEqual(d.metricValues, { 's1-redis-jobs': 2 });
  });

  it('a busy pass that changes nothing leaves the status as it was (no write)', () => {
    const first = decideScaledJob(jobInput({ measurements: [reading(4)] }));
    const jobs = Array.from({ length: 4 }, () => runningJob());
    const second = decideScaledJob(jobInput({ measurements: [reading(4)], status: first.status, jobs, now: 60 }));
    assert.equal(second.jobsToCreate, 0);
    assert.deepEqual(second.events, []);
    assert.deepEqual(second.status, canonical(first.status));
  });

  it('records the end of activity as the time of the last active evaluation, as KEDA\'s last stamp', () => {
    const d = decideScaledJob(jobInput({ status: ACTIVE, measurements: [reading(0)], now: 120, previous: 60 }));
    assert.equal(d.status.lastActiveTime, iso(60));
    const quiet = decideScaledJob(jobInput({ status: d.status, measurements: [reading(0)], now: 180, previous: 120 }));
    assert.deepEqual(quiet.status, d.status, 'the next quiet pass writes nothing');
  });

  it('without a record of the previous evaluation records this pass\'s second, the latest it can have been', () => {
    const d = decideScaledJob(jobInput({ status: ACTIVE, measurements: [reading(0)], now: 120 }));
    assert.equal(d.status.lastActiveTime, iso(120));
  });

  it('a pause ends the stamping (KEDA does not poll a paused ScaledJob): the last active evaluation\'s time', () => {
    const d = decideScaledJob(jobInput({ status: ACTIVE, annotations: { 'autoscaling.keda.sh/paused': 'true' }, now: 120, previous: 60 }));
    assert.equal(d.status.lastActiveTime, iso(60));
    const again = decideScaledJob(jobInput({ status: d.status, annotations: { 'autoscaling.keda.sh/paused': 'true' }, now: 180, previous: 120 }));
    assert.equal(again.status.lastActiveTime, iso(60));
  });

  it('a ScaledJob check failure is reported once, not on every pass', () => {
    const spec = { triggers: [{ type: 'rabbitmq', name: 'q', metadata: {} }, { type: 'redis', name: 'q', metadata: {} }] };
    const first = decideScaledJob(jobInput({ spec, measurements: [reading(1)] }));
    const second = decideScaledJob(jobInput({ spec, measurements: [reading(1)], status: first.status }));
    assert.deepEqual(second.events, []);
    const fixed = decideScaledJob(jobInput({ measurements: [reading(1)], status: first.status }));
    assert.deepEqual(fixed.events.map((e) => e.reason), ['ScaledJobReady', 'KEDAJobsCreated', 'ScaledJobActive']);
  });

  it('offers the Job to create with the ScaledJob generation on it', () => {
    const d = decideScaledJob(jobInput({ generation: 3, measurements: [reading(1)] }));
    assert.equal(d.job?.metadata.annotations['scaledjob.keda.sh/generation'], '3');
    assert.equal(d.job?.metadata.generateName, 'orders-');
  });
});

describe('events after the Job writes', () => {
  const planned = decideScaledJob(jobInput({ generation: 2, status: ACTIVE, measurements: [reading(3)], jobs: [runningJob({ name: 'old', generation: '1' })] }));
  it('one failed create of 3: a KEDAJobCreateFailed and "Created 2 jobs"', () => {
    const ev = eventsAfterJobWrites(planned.events, { jobsToCreate: 3, generateName: 'orders-', createErrors: ['quota exceeded'] });
    assert.deepEqual(ev.slice(2), [
      { type: 'Warning', reason: 'KEDAJobCreateFailed', message: 'Failed to create job orders-: quota exceeded' },
      { type: 'Normal', reason: 'KEDAJobsCreated', message: 'Created 2 jobs' },
    ]);
  });
  it('every create failed: no KEDAJobsCreated', () => {
    const ev = eventsAfterJobWrites(planned.events, { jobsToCreate: 3, generateName: 'orders-', createErrors: ['a', 'b', 'c'] });
    assert.deepEqual(ev.map((e) => e.reason), ['ScaledJobRolloutCleanupStarted', 'ScaledJobRolloutCleanupCompleted', 'KEDAJobCreateFailed', 'KEDAJobCreateFailed', 'KEDAJobCreateFailed']);
  });
  it('a failed rollout delete replaces the completion', () => {
    const ev = eventsAfterJobWrites(planned.events, { jobsToCreate: 3, generateName: 'orders-', createErrors: [], rolloutError: { job: 'old', error: 'forbidden' } });
    assert.deepEqual(ev.map((e) => `${e.reason}: ${e.message}`), [
      'ScaledJobRolloutCleanupStarted: Deleting 1 jobs owned by the previous version of the scaledJob',
      'ScaledJobRolloutCleanupFailed: Failed to delete job old: forbidden',
      'KEDAJobsCreated: Created 3 jobs',
    ]);
  });
  it('a failed rollout delete after which the pass created nothing announces no created Jobs', () => {
    const ev = eventsAfterJobWrites(planned.events, { jobsToCreate: 3, generateName: 'orders-', createErrors: [], rolloutError: { job: 'old', error: 'forbidden' }, createsSkipped: true });
    assert.deepEqual(ev.map((e) => e.reason), ['ScaledJobRolloutCleanupStarted', 'ScaledJobRolloutCleanupFailed']);
  });
});

describe('a spec the CRD schema refuses', () => {
  const message = 'ScaledJob shop/orders: spec.jobTargetRef is required';
  it('gets Ready=False ScaledJobCheckFailed, Active Unknown and one Warning; nothing to create or delete', () => {
    const d = decideInvalidScaledJob(ACTIVE, message, at(0), at(-60));
    assert.equal(cond(d, 'Ready'), 'False/ScaledJobCheckFailed');
    assert.equal(d.status.conditions?.find((c) => c.type === 'Ready')?.message, message);
    assert.equal(cond(d, 'Active'), 'Unknown/UnknownState');
    assert.deepEqual(d.events, [{ type: 'Warning', reason: 'ScaledJobCheckFailed', message }]);
    assert.equal(d.jobsToCreate, 0);
    assert.deepEqual(d.deletions, []);
    assert.equal(d.status.lastActiveTime, iso(-60), 'no poll stamps it now: the last active evaluation\'s time');
  });
  it('says so once: the next pass with the same message has no event and the same status', () => {
    const first = decideInvalidScaledJob(QUIET, message, at(0));
    const again = decideInvalidScaledJob(first.status, message, at(60));
    assert.deepEqual(again.events, []);
    assert.deepEqual(canonical(again.status), canonical(first.status));
  });
});
