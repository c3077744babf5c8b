// go-containerregistry's crane, built from the Go module in test/harness/crane (the harness build
// puts it in test/harness/bin; without that, it is built here on first use), and a registry of its
// own (`crane registry serve`, in memory, on 127.0.0.1) to assemble the image in: `crane mutate`
// edits images in a registry, and the layout is then pulled out of it.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODULE = path.join(ROOT, 'test/harness/crane');
const execFileAsync = promisify(execFile);

/** A crane binary: $CRANE, the harness's, or one built from the pinned module into `toolsDir`. */
export function findCrane(toolsDir: string, log: (s: string) => void): string {
  if (process.env.CRANE) return process.env.CRANE;
  const harness = path.join(ROOT, 'test/harness/bin/crane');
  if (fs.existsSync(harness)) return harness;
  const key = crypto.createHash('sha256').update(fs.readFileSync(path.join(MODULE, 'go.mod'))).update(fs.readFileSync(path.join(MODULE, 'go.sum'))).digest('hex').slice(0, 16);
  const bin = path.join(toolsDir, `crane-${key}`);
  if (fs.existsSync(bin)) return bin;
  const go = ['/usr/local/go/bin/go', 'go'].find((g) => { try { execFileSync(g, ['version'], { stdio: 'ignore' }); return true; } catch { return false; } });
  if (!go) throw new Error('crane is not built and Go is not installed: run bash test/harness/build.sh, or install Go 1.26');
  log('building crane from test/harness/crane (once)');
  fs.mkdirSync(toolsDir, { recursive: true });
  execFileSync(go, ['build', '-trimpath', '-ldflags', '-s -w', '-o', `${bin}.tmp`, 'github.com/google/go-containerregistry/cmd/crane'], {
    cwd: MODULE, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
  });
  fs.renameSync(`${bin}.tmp`, bin);
  return bin;
}

export interface LocalRegistry {
  /** host:port */
  host: string;
  close(): Promise<void>;
}

/** `crane registry serve` on a free port of 127.0.0.1 (crane speaks plain HTTP to loopback). */
export function serveRegistry(crane: string): Promise<LocalRegistry> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(crane, ['registry', 'serve', '--address', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`crane registry serve did not start in 10 s: ${err}`)); }, 10_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`crane registry serve exited (${code}): ${err}`)); });
    let up = false;
    child.stderr!.on('data', (b: Buffer) => {
      // it logs every request; those are only read to keep its stderr from filling up
      if (up) return;
      err += b.toString();
      const m = /serving on port (\d+)/.exec(err);
      if (!m) return;
      up = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        host: `127.0.0.1:${m[1]}`,
        close: () => new Promise((r) => {
          if (child.exitCode !== null || child.signalCode !== null) return r();
          child.once('exit', () => r());
          child.kill();
        }),
      });
    });
  });
}

/** Runs crane; its stdout, trimmed. Not a synchronous call: the registry's log must keep draining. */
export async function crane(bin: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    return stdout.trim();
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`crane ${args[0]} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** A `--label`/`--entrypoint` value for crane: pflag reads those as CSV, so a comma needs quoting. */
export function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
