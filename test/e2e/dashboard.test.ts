// The Grafana dashboard (dashboards/scalepass.json) against real passes: dist/run.js measures a
// metrics-api trigger served by this test, a trigger and a ScaledJob trigger that cannot be read, and
// flushes through the harness's collector into its Prometheus. Then every variable query and every
// panel query of the dashboard, with its variables filled in as Grafana would, must return series from
// those passes: a panel naming a metric or label that does not exist fails here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, pass, suiteSetup } from '../helpers/fixtures.ts';
import { jobTargetRef, scaledJob } from '../helpers/scaledjobs.ts';
import { closedPort } from '../helpers/scalers.ts';
import { until } from '../helpers/until.ts';
import * as yaml from 'js-yaml';

const FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboards/scalepass.json');
const PASSES = 3;

interface Target { refId: string; expr: string; datasource: { type: string; uid: string } }
interface Panel { id: number; type: string; title: string; description?: string; datasource?: { type: string; uid: string }; targets?: Target[] }
interface Variable { name: string; type: string; query: string | { query: string }; datasource?: { uid: string }; allValue?: string; includeAll?: boolean; multi?: boolean }
interface Dashboard { title: string; uid: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } }
type Row = { metric: Record<string, string>; value: [number, string] };

const dashboard = (): Dashboard => JSON.parse(fs.readFileSync(FILE, 'utf8')) as Dashboard;
const queryPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');

