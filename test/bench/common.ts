// What every bench section shares: the bench's own control plane, a run of dist/run.js measured by
// /usr/bin/time, the CPU the apiserver and etcd spend meanwhile (from /proc), object creation, a
// metrics-api source, percentiles and markdown tables.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Harness } from '../helpers/harness.ts';

export const execFileP = promisify(execFile);

/**
 * The pass deadline the bench gives runs over thousands of objects: long enough that the numbers are
 * the whole pass's on a loaded 2-core machine, where the shipped 50 s would cut it short.
 */
export const BENCH_PASS_DEADLINE_MS = '1800000';

/** `BENCH_X=1000,10000` -> [1000, 10000] */
export function envNumbers(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  if (!v) return fallback;
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${name}: expected positive integers separated by commas, got ${JSON.stringify(v)}`);
  return xs;
}

export function envNumber(name: string, fallback: number): number {
  return envNumbers(name, [fallback])[0]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The control-plane processes whose CPU a pass costs the cluster. */
export const CLUSTER_PROCS = ['kube-apiserver', 'etcd'] as const;

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64/arm64: /proc/<pid>/stat counts in 1/100 s

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat). */
export function procCpuS(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Reads the named harness processes' CPU now; call the result to get the seconds spent since. */
export function cpuMeter(h: Harness, names: readonly string[] = CLUSTER_PROCS): () => Record<string, number> {
  const pids = names.map((n) => {
    const p = h.state.pids.find((x) => x.name === n);
    if (!p) throw new Error(`bench: no ${n} in the harness state's pids`);
    return { name: n, pid: p.pid, before: procCpuS(p.pid) };
  });
  return () => Object.fromEntries(pids.map((p) => [p.name, procCpuS(p.pid) - p.before]));
}

/** What a section gets: the bench's control plane, a kubeconfig of the shipped ServiceAccount, the build. */
export interface BenchContext {
  h: Harness;
  /** a kubeconfig file of the shipped ServiceAccount whose token is valid for a while yet */
  kubeconfig(): Promise<string>;
  dist: string;
}

/** Creates an object; one that already exists (a retried create that had gone through) is fine. */
export async function createOk(h: Harness, path: string, body: unknown): Promise<void> {
  try {
    // a request the apiserver never answers (seen on a machine out of memory) is retried, not waited on forever
    await h.admin.create(path, body, { signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    if (!/\b409\b|AlreadyExists|already exists/.test((e as Error).message)) throw e;
  }
}

export interface PassJson {
  start: number;
  durationMs: number;
  objects: { kind?: string; namespace: string; name: string; outcome: string; detail?: string; scaled: boolean; statusWritten: boolean;
    current?: number; desired?: number; events: { reason: string }[] }[];
  requests: Record<string, number>;
}

export interface MeasuredRun {
  code: number;
  wallS: number;
  /** user + sys of the run's process, from /usr/bin/time */
  cpuS: number;
  rssMiB: number;
  /** kube-apiserver and etcd CPU seconds during the run */
  cluster: Record<string, number>;
  report?: PassJson;
  stderr: string;
}

export interface RunEnv {
  h: Harness;
  kubeconfig: string;
  args: string[];
  env?: Record<string, string>;
}

/** One dist/run.js process as the CronJob's container runs it, under /usr/bin/time. */
export async function measuredRun(dist: string, o: RunEnv): Promise<MeasuredRun> {
  const meter = cpuMeter(o.h);
  const start = Date.now();
  const r = await execFileP('/usr/bin/time', ['-f', 'BENCHTIME %U %S %M', process.execPath, dist, '--output', 'json', ...o.args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: o.kubeconfig, OTEL_EXPORTER_OTLP_ENDPOINT: o.h.state.otlpEndpoint,
      SCALEPASS_LOG_LEVEL: 'warn',
      // e.g. BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the measured runs
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}), ...o.env },
    maxBuffer: 1 << 30,
  }).then((x) => ({ ...x, code: 0 }), (e: { stdout: string; stderr: string; code?: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code ?? 99 }));
  const wallS = (Date.now() - start) / 1000;
  const cluster = meter();
  const t = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  let report: PassJson | undefined;
  try {
    report = JSON.parse(r.stdout) as PassJson;
  } catch {
    report = undefined;
  }
  return { code: r.code, wallS, cpuS: t ? Number(t[1]) + Number(t[2]) : NaN, rssMiB: t ? Number(t[3]) / 1024 : NaN, cluster, report, stderr: r.stderr };
}

/** Fails the bench with the run's stderr when it printed no report: numbers from a broken run mean nothing. */
export function reportOf(r: MeasuredRun, what: string): PassJson {
  if (!r.report) throw new Error(`${what}: dist/run.js printed no JSON report (exit ${r.code}); stderr:\n${r.stderr.slice(-3000)}`);
  return r.report;
}

/**
 * Whether this build knows `--mode period`; a build without it refuses the flag as a usage error
 * (exit 2) before anything else, which is what is checked.
 */
