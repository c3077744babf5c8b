// A short-lived Node process exporting with @opentelemetry/exporter-metrics-otlp-http reaches the real
// collector: its points land in the collector's file output and are queryable in Prometheus.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import { harness, type Harness } from '../helpers/harness.ts';

const run = promisify(execFile);

const EMITTER = `
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: 60000 });
const mp = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'smoke', 'smoke.run': process.env.RUN_ID }), readers: [reader] });
const m = mp.getMeter('smoke');
m.createObservableGauge('smoke.queue.depth').addCallback((r) => r.observe(37, { queue: 'orders' }));
m.createCounter('smoke.items.processed').add(5, { queue: 'orders' });
await mp.forceFlush();
await mp.shutdown();
`;

describe('telemetry pipeline', () => {
  let h: Harness;
  before(async () => { h = await harness(); });

  it('delivers a gauge and a counter from a process that lives for a moment, to the file and to Prometheus', async () => {
    const id = crypto.randomUUID();
    await run(process.execPath, ['--input-type=module', '-e', EMITTER], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint, RUN_ID: id }, cwd: process.cwd(),
    });
    const mine = (p: { resource: Record<string, unknown> }) => p.resource['smoke.run'] === id;
    const pts = await h.waitForMetrics((ps) => ps.some((p) => p.name === 'smoke.items.processed') && ps.some((p) => p.name === 'smoke.queue.depth'), 10_000, mine);
    const gauge = pts.find((p) => p.name === 'smoke.queue.depth')!;
    const counter = pts.find((p) => p.name === 'smoke.items.processed')!;
    assert.equal(gauge.type, 'gauge');
    assert.equal(gauge.value, 37);
    assert.equal(gauge.attrs.queue, 'orders');
    assert.equal(counter.type, 'sum');
    assert.equal(counter.value, 5);
    assert.equal(counter.monotonic, true);

    let found: { value: [number, string] }[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000) {
      found = await h.promQuery(`smoke_queue_depth{smoke_run="${id}"}`);
      if (found.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(found.length, 1, 'gauge not queryable in Prometheus within 15 s');
    assert.equal(Number(found[0]!.value[1]), 37);
    const total = await h.promQuery(`smoke_items_processed_total{smoke_run="${id}"}`);
    assert.equal(Number(total[0]?.value[1]), 5);
  });
});
