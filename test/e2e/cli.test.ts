// The command line a person uses: help and version without a cluster, config mistakes answered with
// one clear line and exit code 2 before any request reaches the cluster.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { runScalepass, DIST, type RunResult } from '../helpers/run.ts';
import { closedPort } from '../helpers/scalers.ts';
import { OTLP_PROTOCOLS, type OtlpProtocol } from '../../src/telemetry/otlp.ts';

const MODULE_LOG_HOOK = pathToFileURL(path.resolve(path.dirname(DIST), '../test/helpers/module-log.ts')).href;
/** the chunk esbuild makes of each exporter module (src/telemetry/exporters/otlp-*.ts) */
const EXPORTER_CHUNK: Record<OtlpProtocol, RegExp> = {
  'http/protobuf': /^otlp-http-protobuf-\w+\.js$/, 'http/json': /^otlp-http-json-\w+\.js$/, grpc: /^otlp-grpc-\w+\.js$/,
};

/** Runs dist/run.js (or a copy's run.js) and returns the dist/ files it loaded, by name. */
async function runLogged(args: string[], env: Record<string, string | undefined>, runJs = DIST): Promise<{ r: RunResult; chunks: string[] }> {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-modules-')), 'loaded.txt');
  const r = await runScalepass(args, { ...env, NODE_OPTIONS: `--import=${MODULE_LOG_HOOK}`, SCALEPASS_TEST_MODULE_LOG: log }, 60_000, runJs);
  const dir = pathToFileURL(path.dirname(runJs)).href + '/';
  const chunks = fs.readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith(dir)).map((u) => u.slice(dir.length));
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  return { r, chunks };
}

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

  for (const protocol of OTLP_PROTOCOLS) {
    it(`a copy of dist/ without node_modules exports over ${protocol}: the flush reaches the network, no module is missing`, async () => {
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-dist-'));
      fs.cpSync(path.dirname(DIST), copy, { recursive: true });
      try {
        const port = await closedPort();
        const r = await runScalepass(['--flush-timeout-ms', '1000'], {
          KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        }, 60_000, path.join(copy, 'run.js'));
        const flush = r.logs.find((l) => String(l.msg).startsWith('metrics NOT flushed'));
        assert.ok(flush, r.stderr);
        assert.match(String(flush.msg), protocol === 'grpc' ? /gRPC 14 UNAVAILABLE.*ECONNREFUSED/ : /ECONNREFUSED/);
        assert.match(String(flush.msg), new RegExp(`over ${protocol}`));
        assert.doesNotMatch(r.stderr, /Cannot find (module|package)/);
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    });
  }

  it('--version and --help load no OpenTelemetry code: no pass chunk, no exporter chunk, under 64 KiB of dist/', async () => {
    for (const args of [['--version'], ['--help']]) {
      const { r, chunks } = await runLogged(args, {});
      assert.equal(r.code, 0, r.stderr);
      assert.ok(chunks.includes('run.js'), chunks.join(' '));
      assert.deepEqual(chunks.filter((c) => /^(main|otlp-)/.test(c)), [], `${args[0]} loaded ${chunks.join(' ')}`);
      for (const c of chunks) {
        const text = fs.readFileSync(path.join(path.dirname(DIST), c), 'utf8');
        // esbuild writes a class as `var Name = class ...`
        assert.doesNotMatch(text, /\b(MeterProvider|PeriodicExportingMetricReader|OTLPMetricExporter\w*)(\$\d+)? = class\b/, `${args[0]} loaded ${c}, which holds the SDK`);
      }
      const bytes = chunks.reduce((n, c) => n + fs.statSync(path.join(path.dirname(DIST), c)).size, 0);
      assert.ok(bytes < 64 * 1024, `${args[0]} loaded ${bytes} bytes: ${chunks.join(' ')}`);
    }
  });

  for (const protocol of OTLP_PROTOCOLS) {
    const how = protocol === 'http/protobuf' ? 'with no protocol variable (the default, http/protobuf)' : `with OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}`;
    it(`a pass ${how} loads that exporter's chunk and neither other`, async () => {
      const port = await closedPort();
      const env: Record<string, string> = { KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` };
      if (protocol !== 'http/protobuf') env['OTEL_EXPORTER_OTLP_PROTOCOL'] = protocol;
      const { r, chunks } = await runLogged(['--flush-timeout-ms', '1000'], env);
      const start = r.logs.find((l) => l.msg === 'starting pass');
      assert.equal((start?.telemetry as { protocol?: string } | undefined)?.protocol, protocol, r.stderr);
      const exporters = OTLP_PROTOCOLS.filter((p) => chunks.some((c) => EXPORTER_CHUNK[p].test(c)));
      assert.deepEqual(exporters, [protocol], `loaded ${chunks.join(' ')}`);
    });
  }

  it('a pass loads no database, cache, broker or gRPC client library until a trigger connects with one', async () => {
    const port = await closedPort();
    const { chunks } = await runLogged(['--flush-timeout-ms', '1000'], { KUBECONFIG: kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    // what each loaded chunk was built from, by its source map
    const sources = chunks.flatMap((c) => {
      const map = path.join(path.dirname(DIST), `${c}.map`);
      return fs.existsSync(map) ? (JSON.parse(fs.readFileSync(map, 'utf8')) as { sources: string[] }).sources : [];
    });
    assert.ok(sources.some((x) => x.includes('node_modules/@kubernetes/client-node/')), `the source maps name no package: ${chunks.join(' ')}`);
    const heavy = ['ioredis', 'pg', 'mysql2', 'amqplib', '@grpc/grpc-js', '@grpc/proto-loader'];
    assert.deepEqual(heavy.filter((lib) => sources.some((x) => x.includes(`node_modules/${lib}/`))), [], `loaded ${chunks.join(' ')}`);
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
