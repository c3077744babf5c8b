// `npm run demo` is one of the README's two commands: this runs its script (scripts/demo.ts) against the
// harness the suite already has up, and checks what a person reading its output would see: the workload
// scaled 0 -> 1 -> 4 -> 5 -> 5 -> 0 over six passes, a chart of each series drawn from the points the
// collector received, Prometheus answering, and the dashboard file named for import.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { harness } from '../helpers/harness.ts';
import { ROOT } from '../helpers/install.ts';

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('npm run demo', () => {
  let out = '';
  before(async () => {
    await harness();
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/demo.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 24 });
    out = plain(r.stdout);
  });

  it('scales the sample Deployment over its passes as KEDA + the HPA would', () => {
    // after each pass the demo prints the Deployment's replicas (kubectl custom-columns)
    const replicas = [...out.matchAll(/^orders-worker\s+(\d+)\s*$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(replicas, [0, 1, 4, 5, 5, 0], out.slice(-4000));
    assert.match(out, /KEDAScaleTargetActivated\s+Scaled apps\/v1\.Deployment \S+\/orders-worker from 0 to 1/);
    assert.match(out, /KEDAScaleTargetDeactivated\s+Deactivated apps\/v1\.Deployment \S+\/orders-worker from 5 to 0/);
  });

  it('draws the metric and the replicas from the points that reached the collector', () => {
    const section = out.slice(out.indexOf('== what happened'), out.indexOf('== Prometheus'));
    assert.doesNotMatch(section, /too few points/, section);
    const replicaChart = section.slice(section.indexOf('scalepass.scaledobject.replicas.current: orders-worker replicas'));
    assert.ok(replicaChart.length > 0, section);
    // the y axis is labelled with exactly the replica counts the passes reported
    const ticks = [...replicaChart.matchAll(/^\s*(\d+)┤/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
    assert.deepEqual(ticks, [0, 1, 4, 5], replicaChart);
    const valueChart = section.slice(section.indexOf('keda.scaler.metrics.value: the queue depth'), section.indexOf('scalepass.scaledobject.replicas.current: orders-worker'));
    assert.deepEqual([...valueChart.matchAll(/^\s*(\d+)┤/gm)].map((m) => Number(m[1])).sort((a, b) => a - b), [0, 23], valueChart);
    // the x axis has one tick per pass
    assert.match(replicaChart, /^\s+1\s+2\s+3\s+4\s+5\s+6\s*$/m);
  });

  it('shows the series in Prometheus and names the dashboard and alert files', () => {
    assert.match(out, /^keda_scaler_metrics_value\{namespace="demo-[^"]+"\}\s+= 0$/m);
    assert.match(out, /^keda_resource_totals\{namespace="demo-[^"]+"\}\s+= 1$/m);
    assert.match(out, /upload dashboards\/scalepass\.json/);
    assert.match(out, /dashboards\/scalepass-alerts\.yaml/);
  });
});
