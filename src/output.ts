// The plan of a pass, for a person (a table per kind) or a program (JSON). Secrets never reach here:
// reports carry metric names, values and messages that scalers already keep free of credentials.
import type { ObjectReport, PassReport } from './pass.ts';

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

/** a ScaledObject's replicas: `1 -> 4` */
function replicas(o: ObjectReport): string {
  return o.current === undefined ? '-' : `${o.current} -> ${o.desired}`;
}

/**
 * a ScaledJob's Jobs: `5 running (2 pending) +3 -1`; in a dry run what would be created and deleted,
 * afterwards what was (fewer when a write failed)
 */
function jobs(o: ObjectReport, dryRun: boolean): string {
  const j = o.jobs;
  if (!j) return '-';
  const created = dryRun ? j.toCreate : j.created.length;
  const deleted = dryRun ? j.toDelete.length : j.deleted.length;
  return `${j.running} running (${j.pending} pending)${created ? ` +${created}` : ''}${deleted ? ` -${deleted}` : ''}`;
}

function why(o: ObjectReport, dryRun: boolean): string {
  const parts = [o.reason, o.outcome === 'failed' ? o.detail : undefined];
  const j = o.jobs;
  if (j) {
    const created = dryRun ? [] : j.created;
    if (dryRun && j.toCreate) parts.push(`would create ${j.toCreate} Jobs`);
    if (created.length) parts.push(`created ${created.join(', ')}`);
    const deleted = dryRun ? j.toDelete.map((d) => `${d.name} (${d.why})`) : j.deleted;
    if (deleted.length) parts.push(`${dryRun ? 'would delete' : 'deleted'} ${deleted.join(', ')}`);
  }
  return parts.filter(Boolean).join('; ');
}

function section(objects: ObjectReport[], kindHeader: string, countHeader: string, count: (o: ObjectReport) => string, reason: (o: ObjectReport) => string): string {
  const header = ['NAMESPACE', kindHeader, 'TRIGGER', 'METRIC', 'VALUE', 'TARGET', 'ACTIVE', countHeader, 'WHY'];
  const rows: string[][] = [];
  for (const o of objects) {
    if (o.outcome === 'skipped' || !o.triggers.length) {
      rows.push([o.namespace, o.name, '-', '-', '-', '-', o.active === undefined ? '-' : String(o.active), count(o), reason(o) || o.detail || o.outcome]);
      continue;
    }
    o.triggers.forEach((t, i) => {
      rows.push([
        i === 0 ? o.namespace : '', i === 0 ? o.name : '', `${t.index}:${t.name ?? t.type}`, t.metricName,
        t.error ? 'error' : fmt(t.value), t.metricType === 'Utilization' ? `${fmt(t.target)}%` : `${fmt(t.target)} ${t.metricType === 'Value' ? 'Value' : 'Avg'}`,
        t.error ? '-' : String(t.active), i === 0 ? count(o) : '',
        i === 0 ? reason(o) : t.error ? `trigger ${t.index}: ${t.error}` : '',
      ]);
    });
  }
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** ScaledObjects first (always, even when there are none), then ScaledJobs when the pass saw any. */
export function table(report: PassReport, dryRun = false): string {
  const sos = report.objects.filter((o) => o.kind !== 'ScaledJob');
  const sjs = report.objects.filter((o) => o.kind === 'ScaledJob');
  const soReason = (o: ObjectReport) => [o.reason, o.outcome === 'failed' ? o.detail : undefined].filter(Boolean).join('; ');
  const out = [section(sos, 'SCALEDOBJECT', 'REPLICAS', replicas, soReason)];
  if (sjs.length) out.push(section(sjs, 'SCALEDJOB', 'JOBS', (o) => jobs(o, dryRun), (o) => why(o, dryRun)));
  for (const e of report.listErrors) out.push(`${e.kind}s could not be listed: ${e.error}`);
  return out.join('\n\n');
}

export function json(report: PassReport, extra: Record<string, unknown>): string {
  return JSON.stringify({ ...extra, ...report }, null, 2);
}

/** One line of JSON: a round of a run in mode period (JSON lines, one per round, as each ends). */
export function jsonLine(report: PassReport, extra: Record<string, unknown>): string {
  return JSON.stringify({ ...extra, ...report });
}

/** A round of a run in mode period as a section of the table output: a heading, then the pass's tables. */
export function roundTable(index: number, report: PassReport, dryRun = false): string {
  const due = report.objects.filter((o) => o.outcome !== 'skipped').length;
  return `ROUND ${index} at ${new Date(report.start).toISOString()}: ${due} of ${report.objects.length} due\n${table(report, dryRun)}`;
}
