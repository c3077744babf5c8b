// The plan of a pass, for a person (a table) or a program (JSON). Secrets never reach here: reports
// carry metric names, values and messages that scalers already keep free of credentials.
import type { ObjectReport, PassReport } from './pass.ts';

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

export function table(report: PassReport): string {
  const header = ['NAMESPACE', 'SCALEDOBJECT', 'TRIGGER', 'METRIC', 'VALUE', 'TARGET', 'ACTIVE', 'REPLICAS', 'WHY'];
  const rows: string[][] = [];
  const replicas = (o: ObjectReport) => (o.current === undefined ? '-' : `${o.current} -> ${o.desired}`);
  for (const o of report.objects) {
    if (o.outcome === 'skipped' || !o.triggers.length) {
      rows.push([o.namespace, o.name, '-', '-', '-', '-', o.active === undefined ? '-' : String(o.active), replicas(o), o.reason ?? o.detail ?? o.outcome]);
      continue;
    }
    o.triggers.forEach((t, i) => {
      rows.push([
        i === 0 ? o.namespace : '', i === 0 ? o.name : '', `${t.index}:${t.name ?? t.type}`, t.metricName,
        t.error ? 'error' : fmt(t.value), t.metricType === 'Utilization' ? `${fmt(t.target)}%` : `${fmt(t.target)} ${t.metricType === 'Value' ? 'Value' : 'Avg'}`,
        t.error ? '-' : String(t.active), i === 0 ? replicas(o) : '',
        i === 0 ? [o.reason, o.outcome === 'failed' ? o.detail : undefined].filter(Boolean).join('; ') : t.error ? `trigger ${t.index}: ${t.error}` : '',
      ]);
    });
  }
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function json(report: PassReport, extra: Record<string, unknown>): string {
  return JSON.stringify({ ...extra, ...report }, null, 2);
}
