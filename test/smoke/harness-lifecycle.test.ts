// The harness as a person uses it: `harness:up`, `source .harness/env`, kubectl, `harness:down`
// leaving no process behind; and a component that cannot start fails loudly, naming itself and
// showing the end of its log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, waitFor, waitForChain, alive, stopGroup } from '../harness/src/proc.ts';
import { ROOT } from '../helpers/install.ts';

const run = promisify(execFile);

describe('harness lifecycle', () => {
  it('up writes a sourceable env that kubectl can use, and down stops every process it started', { timeout: 180_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-lifecycle-'));
    const env = { ...process.env, SCALEPASS_HARNESS_DIR: dir };
    try {
      const upOut = await run(process.execPath, [path.join(ROOT, 'test/harness/cli.ts'), 'up'], { env });
      assert.match(upOut.stdout, /harness up in/);
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { pids: { name: string; pid: number }[] };
      assert.deepEqual(state.pids.map((p) => p.name).sort(), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'metrics-server', 'nats', 'otelcol', 'prometheus']);
      const { stdout } = await run('bash', ['-c', `source ${dir}/env && ${ROOT}/test/harness/bin/kubectl get namespace kube-system -o name && echo "$OTEL_EXPORTER_OTLP_ENDPOINT $PROMETHEUS_URL"`]);
      assert.match(stdout, /namespace\/kube-system/);
      assert.match(stdout, /^http:\/\/127\.0\.0\.1:\d+ http:\/\/127\.0\.0\.1:\d+$/m);
      const again = await run(process.execPath, [path.join(ROOT, 'test/harness/cli.ts'), 'up'], { env });
      assert.match(again.stdout, /already up/, 'up is idempotent');
      await run(process.execPath, [path.join(ROOT, 'test/harness/cli.ts'), 'down'], { env });
      for (const p of state.pids) assert.equal(alive(p.pid), false, `${p.name} (pid ${p.pid}) still running after down`);
      assert.ok(!fs.existsSync(path.join(dir, 'etcd')), 'temporary data deleted');
      assert.ok(fs.existsSync(path.join(dir, 'logs/kube-apiserver.log')), 'logs kept');
    } finally {
      await run(process.execPath, [path.join(ROOT, 'test/harness/cli.ts'), 'down'], { env }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a component that exits during start fails the wait with its name and the end of its log', async () => {
    const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-fail-'));
    const p = start('etcd', path.join(ROOT, 'test/harness/bin/etcd'), ['--no-such-flag=1'], logs);
    await assert.rejects(waitFor(p, 'healthy', async () => false, 30_000), (e: Error) => {
      assert.match(e.message, /harness: etcd exited \(code \d+/);
      assert.match(e.message, /no-such-flag/, 'the log tail is in the message');
      return true;
    });
    fs.rmSync(logs, { recursive: true, force: true });
  });

  it('a pod that never becomes Ready fails the start naming the component it waited on, with its log', async () => {
    const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-chain-'));
    // stand-ins that stay alive: the wait must blame the one the probe names, not whichever started first
    const kcm = start('kube-controller-manager', '/bin/sh', ['-c', 'echo controllers started; exec sleep 60'], logs);
    const kwok = start('kwok', '/bin/sh', ['-c', 'echo no stage matched pod probe-1; exec sleep 60'], logs);
    try {
      await assert.rejects(
        waitForChain([kcm, kwok], 'probe pod Running and Ready', async () => ({ ok: false, waitingOn: kwok, why: 'pod probe-1 is Pending' }), 1500),
        (e: Error) => {
          assert.match(e.message, /^harness: kwok: probe pod Running and Ready not reached after 1500 ms: pod probe-1 is Pending/);
          assert.match(e.message, /no stage matched pod probe-1/, 'the log tail of the blamed component is in the message');
          return true;
        });
    } finally {
      await stopGroup(kcm.pid);
      await stopGroup(kwok.pid);
      fs.rmSync(logs, { recursive: true, force: true });
    }
  });

  it('a missing binary names the build command', () => {
    assert.throws(() => start('kube-apiserver', '/nonexistent/kube-apiserver', [], os.tmpdir()), /npm run harness:build/);
  });
});
