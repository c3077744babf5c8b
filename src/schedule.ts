// When this run was supposed to start. keda.internal.scale.loop.latency measures each object's
// evaluation start against it, so the answer must name its source: the CronJob controller's own
// record on the Job is exact, a cron tick is a good guess for an ad-hoc run, process start is the
// last resort (and makes the deviation read as pure in-process delay).
// Pure: the Job's annotations, the schedule and the process start time are all passed in.

import { CronExpressionParser } from 'cron-parser';

/** Set by the CronJob controller on every Job it creates (RFC 3339, in the CronJob's time zone). */
export const CRONJOB_SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export type ScheduledStartSource = 'job-annotation' | 'cron-schedule' | 'process-start';

export interface ScheduledStart {
  /** ms since the epoch */
  time: number;
  source: ScheduledStartSource;
  /** one sentence for the log: what was used and why the better sources were not */
  detail: string;
}

export interface ScheduledStartInput {
  /** this run's Job, when one was found */
  job?: { name: string; annotations: Record<string, string> | undefined };
  /** the cron schedule of the ad-hoc fallback, e.g. `* * * * *` */
  schedule?: string;
  /** IANA time zone of the schedule (the CronJob's spec.timeZone); UTC when unset */
  timeZone?: string;
  /** ms since the epoch */
  processStart: number;
}

// time.RFC3339 as Kubernetes writes it, fractional seconds tolerated; no bare dates, no zone-less times
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The scheduled time from a Job's annotations: a time, a reason it is unusable, or nothing. */
export function fromJobAnnotations(annotations: Record<string, string> | undefined): { time: number } | { problem: string } | undefined {
  const raw = annotations?.[CRONJOB_SCHEDULED_TIMESTAMP];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  const time = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) return { problem: `annotation ${CRONJOB_SCHEDULED_TIMESTAMP}="${value}" is not an RFC 3339 time` };
  return { time };
}

/** The latest tick of `schedule` at or before `at`; a tick exactly at `at` counts. */
export function previousTick(schedule: string, at: number, timeZone = 'UTC'): { time: number } | { problem: string } {
  try {
    // prev() excludes its starting instant; starting 1 ms later lets a tick exactly at `at` count
    const expr = CronExpressionParser.parse(schedule, { currentDate: new Date(at + 1), tz: timeZone });
    return { time: expr.prev().getTime() };
  } catch (e) {
    return { problem: `schedule "${schedule}" (${timeZone}) has no usable previous tick: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The first tick of `schedule` after `at`: when the next run of a CronJob on it is due. */
export function nextTick(schedule: string, at: number, timeZone = 'UTC'): { time: number } | { problem: string } {
  try {
    return { time: CronExpressionParser.parse(schedule, { currentDate: new Date(at), tz: timeZone }).next().getTime() };
  } catch (e) {
    return { problem: `schedule "${schedule}" (${timeZone}) has no usable next tick: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function scheduledStart(input: ScheduledStartInput): ScheduledStart {
  const notes: string[] = [];
  if (input.job) {
    const found = fromJobAnnotations(input.job.annotations);
    if (found && 'time' in found) {
      return {
        time: found.time,
        source: 'job-annotation',
        detail: `Job ${input.job.name} annotation ${CRONJOB_SCHEDULED_TIMESTAMP}=${input.job.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP]?.trim()}`,
      };
    }
    notes.push(found ? `Job ${input.job.name}: ${found.problem}` : `Job ${input.job.name} has no ${CRONJOB_SCHEDULED_TIMESTAMP} annotation (not created by a CronJob?)`);
  } else {
    notes.push('no Job for this run (ad-hoc run)');
  }

  const timeZone = input.timeZone ?? 'UTC';
  if (input.schedule) {
    const tick = previousTick(input.schedule, input.processStart, timeZone);
    if ('time' in tick) {
      return {
        time: tick.time,
        source: 'cron-schedule',
        detail: `${notes.join('; ')}; using the previous tick of "${input.schedule}" (${timeZone}) at or before process start: ${new Date(tick.time).toISOString()}`,
      };
    }
    notes.push(tick.problem);
  } else {
    notes.push('no schedule configured');
  }

  return {
    time: input.processStart,
    source: 'process-start',
    detail: `${notes.join('; ')}; using process start ${new Date(input.processStart).toISOString()}`,
  };
}
