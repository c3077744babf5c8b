// The Prometheus alerting rules shipped in dashboards/: Prometheus's own promtool checks them and runs
// their unit tests (sample series in, firing alerts out), and every alert has a case where it fires and
// a later one where it has resolved.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboards');
const RULES = path.join(DIR, 'scalepass-alerts.yaml');
const TESTS = path.join(DIR, 'scalepass-alerts.test.yaml');

interface Rule { alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface AlertCase { eval_time: string; alertname: string; exp_alerts?: unknown[] }
interface PromtoolTests { rule_files: string[]; tests: { name: string; alert_rule_test?: AlertCase[] }[] }

/** promtool from Debian's prometheus package; no promtool is a broken machine, not a reason to skip */
function promtool(): string {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  const bin = found || (fs.existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : '');
  if (!bin) assert.fail('promtool is not installed: it comes with Debian\'s prometheus package (bash test/harness/install-system.sh installs it)');
  return bin;
}

function run(args: string[]): { code: number; out: string } {
  const r = spawnSync(promtool(), args, { cwd: DIR, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const minutes = (t: string): number => {
  const m = /^(\d+)m$/.exec(t);
  return m ? Number(m[1]) : assert.fail(`eval_time ${t}: write it in whole minutes`);
};

const alerts = (): Rule[] => (yaml.load(fs.readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] })
  .groups.flatMap((g) => g.rules).filter((r) => r.alert);

describe('alerting rules (dashboards/scalepass-alerts.yaml)', () => {
  it('promtool check rules accepts the rules file', () => {
    const r = run(['check', 'rules', RULES]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${alerts().length} rules found`), r.out);
  });

  it('promtool test rules: each alert fires at the expected times with its labels and rendered annotations, and is quiet where expected', () => {
    const r = run(['test', 'rules', TESTS]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('every alert has a summary and a description, and a test case where it fires and a later one where it has resolved', () => {
    const t = yaml.load(fs.readFileSync(TESTS, 'utf8')) as PromtoolTests;
    assert.deepEqual(t.rule_files, ['scalepass-alerts.yaml']);
    const names = alerts().map((a) => a.alert!);
    assert.ok(names.length >= 8, names.join(', '));
    for (const a of alerts()) {
      assert.ok(a.annotations?.summary && a.annotations.description, `${a.alert}: summary and description annotations`);
      assert.ok(a.labels?.severity, `${a.alert}: a severity label`);
      const groups = t.tests.filter((g) => g.alert_rule_test?.some((c) => c.alertname === a.alert));
      const resolves = groups.some((g) => {
        const cases = g.alert_rule_test!.filter((c) => c.alertname === a.alert);
        const firing = cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => minutes(c.eval_time));
        return firing.length > 0 && cases.some((c) => (c.exp_alerts ?? []).length === 0 && minutes(c.eval_time) > Math.min(...firing));
      });
      assert.ok(resolves, `${a.alert}: no test group where it fires and later resolves`);
    }
  });

  it('fails a rule whose threshold is changed, so the tests do check the thresholds', () => {
    const tmp = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'scalepass-alerts-'));
    try {
      fs.writeFileSync(path.join(tmp, 'scalepass-alerts.yaml'),
        fs.readFileSync(RULES, 'utf8').replace('(keda_internal_scale_loop_latency) > 30000', '(keda_internal_scale_loop_latency) > 50000'));
      fs.copyFileSync(TESTS, path.join(tmp, 'scalepass-alerts.test.yaml'));
      const r = spawnSync(promtool(), ['test', 'rules', 'scalepass-alerts.test.yaml'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
      assert.notEqual(r.status, 0, 'promtool must reject the changed threshold');
      assert.match(`${r.stdout}${r.stderr}`, /FAILED[\s\S]*ScalepassPassesLate/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
