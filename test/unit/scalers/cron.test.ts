// The cron trigger as a user sees it: which instants are inside the window, in which time zone,
// what value and activity the pass reads, the KEDA metric name, and which metadata is refused.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCronScaler } from '../../../src/scalers/cron.ts';
import { ScalerConfigError, type Scaler, type ScalerContext } from '../../../src/scalers/types.ts';

function ctx(metadata: Record<string, string>, triggerIndex = 0, metricType?: 'Value' | 'AverageValue'): Omit<ScalerContext, 'signal' | 'now'> {
  return {
    namespace: 'shop',
    scaledObjectName: 'web',
    triggerIndex,
    trigger: { type: 'cron', metadata, ...(metricType ? { metricType } : {}) },
    authParams: {},
    resolvedEnv: {},
  };
}

function at(scaler: Scaler, iso: string) {
  return scaler.measure({ ...ctx({}), now: Date.parse(iso), signal: new AbortController().signal });
}

const cases: Array<{ name: string; tz: string; start: string; end: string; at: string; inside: boolean }> = [
  // 2025-01-06 is a Monday
  { name: 'before a 08:00-18:00 UTC window', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T07:59:59Z', inside: false },
  { name: 'at the very instant the window opens', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T08:00:00Z', inside: true },
  { name: 'in the middle of the window', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T12:34:56.789Z', inside: true },
  { name: 'one millisecond before it closes', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T17:59:59.999Z', inside: true },
  { name: 'at the very instant it closes', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T18:00:00Z', inside: false },
  { name: 'late evening after the window', tz: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', at: '2025-01-06T23:00:00Z', inside: false },
  // the same local window elsewhere: 06:00-20:00 in Kolkata (UTC+05:30)
  { name: 'Kolkata 06:00 is 00:30 UTC: inside', tz: 'Asia/Kolkata', start: '0 6 * * *', end: '0 20 * * *', at: '2025-01-06T00:30:00Z', inside: true },
  { name: 'Kolkata 05:59 is 00:29 UTC: outside', tz: 'Asia/Kolkata', start: '0 6 * * *', end: '0 20 * * *', at: '2025-01-06T00:29:00Z', inside: false },
  { name: 'Kolkata 20:00 is 14:30 UTC: closed', tz: 'Asia/Kolkata', start: '0 6 * * *', end: '0 20 * * *', at: '2025-01-06T14:30:00Z', inside: false },
  // daylight saving time moves the window in UTC
  { name: 'Berlin 09:00 in winter is 08:00 UTC: inside', tz: 'Europe/Berlin', start: '0 9 * * *', end: '0 17 * * *', at: '2025-01-06T08:00:00Z', inside: true },
  { name: 'Berlin 09:00 in summer is 07:00 UTC: inside', tz: 'Europe/Berlin', start: '0 9 * * *', end: '0 17 * * *', at: '2025-07-07T07:00:00Z', inside: true },
  { name: 'Berlin 17:30 in summer (15:30 UTC): closed', tz: 'Europe/Berlin', start: '0 9 * * *', end: '0 17 * * *', at: '2025-07-07T15:30:00Z', inside: false },
  { name: 'New York 08:30 is 13:30 UTC in winter: inside', tz: 'America/New_York', start: '0 8 * * *', end: '0 9 * * *', at: '2025-01-06T13:30:00Z', inside: true },
  // end before start: the window wraps past midnight
  { name: 'night window 22:00-06:00 at 23:00', tz: 'Etc/UTC', start: '0 22 * * *', end: '0 6 * * *', at: '2025-01-06T23:00:00Z', inside: true },
  { name: 'night window 22:00-06:00 at 03:00 next day', tz: 'Etc/UTC', start: '0 22 * * *', end: '0 6 * * *', at: '2025-01-07T03:00:00Z', inside: true },
  { name: 'night window 22:00-06:00 at noon', tz: 'Etc/UTC', start: '0 22 * * *', end: '0 6 * * *', at: '2025-01-06T12:00:00Z', inside: false },
  { name: 'night window 22:00-06:00 at 06:00 exactly', tz: 'Etc/UTC', start: '0 22 * * *', end: '0 6 * * *', at: '2025-01-07T06:00:00Z', inside: false },
  { name: 'Tokyo night window 23:00-02:00 at 00:30 local (15:30 UTC)', tz: 'Asia/Tokyo', start: '0 23 * * *', end: '0 2 * * *', at: '2025-01-06T15:30:00Z', inside: true },
  // weekday and sub-hour schedules
  { name: 'Thursday all day, on a Thursday', tz: 'Etc/UTC', start: '0 0 * * Thu', end: '59 23 * * Thu', at: '2025-01-09T10:00:00Z', inside: true },
  { name: 'Thursday all day, on a Friday', tz: 'Etc/UTC', start: '0 0 * * Thu', end: '59 23 * * Thu', at: '2025-01-10T10:00:00Z', inside: false },
  { name: 'weekday office hours on a Saturday', tz: 'Etc/UTC', start: '0 8 * * 1-5', end: '0 18 * * 1-5', at: '2025-01-11T10:00:00Z', inside: false },
  { name: 'every even hour, at 14:20', tz: 'Etc/UTC', start: '0 */2 * * *', end: '0 1-23/2 * * *', at: '2025-01-06T14:20:00Z', inside: true },
  { name: 'every even hour, at 15:20', tz: 'Etc/UTC', start: '0 */2 * * *', end: '0 1-23/2 * * *', at: '2025-01-06T15:20:00Z', inside: false },
  { name: 'minutes 30-45 of every hour, at :40', tz: 'Etc/UTC', start: '30 * * * *', end: '45 * * * *', at: '2025-01-06T10:40:00Z', inside: true },
  { name: 'minutes 30-45 of every hour, at :50', tz: 'Etc/UTC', start: '30 * * * *', end: '45 * * * *', at: '2025-01-06T10:50:00Z', inside: false },
];

describe('cron trigger window', () => {
  for (const c of cases) {
    it(`${c.name} -> ${c.inside ? 'desiredReplicas, active' : '0, inactive'}`, async () => {
      const s = createCronScaler(ctx({ timezone: c.tz, start: c.start, end: c.end, desiredReplicas: '10' }));
      assert.deepEqual(await at(s, c.at), c.inside ? { value: 10, active: true } : { value: 0, active: false });
    });
  }

  it('reads the time only from the pass (ctx.now), never from the clock', async () => {
    const s = createCronScaler(ctx({ timezone: 'Etc/UTC', start: '0 8 1 1 *', end: '0 9 1 1 *', desiredReplicas: '3' }));
    assert.deepEqual(await at(s, '1999-01-01T08:30:00Z'), { value: 3, active: true });
    assert.deepEqual(await at(s, '1999-01-01T09:30:00Z'), { value: 0, active: false });
  });

  it('rejects a measurement naming the time zone when the zone does not exist, as KEDA does at poll time', async () => {
    const s = createCronScaler(ctx({ timezone: 'Mars/Olympus_Mons', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '3' }));
    await assert.rejects(at(s, '2025-01-06T10:00:00Z'), /unable to load timezone "Mars\/Olympus_Mons"/);
  });
});

describe('cron trigger metric spec', () => {
  it('names the metric s<index>-cron-<tz>-<start>-<end> the way KEDA does', () => {
    const names = [
      [{ timezone: 'Etc/UTC', start: '0 0 * * Thu', end: '59 23 * * Thu' }, 0, 's0-cron-Etc-UTC-00xxThu-5923xxThu'],
      [{ timezone: 'Etc/UTC', start: '0 */2 * * *', end: '0 1-23/2 * * *' }, 1, 's1-cron-Etc-UTC-0xSl2xxx-01-23Sl2xxx'],
      [{ timezone: 'Etc/UTC', start: '0 * * * *', end: '1 * * * *' }, 0, 's0-cron-Etc-UTC-0xxxx-1xxxx'],
      [{ timezone: 'America/New_York', start: '0,30 8 ? * *', end: '0 18 ? * *' }, 2, 's2-cron-America-New_York-0Cm308Qmxx-018Qmxx'],
    ] as const;
    for (const [md, index, expected] of names) {
      const s = createCronScaler(ctx({ ...md, desiredReplicas: '2' }, index));
      assert.equal(s.spec.metricName, expected);
    }
  });

  it('targets 1 per replica so the HPA lands on desiredReplicas, AverageValue unless the trigger says Value', () => {
    const md = { timezone: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '5' };
    assert.deepEqual(createCronScaler(ctx(md)).spec, {
      metricName: 's0-cron-Etc-UTC-08xxx-018xxx', metricType: 'AverageValue', target: 1, activationTarget: 0,
    });
    assert.equal(createCronScaler(ctx(md, 0, 'Value')).spec.metricType, 'Value');
  });
});

describe('cron trigger metadata', () => {
  const good = { timezone: 'Etc/UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '5' };
  const bad: Array<[string, Record<string, string | undefined>, string, RegExp]> = [
    ['no metadata at all', { timezone: undefined, start: undefined, end: undefined, desiredReplicas: undefined }, 'timezone', /missing required parameter "timezone"/],
    ['no timezone', { timezone: undefined }, 'timezone', /missing required parameter "timezone" in \[metadata\]/],
    ['an empty start', { start: '  ' }, 'start', /missing required parameter "start"/],
    ['no end', { end: undefined }, 'end', /missing required parameter "end"/],
    ['no desiredReplicas', { desiredReplicas: undefined }, 'desiredReplicas', /missing required parameter "desiredReplicas"/],
    ['desiredReplicas that is not a number', { desiredReplicas: 'ten' }, 'desiredReplicas', /"desiredReplicas"/],
    ['desiredReplicas 0', { desiredReplicas: '0' }, 'desiredReplicas', /must not be 0/],
    ['start equal to end', { start: '0 8 * * *', end: '0 8 * * *' }, 'end', /must not be the same/],
    ['a negative minute', { start: '-30 * * * *' }, 'start', /"start"/],
    ['a day of month out of range', { end: '50 * * -3 *' }, 'end', /"end"/],
    ['minute 61', { start: '61 * * * *' }, 'start', /"start"/],
    ['six fields (seconds)', { start: '0 0 8 * * *' }, 'start', /expected 5 fields/],
    ['four fields', { end: '0 18 * *' }, 'end', /expected 5 fields .*found 4/],
    ['an @hourly descriptor', { start: '@hourly' }, 'start', /expected 5 fields/],
    ['L for last day of month', { start: '0 8 L * *' }, 'start', /day-of-month/],
    ['# for nth weekday', { end: '0 18 * * 1#1' }, 'end', /day-of-week/],
    ['day-of-week 7', { start: '0 8 * * 7' }, 'start', /0-6/],
  ];
  for (const [what, change, field, message] of bad) {
    it(`refuses ${what}, naming the field "${field}"`, () => {
      const md: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...good, ...change })) if (v !== undefined) md[k] = v;
      assert.throws(() => createCronScaler(ctx(md)), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it('accepts ranges, steps, lists, ? and month/day names like KEDA', () => {
    for (const start of ['30-33 * * * *', '*/15 9-17 ? JAN-DEC mon-fri', '0 8 1,15 * *', '5/10 * * * SUN']) {
      assert.doesNotThrow(() => createCronScaler(ctx({ ...good, start })), start);
    }
  });

  it('accepts a negative desiredReplicas as KEDA does (the reported value is clamped to 0 later)', () => {
    assert.doesNotThrow(() => createCronScaler(ctx({ ...good, desiredReplicas: '-2' })));
  });
});
