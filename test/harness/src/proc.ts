// Child processes of the harness: each leads its own process group, logs to .harness/logs/<name>.log,
// and every wait for readiness fails early, with the log tail, if the child dies.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Proc {
  name: string;
  pid: number;
  log: string;
  exited: () => { code: number | null; signal: string | null } | undefined;
}

export function logTail(file: string, lines = 60): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function start(name: string, bin: string, args: string[], logDir: string, env?: NodeJS.ProcessEnv): Proc {
  if (!fs.existsSync(bin)) {
    throw new Error(`harness: ${name}: binary ${bin} not found — run \`npm run harness:build\` (bash test/harness/build.sh)`);
  }
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  fs.closeSync(fd);
  let exit: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => (exit = { code, signal }));
  child.on('error', (err) => (exit = { code: null, signal: String(err) }));
  child.unref();
  if (!child.pid) throw new Error(`harness: ${name}: could not start ${bin}`);
  return { name, pid: child.pid, log, exited: () => exit };
}

export async function waitFor(p: Proc, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    const ex = p.exited();
    if (ex) {
      throw new Error(`harness: ${p.name} exited (code ${ex.code}, signal ${ex.signal}) before ${what}; last lines of ${p.log}:\n${logTail(p.log)}`);
    }
    try {
      if (await probe()) return Date.now() - t0;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`harness: ${p.name} not ${what} after ${timeoutMs} ms (${last}); last lines of ${p.log}:\n${logTail(p.log)}`);
}

/** What a cross-component probe reports: done, or which component it is waiting on and why. */
export type Verdict = { ok: true } | { ok: false; waitingOn: Proc; why: string };

/**
 * Waits for something several components produce together (a pod scheduled, run and measured).
 * Fails early if any of them exits; on timeout names the component the probe was last waiting on,
 * with the end of its log.
 */
export async function waitForChain(procs: Proc[], what: string, probe: () => Promise<Verdict>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last: Verdict | undefined;
  let err = '';
  while (Date.now() - t0 < timeoutMs) {
    for (const p of procs) {
      const ex = p.exited();
      if (ex) throw new Error(`harness: ${p.name} exited (code ${ex.code}, signal ${ex.signal}) before ${what}; last lines of ${p.log}:\n${logTail(p.log)}`);
    }
    try {
      last = await probe();
      if (last.ok) return Date.now() - t0;
    } catch (e) {
      err = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (last && !last.ok) {
    throw new Error(`harness: ${last.waitingOn.name}: ${what} not reached after ${timeoutMs} ms: ${last.why}; last lines of ${last.waitingOn.log}:\n${logTail(last.waitingOn.log)}`);
  }
  throw new Error(`harness: ${what} not reached after ${timeoutMs} ms (${err || 'no answer'})`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the process group, wait up to 10 s, then SIGKILL. */
export async function stopGroup(pid: number): Promise<void> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  kill('SIGTERM');
  const t0 = Date.now();
  while (alive(pid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) kill('SIGKILL');
  while (alive(pid) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
}
