// Reads the collector's file exporter output (OTLP/JSON, one ExportMetricsServiceRequest per line)
// into flat, typed data points.
import fs from 'node:fs';

export interface MetricPoint {
  name: string;
  unit: string;
  type: 'gauge' | 'sum' | 'histogram' | 'other';
  /** 1 delta, 2 cumulative, 0/undefined for gauges */
  temporality?: number;
  monotonic?: boolean;
  attrs: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  scope: string;
  /** a gauge's or sum's value; a histogram's sum */
  value: number;
  /** a histogram's count, bucket upper bounds and per-bucket counts (one more than bounds: the +Inf bucket) */
  count?: number;
  bounds?: number[];
  buckets?: number[];
  start: bigint;
  time: bigint;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KV = { key: string; value: AnyValue };

function attrs(list: KV[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
  }
  return out;
}

interface DP {
  attributes?: KV[]; asInt?: string | number; asDouble?: number; sum?: number; startTimeUnixNano?: string; timeUnixNano?: string;
  count?: string | number; explicitBounds?: number[]; bucketCounts?: (string | number)[];
}
interface Metric { name: string; unit?: string; gauge?: { dataPoints: DP[] }; sum?: { dataPoints: DP[]; aggregationTemporality?: number; isMonotonic?: boolean }; histogram?: { dataPoints: DP[]; aggregationTemporality?: number } }
interface Line { resourceMetrics?: { resource?: { attributes?: KV[] }; scopeMetrics?: { scope?: { name?: string }; metrics?: Metric[] }[] }[] }

export function readMetricsFile(file: string): MetricPoint[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: MetricPoint[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue; // a line still being written
    }
    for (const rm of line.resourceMetrics ?? []) {
      const resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const [type, dps, temporality, monotonic] = m.gauge ? ['gauge', m.gauge.dataPoints, undefined, undefined] as const
            : m.sum ? ['sum', m.sum.dataPoints, m.sum.aggregationTemporality, m.sum.isMonotonic] as const
            : m.histogram ? ['histogram', m.histogram.dataPoints, m.histogram.aggregationTemporality, undefined] as const
            : ['other', [], undefined, undefined] as const;
          for (const dp of dps) {
            out.push({
              name: m.name, unit: m.unit ?? '', type, temporality, monotonic, attrs: attrs(dp.attributes), resource,
              scope: sm.scope?.name ?? '', value: Number(dp.asDouble ?? dp.asInt ?? dp.sum ?? 0),
              ...(type === 'histogram' ? { count: Number(dp.count ?? 0), bounds: dp.explicitBounds ?? [], buckets: (dp.bucketCounts ?? []).map(Number) } : {}),
              start: BigInt(dp.startTimeUnixNano ?? 0), time: BigInt(dp.timeUnixNano ?? 0),
            });
          }
        }
      }
    }
  }
  return out;
}
