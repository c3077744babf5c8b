// KEDA's cron trigger: a time window between the firings of two cron expressions in a time zone.

import { CronExpressionParser } from 'cron-parser';
import schema from '../../schemas/scalers/cron.schema.json' with { type: 'json' };
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';

interface CronParams {
  timezone: string;
  start: string;
  end: string;
  desiredReplicas: number;
}

export const createCronScaler: ScalerFactory = (ctx) => {
  const p = parseParams<CronParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  checkCron('start', p.start);
  checkCron('end', p.end);
  if (p.start === p.end) {
    throw new ScalerConfigError('end', 'parameters "start" and "end" must not be the same schedule');
  }
  if (p.desiredReplicas === 0) {
    throw new ScalerConfigError('desiredReplicas', 'parameter "desiredReplicas" must not be 0');
  }

  const suffix = normalizeMetricName(`cron-${p.timezone}-${metricPart(p.start)}-${metricPart(p.end)}`);
  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, suffix),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      // the HPA divides desiredReplicas by 1 and lands on it
      target: 1,
      activationTarget: 0,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const inside = insideWindow(p, m.now);
      return { value: inside ? p.desiredReplicas : 0, active: inside };
    },
    async close(): Promise<void> {},
  } satisfies Scaler;
};

/**
 * KEDA's rule: inside when the next firing of `end` comes no later than the next firing of `start`
 * (both strictly after now). That opens the window at start's instant, closes it at end's, and wraps
 * past midnight without special cases.
 */
function insideWindow(p: CronParams, now: number): boolean {
  const tz = zone(p.timezone);
  const next = (expr: string): number =>
    CronExpressionParser.parse(expr, { currentDate: new Date(now), tz }).next().getTime();
  return next(p.end) <= next(p.start);
}

/** IANA zone as Go's time.LoadLocation reads it ("" and "UTC" are UTC, "Local" the machine's zone). */
function zone(timezone: string): string {
  if (timezone === 'Local') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    // Go has no zone for numeric offsets; Intl would accept them
    if (/^[+-]/.test(timezone)) throw new RangeError(timezone);
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new Error(`unable to load timezone "${timezone}": not an IANA time zone name`);
  }
  return timezone;
}

const PLAIN_FIELD = /^[0-9*?,/-]+$/;
const MONTH_FIELD = /^(?:[0-9*?,/-]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)+$/i;
const DOW_FIELD = /^(?:[0-9*?,/-]|sun|mon|tue|wed|thu|fri|sat)+$/i;
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];

/**
 * cron-parser reads a superset of KEDA's parser (robfig/cron with minute|hour|dom|month|dow): seconds,
 * @descriptors, L, W, #, H and 7 for Sunday. Those are refused here so that a schedule KEDA rejects is
 * rejected too; everything else (ranges, bounds) is cron-parser's to check.
 */
function checkCron(field: 'start' | 'end', expr: string): void {
  const bad = (why: string): never => {
    throw new ScalerConfigError(field, `parameter "${field}" is not a valid schedule "${expr}": ${why}`);
  };
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) bad(`expected 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}`);
  const shapes = [PLAIN_FIELD, PLAIN_FIELD, PLAIN_FIELD, MONTH_FIELD, DOW_FIELD];
  parts.forEach((part, i) => {
    if (!shapes[i]!.test(part)) bad(`unsupported syntax in the ${FIELD_NAMES[i]} field "${part}"`);
  });
  const dowValues = parts[4]!.replace(/\/\d+/g, '').match(/\d+/g) ?? [];
  if (dowValues.some((v) => Number(v) > 6)) bad('day-of-week takes 0-6 (Sunday is 0)');
  try {
    CronExpressionParser.parse(expr);
  } catch (err) {
    bad((err as Error).message);
  }
}

/** KEDA's parseCronTimeFormat: the expression made metric-name safe before NormalizeString. */
function metricPart(expr: string): string {
  return expr.replaceAll(' ', '').replaceAll('*', 'x').replaceAll('/', 'Sl').replaceAll('?', 'Qm').replaceAll(',', 'Cm');
}
