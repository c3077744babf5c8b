// The command line a person uses: help and version without a cluster, config mistakes answered with
// one clear line and exit code 2 before any request reaches the cluster.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { runScalepass, DIST } from '../helpers/run.ts';

describe('command line', () => {
  let server: net.Server;
  let connections = 0;
  let kubeconfig: string;
  before(async () => {
    // a "cluster" that only counts connection attempts
    server = net.createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-cli-')), 'kubeconfig');
    fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'x' } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }] }));
  });
  after(() => server.close());

  it('dist/ is self-contained: a copy without node_modules answers --version and --help', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-dist-'));
    fs.cpSync(path.dirname(DIST), copy, { recursive: true });
    const { execFileSync } = await import('node:child_process');
    const v = execFileSync(process.execPath, [path.join(copy, 'run.js'), '--version'], { cwd: copy, encoding: 'utf8' });
    assert.match(v, /^scalepass \d+\.\d+\.\d+/);
    fs.rmSync(copy, { recursive: true, force: true });
  });

  it('--version and --help answer without a cluster', async () => {
    const v = await runScalepass(['--version'], {});
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^scalepass \d+\.\d+\.\d+/);
    const h = await runScalepass(['--help'], {});
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--dry-run/);
    assert.match(h.stdout, /--namespaces/);
  });

  const bad: [string, string[], Record<string, string>, RegExp][] = [
    ['a concurrency of 0', ['--concurrency', '0'], {}, /"concurrency" must be >= 1/],
    ['a word where a number belongs', ['--trigger-timeout-ms', 'soon'], {}, /"triggerTimeoutMs"/],
    ['an unknown flag', ['--frobnicate'], {}, /unknown flag --frobnicate/],
    ['an invalid schedule from the environment', [], { SCALEPASS_SCHEDULE: 'every minute' }, /"schedule"/],
    ['a missing config file', ['--config', '/nonexistent/scalepass.yaml'], {}, /\/nonexistent\/scalepass.yaml/],
  ];
  for (const [what, args, env, message] of bad) {
    it(`rejects ${what} with exit code 2 and one line naming the field, before touching the cluster`, async () => {
      const before = connections;
      const r = await runScalepass(args, { KUBECONFIG: kubeconfig, ...env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(connections, before, 'no request reached the cluster');
    });
  }

  it('rejects a config file with a bad value, naming the file and the field', async () => {
    const file = path.join(path.dirname(kubeconfig), 'bad.yaml');
    fs.writeFileSync(file, 'concurrency: 8\nlogLevel: loud\n');
    const r = await runScalepass(['--config', file], { KUBECONFIG: kubeconfig });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"logLevel"/);
    assert.match(r.stderr, /bad\.yaml/);
  });
});