export async function hasPeriodMode(dist: string): Promise<boolean> {
  const r = await execFileP(process.execPath, [dist, '--mode', 'period', '--version']).then(() => 0, (e: { code?: number }) => e.code ?? 99);
  return r === 0;
}

/** Creates `count` objects with `concurrency` requests in flight; returns the seconds it took. */
export async function createMany(h: Harness, count: number, make: (i: number) => Promise<void>, concurrency = 16, label = 'objects'): Promise<number> {
  const t0 = Date.now();
  let next = 0;
  let done = 0;
  let shown = t0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      for (let attempt = 0; ; attempt++) {
        try {
          await make(i);
          break;
        } catch (e) {
          // a CRD just established may 404 for a moment; a busy apiserver may 429 or time out
          if (attempt >= 20) throw e;
          await sleep(250);
        }
      }
      done++;
      if (Date.now() - shown > 15_000) {
        shown = Date.now();
        log(`  ${label}: ${done}/${count} after ${((shown - t0) / 1000).toFixed(0)} s`);
      }
    }
  }));
  void h;
  return (Date.now() - t0) / 1000;
}

/** An HTTP source for metrics-api triggers: `{"queue":{"depth":<value>}}`, the value settable. */
export async function metricsSource(value: number): Promise<{ url: string; set(v: number): void; close(): void }> {
  let v = value;
  const server = http.createServer((_q, r) => r.end(JSON.stringify({ queue: { depth: v } })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`,
    set: (x) => (v = x),
    close: () => server.close(),
  };
}

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  // nearest rank, as a person reading "p95 of 50 samples" expects
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export const s = (x: number, digits = 1) => (Number.isFinite(x) ? `${x.toFixed(digits)} s` : '-');
export const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : '-');
export const mib = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} MiB` : '-');
export const verbs = (r: Record<string, number> | undefined) => Object.entries(r ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** etcd's backend size and quota, and any alarm (NOSPACE once the quota is hit), from its JSON gateway and /metrics. */
export async function etcdUsage(h: Harness): Promise<{ dbSize: number; dbSizeInUse: number; quota: number; alarms: string[] }> {
  const ep = h.state.etcdEndpoint;
  const status = await (await fetch(`${ep}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json() as { dbSize?: string; dbSizeInUse?: string };
  const alarm = await (await fetch(`${ep}/v3/maintenance/alarm`, { method: 'POST', body: '{"action":"GET"}' })).json() as { alarms?: { alarm?: string }[] };
  const metrics = await (await fetch(`${ep}/metrics`)).text();
  const quota = Number(/^etcd_server_quota_backend_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  return { dbSize: Number(status.dbSize ?? NaN), dbSizeInUse: Number(status.dbSizeInUse ?? NaN), quota, alarms: (alarm.alarms ?? []).map((a) => a.alarm ?? 'unknown') };
}

/** Starts a child and resolves when it exits, for runs the bench must not block on (the CronJob player). */
export function spawnRun(dist: string, args: string[], env: Record<string, string>): { pid: number; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [dist, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? 99, stdout, stderr })));
  return { pid: child.pid!, done };
}

export const machine = () => `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.loadavg()[0]!.toFixed(1)} load`;

export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A bench-only custom resource with a /scale subresource and no controller: a scale target that costs
 * the cluster only its own object (a Deployment brings a ReplicaSet, status updates and, above 0, pods).
 */
export const BENCH_GROUP = 'bench.scalepass.dev';
export const BENCH_KIND = { apiVersion: `${BENCH_GROUP}/v1`, kind: 'Workload', plural: 'workloads' } as const;

export async function ensureBenchCrd(h: Harness): Promise<void> {
  const name = `${BENCH_KIND.plural}.${BENCH_GROUP}`;
  try {
    await h.admin.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
      spec: { group: BENCH_GROUP, scope: 'Namespaced', names: { plural: BENCH_KIND.plural, singular: 'workload', kind: BENCH_KIND.kind },
        versions: [{ name: 'v1', served: true, storage: true,
          subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' }, status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
            status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } } } } } }] },
    });
  } catch (e) {
    if (!/409|already exists/i.test((e as Error).message)) throw e;
  }
  const { until } = await import('../helpers/until.ts');
  await until(`CRD ${name} established`, async () => {
    const crd = await h.admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return undefined;
    // Established precedes the resource being served by a moment
    await h.admin.list(`/apis/${BENCH_GROUP}/v1/${BENCH_KIND.plural}`, { query: { limit: 1 } });
    return true;
  });
}

export function benchWorkload(name: string, replicas = 0) {
  return { apiVersion: BENCH_KIND.apiVersion, kind: BENCH_KIND.kind, metadata: { name }, spec: { replicas } };
}

export const benchTargetRef = (name: string) => ({ apiVersion: BENCH_KIND.apiVersion, kind: BENCH_KIND.kind, name });
