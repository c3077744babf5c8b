import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CRONJOB_SCHEDULED_TIMESTAMP, fromJobAnnotations, previousTick, scheduledStart } from '../../src/schedule.ts';

const t = (iso: string): number => Date.parse(iso);
const job = (value?: string): { name: string; annotations: Record<string, string> } =>
  ({ name: 'scalepass-29547120', annotations: value === undefined ? {} : { [CRONJOB_SCHEDULED_TIMESTAMP]: value } });

describe('scheduled start from the Job annotation', () => {
  const cases: { name: string; value: string; want: string }[] = [
    { name: 'reads a UTC time written with Z', value: '2026-03-01T12:00:00Z', want: '2026-03-01T12:00:00.000Z' },
    { name: 'reads a time with a +02:00 offset as the same instant', value: '2026-03-01T14:00:00+02:00', want: '2026-03-01T12:00:00.000Z' },
    { name: 'reads a time with a negative offset', value: '2026-03-01T07:00:00-05:00', want: '2026-03-01T12:00:00.000Z' },
    { name: 'tolerates fractional seconds', value: '2026-03-01T12:00:00.250Z', want: '2026-03-01T12:00:00.250Z' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = scheduledStart({ job: job(c.value), schedule: '*/5 * * * *', processStart: t('2026-03-01T12:00:07Z') });
      assert.equal(s.source, 'job-annotation');
      assert.equal(new Date(s.time).toISOString(), c.want);
      assert.match(s.detail, new RegExp(`Job scalepass-29547120 annotation ${CRONJOB_SCHEDULED_TIMESTAMP}=`));
    });
  }

  it('rejects what is not RFC 3339, even when Date.parse would accept it', () => {
    for (const bad of ['2026-03-01', '2026-03-01T12:00:00', 'March 1, 2026 12:00', '1772366400', '']) {
      const r = fromJobAnnotations({ [CRONJOB_SCHEDULED_TIMESTAMP]: bad });
      assert.ok(r && 'problem' in r, `accepted ${JSON.stringify(bad)}`);
    }
  });

  it('falls back to the cron tick and says why when the annotation is malformed', () => {
    const s = scheduledStart({ job: job('yesterday'), schedule: '* * * * *', processStart: t('2026-03-01T12:00:07Z') });
    assert.equal(s.source, 'cron-schedule');
    assert.match(s.detail, /"yesterday" is not an RFC 3339 time/);
  });

  it('falls back to the cron tick when the Job has no annotation', () => {
    const s = scheduledStart({ job: job(), schedule: '* * * * *', processStart: t('2026-03-01T12:00:07Z') });
    assert.equal(s.source, 'cron-schedule');
    assert.match(s.detail, /has no batch.kubernetes.io\/cronjob-scheduled-timestamp annotation/);
  });
});

describe('scheduled start from the cron schedule (ad-hoc run)', () => {
  const cases: { name: string; schedule: string; start: string; want: string; timeZone?: string }[] = [
    { name: 'every minute: the minute just begun', schedule: '* * * * *', start: '2026-03-01T12:00:07.300Z', want: '2026-03-01T12:00:00.000Z' },
    { name: 'exactly on a tick: that tick', schedule: '* * * * *', start: '2026-03-01T12:00:00.000Z', want: '2026-03-01T12:00:00.000Z' },
    { name: '1 ms before a tick: the tick before', schedule: '* * * * *', start: '2026-03-01T11:59:59.999Z', want: '2026-03-01T11:59:00.000Z' },
    { name: 'every 5 minutes, exactly on a tick', schedule: '*/5 * * * *', start: '2026-03-01T12:05:00.000Z', want: '2026-03-01T12:05:00.000Z' },
    { name: 'every 5 minutes, between ticks', schedule: '*/5 * * * *', start: '2026-03-01T12:04:59.000Z', want: '2026-03-01T12:00:00.000Z' },
    { name: 'hourly macro, across midnight', schedule: '@hourly', start: '2026-03-02T00:10:00.000Z', want: '2026-03-02T00:00:00.000Z' },
    { name: 'a time zone moves the tick', schedule: '0 9 * * *', start: '2026-03-01T12:00:00.000Z', timeZone: 'Europe/Berlin', want: '2026-03-01T08:00:00.000Z' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = scheduledStart({ schedule: c.schedule, processStart: t(c.start), ...(c.timeZone ? { timeZone: c.timeZone } : {}) });
      assert.equal(s.source, 'cron-schedule');
      assert.equal(new Date(s.time).toISOString(), c.want);
      assert.match(s.detail, /no Job for this run/);
    });
  }

  it('never returns a tick after process start', () => {
    const start = t('2026-03-01T12:34:56.789Z');
    for (const schedule of ['* * * * *', '*/7 * * * *', '0 0 * * *', '30 12 * * 0']) {
      const tick = previousTick(schedule, start);
      assert.ok('time' in tick && tick.time <= start, schedule);
    }
  });
});

describe('scheduled start falls back to process start', () => {
  const start = t('2026-03-01T12:00:07Z');

  it('when there is neither a Job nor a schedule', () => {
    const s = scheduledStart({ processStart: start });
    assert.deepEqual([s.source, s.time], ['process-start', start]);
    assert.match(s.detail, /no Job for this run.*no schedule configured.*using process start 2026-03-01T12:00:07.000Z/);
  });

  it('when the schedule cannot be parsed, naming the schedule', () => {
    const s = scheduledStart({ job: job(), schedule: '61 * * * *', processStart: start });
    assert.deepEqual([s.source, s.time], ['process-start', start]);
    assert.match(s.detail, /schedule "61 \* \* \* \*" \(UTC\) has no usable previous tick/);
  });

  it('when the time zone is unknown', () => {
    const s = scheduledStart({ schedule: '* * * * *', timeZone: 'Mars/Olympus_Mons', processStart: start });
    assert.equal(s.source, 'process-start');
  });
});
