// Runs the built CLI (dist/run.js) the way the CronJob's container does: a fresh process per pass.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/run.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** stderr parsed as JSON lines (non-JSON lines dropped) */
  logs: Record<string, unknown>[];
}

/** runJs: another copy of dist/run.js (a test of the bundle on its own) */
export function runScalepass(args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000, runJs = DIST): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [runJs, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
      timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      const logs = stderr.split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolve({ code, stdout, stderr, ms: Date.now() - t0, logs });
    });
  });
}

export interface RunningScalepass {
  pid: number;
  /** stderr so far */
  stderr(): string;
  /** resolves with the first JSON log line matching, as soon as the run writes it */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** the whole run, once it exits */
  done: Promise<RunResult>;
  kill(): void;
}

/** Starts dist/run.js and returns at once, so a test can act while the pass is running. */
export function startScalepass(args: string[], env: Record<string, string | undefined>): RunningScalepass {
  const t0 = Date.now();
  const child = spawn(process.execPath, [DIST, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  const parsed = (): Record<string, unknown>[] => stderr.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  const listeners = new Set<() => void>();
  let closed = false;
  child.on('close', () => (closed = true));
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) =>
    resolve({ code: code ?? 99, stdout, stderr, ms: Date.now() - t0, logs: parsed() })));
  return {
    pid: child.pid!,
    stderr: () => stderr,
    waitForLog(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = parsed().find(pred);
          if (!hit) return;
          cleanup();
          resolve(hit);
        };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`)); }, timeoutMs);
        const exited = () => { cleanup(); reject(new Error(`the run exited without a matching log line; stderr:\n${stderr.slice(-3000)}`)); };
        const cleanup = () => { clearTimeout(timer); listeners.delete(check); child.off('close', exited); };
        listeners.add(check);
        child.once('close', exited);
        check();
        if (closed && listeners.has(check)) exited();
      });
    },
    done,
    kill: () => { child.kill('SIGKILL'); },
  };
}