/** Prometheus's scrape interval in seconds (SCALEPASS_HARNESS_SCRAPE_INTERVAL can change it) */
async function scrapeSeconds(h: Harness): Promise<number> {
  const r = await fetch(`${h.state.prometheusUrl}/api/v1/status/config`);
  const cfg = yaml.load(((await r.json()) as { data: { yaml: string } }).data.yaml) as { global: { scrape_interval: string } };
  const m = /^(\d+)(s|m)$/.exec(cfg.global.scrape_interval) ?? assert.fail(`scrape_interval ${cfg.global.scrape_interval}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** Grafana's $__rate_interval: at least four scrapes (and a minute, the schedule's period) */
let rateInterval = '1m';

/** a query with the dashboard's variables as Grafana sends them: $namespace one value, the others All */
function substitute(q: string, ns: string): string {
  const out = q
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$namespace', ns)
    .replaceAll('$scaledObject', '.*')
    .replaceAll('$trigger', '.*');
  assert.doesNotMatch(out, /\$/, `a variable the test does not know: ${q}`);
  return out;
}

/** the same query limited to this test's runs: every scalepass/KEDA selector gets its run label */
function onlyRun(q: string, run: string): string {
  return q.replace(/\b((?:keda|scalepass)_[a-z_]+)\b(\{)?/g, (_m, name: string, brace?: string) =>
    `${name}{scalepass_test_run="${run}"${brace ? ',' : '}'}`);
}

describe('the Grafana dashboard, on real passes through the collector and Prometheus', () => {
  let h: Harness;
  let src: MetricsServer;
  let ns: string;
  const run = crypto.randomUUID();
  const prom = async (q: string): Promise<Row[]> => h.promQuery(q);

  before(async () => {
    let kubeconfig: string;
    ({ h, kubeconfig, src } = await suiteSetup(7));
    const scrape = await scrapeSeconds(h);
    rateInterval = `${Math.max(60, 4 * scrape)}s`;
    ns = await h.namespace('e2e-dashboard');
    const closed = `http://127.0.0.1:${await closedPort()}/stats`;
    await create(h, ns, deployment('api', 0));
    await create(h, ns, scaledObject('api', { scaleTargetRef: { name: 'api' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', name: 'queue', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    await create(h, ns, deployment('orders', 2));
    await create(h, ns, scaledObject('orders', { scaleTargetRef: { name: 'orders' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', name: 'backlog', metadata: { url: closed, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    await create(h, ns, scaledJob('reports', { jobTargetRef: jobTargetRef(), pollingInterval: 1,
      triggers: [{ type: 'metrics-api', name: 'pending', metadata: { url: closed, valueLocation: 'queue.depth', targetValue: '1' } }] }));
    for (let i = 0; i < PASSES; i++) {
      const p = await pass(h, { kubeconfig, namespaces: [ns], env: { OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
      assert.equal(p.code, 1, `orders and reports cannot read their triggers: ${p.stderr.slice(-2000)}`);
    }
    // every pass flushes all its points in one export: once Prometheus counts the last pass, it has them all
    await until('Prometheus has scraped all passes', async () => {
      const r = await prom(`sum(scalepass_pass_duration_seconds_count{scalepass_test_run="${run}"})`);
      return Number(r[0]?.value[1]) === PASSES ? true : undefined;
    }, 30_000 + 2_000 * scrape);
  });
  after(async () => { await src.close(); });

  it('is a plain importable dashboard: a Prometheus data source variable used by every panel and query, and the namespace / scaledObject / trigger variables', () => {
    const d = dashboard();
    assert.ok(d.schemaVersion >= 39, `schemaVersion ${d.schemaVersion}`);
    assert.equal(d.uid, 'scalepass-overview');
    const vars = Object.fromEntries(d.templating.list.map((v) => [v.name, v]));
    assert.deepEqual(Object.keys(vars), ['datasource', 'namespace', 'scaledObject', 'trigger']);
    assert.equal(vars.datasource!.type, 'datasource');
    assert.equal(vars.datasource!.query, 'prometheus');
    for (const v of ['namespace', 'scaledObject', 'trigger']) {
      assert.equal(vars[v]!.datasource?.uid, '${datasource}', v);
      assert.ok(vars[v]!.multi && vars[v]!.includeAll && vars[v]!.allValue === '.*', `${v}: multi-value with All = .*`);
    }
    for (const p of queryPanels(d)) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
      assert.ok(p.description, `${p.title}: a description saying which instrument it shows`);
      assert.ok(p.targets?.length, `${p.title}: no queries`);
      for (const t of p.targets!) assert.deepEqual(t.datasource, p.datasource, `${p.title} ${t.refId}`);
    }
  });

  it('every variable query lists this test\'s namespace, ScaledObjects and triggers', async () => {
    const expected: Record<string, string[]> = { namespace: [ns], scaledObject: ['api', 'orders'], trigger: ['backlog', 'queue'] };
    for (const v of dashboard().templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q) ?? assert.fail(`${v.name}: not label_values(selector, label): ${q}`);
      const selector = substitute(m[1]!, ns);
      const r = await fetch(`${h.state.prometheusUrl}/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(selector)}`);
      const values = ((await r.json()) as { data: string[] }).data;
      for (const want of expected[v.name]!) assert.ok(values.includes(want), `${v.name}: ${want} not in ${JSON.stringify(values.slice(0, 20))}`);
    }
  });

  for (const p of queryPanels(dashboard())) {
    for (const t of p.targets ?? []) {
      it(`panel "${p.title}" query ${t.refId} returns series from these passes`, async () => {
        const q = substitute(t.expr, ns);
        const rows = await prom(q);
        assert.ok(rows.length > 0, `no series for: ${q}`);
        const mine = await prom(onlyRun(q, run));
        assert.ok(mine.length > 0, `no series from this test's passes for: ${onlyRun(q, run)}`);
        assert.ok(mine.some((r) => Number.isFinite(Number(r.value[1]))), `only NaN/Inf for ${q}: ${JSON.stringify(mine)}`);
      });
    }
  }

  it('shows the metric-api value of 7 against its target of 2, the failing triggers\' errors, and the desired replicas for 7 items at target 2', async () => {
    const d = dashboard();
    const expr = (title: string, refId = 'A') => substitute(d.panels.find((p) => p.title === title)!.targets!.find((t) => t.refId === refId)!.expr, ns);
    const value = await prom(onlyRun(expr('Metric value (HPA input)'), run));
    assert.deepEqual(value.map((r) => [r.metric.scaledObject, r.metric.scaler, Number(r.value[1])]), [['api', 'queue', 7]]);
    const desired = await prom(onlyRun(expr('Replicas: current and desired', 'B'), run));
    assert.deepEqual(desired.map((r) => [r.metric.scaledObject, Number(r.value[1])]).sort(), [['api', 4], ['orders', 2]]);
    const perReplica = await prom(onlyRun(expr('Metric value per desired replica vs target'), run));
    assert.deepEqual(perReplica.map((r) => [r.metric.scaledObject, Number(r.value[1])]), [['api', 7 / 4]]);
    // the triggers' targets beside it: 2 for api's metrics-api trigger, also for the failing ones (their spec parsed)
    const target = await prom(onlyRun(expr('Metric value per desired replica vs target', 'B'), run));
    assert.deepEqual(target.filter((r) => r.metric.scaledObject === 'api').map((r) => [r.metric.scaler, Number(r.value[1])]), [['queue', 2]]);
    const errors = await prom(onlyRun(expr('Scaler errors per trigger'), run));
    assert.deepEqual(errors.map((r) => `${r.metric.scaledObject ?? r.metric.scaledJob}/${r.metric.scaler}`).sort(), ['orders/backlog', 'reports/pending']);
    assert.ok(errors.every((r) => Number(r.value[1]) > 0), JSON.stringify(errors));
  });
});
