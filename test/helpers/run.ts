// Runs the built CLI (dist/run.js) the way the CronJob's container does: a fresh process per pass.
import { execFile } from 'node:child_process';
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

export function runScalepass(args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [DIST, ...args], {
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
