// Creating, measuring and failing scalers in the integration tests of each trigger type, outside a pass.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createScaler } from '../../src/scalers/registry.ts';
import { ScalerConfigError, type Scaler, type ScalerContext } from '../../src/scalers/types.ts';
import type { ClientRegistry } from '../../src/scalers/clients.ts';
import type { MetricType } from '../../src/scaling/types.ts';

export interface ScalerOptions {
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: MetricType;
  triggerIndex?: number;
  asMetricSource?: boolean;
  /** Only the created scaler's; the context read() passes keeps the factory's name. */
  scaledObjectName?: string;
  /** Connections shared with other scalers, as a pass shares them; without it the scaler has its own. */
  clients?: ClientRegistry;
}

export interface ScalerDefaults {
  /** 'worker' unless given. */
  scaledObjectName?: string;
  /** Metadata every scaler starts from, asked for at each creation: some of it (an endpoint) is known only once before() has run. */
  metadata?: () => Record<string, string>;
  /** How long read() waits by default; without it the default signal never aborts. */
  readTimeoutMs?: number;
  /** The context's clock; 0 unless given. */
  now?: () => number;
}

/**
 * Closing what is in `open` is left to each file's after(): some let every close() settle before the
 * rest of their cleanup, others stop at the first one that fails.
 */
export function scalerFactory(type: string, defaults: ScalerDefaults = {}) {
  const name = defaults.scaledObjectName ?? 'worker';
  const open: Scaler[] = [];

  function scaler(metadata: Record<string, string>, o: ScalerOptions = {}): Scaler {
    const s = createScaler({
      namespace: 'shop', scaledObjectName: o.scaledObjectName ?? name, triggerIndex: o.triggerIndex ?? 0,
      trigger: { type, metadata: defaults.metadata ? { ...defaults.metadata(), ...metadata } : metadata, ...(o.metricType ? { metricType: o.metricType } : {}) },
      authParams: o.authParams ?? {}, resolvedEnv: o.resolvedEnv ?? {},
      ...(o.asMetricSource ? { asMetricSource: true } : {}),
      ...(o.clients ? { clients: o.clients } : {}),
    });
    open.push(s);
    return s;
  }

  /** As a pass reads a trigger: the metric spec first for a scaler that learns it (external), then the value. */
  async function read(s: Scaler, signal: AbortSignal = defaultSignal(), now: number = defaults.now?.() ?? 0) {
    const ctx = {
      namespace: 'shop', scaledObjectName: name, triggerIndex: 0, trigger: { type, metadata: {} },
      authParams: {}, resolvedEnv: {}, now, signal,
    } satisfies ScalerContext;
    await s.learnSpec?.(ctx);
    return s.measure(ctx);
  }

  function defaultSignal(): AbortSignal {
    return defaults.readTimeoutMs === undefined ? new AbortController().signal : AbortSignal.timeout(defaults.readTimeoutMs);
  }

  return { scaler, read, open };
}

/**
 * Awaits a promise that must reject, and says how it did and how long it took. Given a function, the
 * clock starts before it is called, so work the call does before its first await is counted too.
 */
export async function rejection(
  p: Promise<unknown> | (() => Promise<unknown>),
  unexpected = 'expected the measurement to fail',
): Promise<{ message: string; ms: number }> {
  const t0 = Date.now();
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return { message: (e as Error).message, ms: Date.now() - t0 };
  }
  return assert.fail(unexpected);
}

export function configError(fn: () => unknown, field: string, text?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScalerConfigError, `expected a ScalerConfigError, got ${String(e)}`);
    assert.equal(e.field, field);
    if (text) assert.match(e.message, text);
    return true;
  });
}

export interface ScriptRun {
  /** exit code; null when it was still running after the time limit and had to be killed */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived */
  out: string;
  exitedAt: number;
}

/** Runs an ES module script in a fresh Node process, as a pass would, and waits for it to exit on its own. */
export function runScript(script: string, limitMs = 10_000): Promise<ScriptRun> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: ScriptRun = { code: null, stdout: '', stderr: '', out: '', exitedAt: 0 };
  child.stdout.on('data', (d: Buffer) => { r.stdout += d; r.out += d; });
  child.stderr.on('data', (d: Buffer) => { r.stderr += d; r.out += d; });
  return new Promise((resolve) => {
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (c, signal) => {
      clearTimeout(limit);
      r.code = signal === 'SIGKILL' ? null : c;
      r.exitedAt = Date.now();
      resolve(r);
    });
  });
}

/** When the child process said its scalers were closed (it prints "closed at <ms>"). */
export function closedAt(out: string): number {
  const m = /closed at (\d+)/.exec(out);
  return m ? Number(m[1]) : assert.fail(`the process never finished closing: ${out}`);
}

/** A port on 127.0.0.1 nothing listens on. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
