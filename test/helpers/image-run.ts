// Runs an unpacked image the way a kubelet's container runtime does, as far as this machine allows
// (root, but no container runtime):
//   - the layers as the lower directories of an overlay mount, which with no upper directory is a
//     read-only root (readOnlyRootFilesystem: true), plus a top "init" layer holding only the mount
//     points, as runtimes add one;
//   - new mount, PID and UTS namespaces (the entrypoint is PID 1, the hostname is the pod's), a fresh
//     /proc, a /dev with only the usual devices, an emptyDir-like tmpfs at /tmp;
//   - the volumes bind-mounted read-only (the ServiceAccount's token, CA and namespace; the config);
//   - the image's Entrypoint + Cmd (or a pod's command/args), Env and WorkingDir from its config,
//     under the uid:gid the pod's securityContext names, with no supplementary groups and, since
//     the uid is not 0, no capabilities;
//   - only the environment the pod spec gives, nothing from the test process.
// What it cannot do here: a network namespace (the control plane and collector listen on the host's
// 127.0.0.1, so the container shares the host's network), cgroup limits, seccomp, no_new_privs.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OciConfig } from './oci-image.ts';

export interface Mount { host: string; container: string }
export interface ImageRunOptions {
  /** unpacked layer directories, bottom first */
  layers: string[];
  config: OciConfig;
  uid: number;
  gid: number;
  /** a pod's command (replaces Entrypoint) and args (replaces Cmd) */
  command?: string[];
  args?: string[];
  /** the container's env from the pod spec, added to the image's Env */
  env?: Record<string, string>;
  /** read-only volumes */
  mounts?: Mount[];
  hostname?: string;
  timeoutMs?: number;
}
export interface ImageRunResult { code: number; stdout: string; stderr: string; ms: number }

// $1 the merged root, $2 the overlay's lowerdir list, $3 the hostname, $4 the mounts (lines of
// "host<TAB>container"); the rest is the command that enters the root (env -i ... unshare --root ...)
const SETUP = String.raw`
set -eu
root=$1; lower=$2; host=$3; mounts=$4; shift 4
hostname "$host"
mount -t overlay overlay -o "lowerdir=$lower" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o nosuid,mode=0755,size=64k tmpfs "$root/dev"
for d in null zero full random urandom tty; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
ln -s /proc/self/fd "$root/dev/fd"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/tmp"
printf '%s\n' "$mounts" | while IFS="$(printf '\t')" read -r src dst; do
  [ -n "$src" ] || continue
  mount --bind "$src" "$root$dst"
  mount -o remount,bind,ro "$root$dst"
done
exec "$@"
`;

/** The home directory of `uid` in the image's /etc/passwd, as runtimes set HOME. */
function home(layers: string[], uid: number): string {
  for (const d of [...layers].reverse()) {
    const f = path.join(d, 'etc/passwd');
    if (!fs.existsSync(f)) continue;
    const line = fs.readFileSync(f, 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    if (line) return line.split(':')[5] ?? '/';
  }
  return '/';
}

export function runImage(o: ImageRunOptions): Promise<ImageRunResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-image-run-'));
  const root = path.join(work, 'root');
  const init = path.join(work, 'init');
  fs.mkdirSync(root);
  // the init layer: mount points the runtime would create in the container's own layer
  for (const p of ['proc', 'dev', 'tmp', ...(o.mounts ?? []).map((m) => m.container.slice(1))]) fs.mkdirSync(path.join(init, p), { recursive: true });
  for (const [p, content] of [['etc/hostname', `${o.hostname ?? 'scalepass'}\n`], ['etc/hosts', `127.0.0.1\tlocalhost\n::1\tlocalhost\n`]] as const) {
    fs.mkdirSync(path.dirname(path.join(init, p)), { recursive: true });
    fs.writeFileSync(path.join(init, p), content);
  }
  for (const e of fs.readdirSync(init, { recursive: true }) as string[]) fs.chmodSync(path.join(init, e), fs.statSync(path.join(init, e)).isDirectory() ? 0o755 : 0o644);
  // overlayfs: the leftmost lowerdir is the top layer
  const lower = [init, ...[...o.layers].reverse()].join(':');
  const entry = [...(o.command ?? o.config.config.Entrypoint ?? []), ...(o.args ?? (o.command ? [] : o.config.config.Cmd ?? []))];
  if (!entry.length) throw new Error('no command: the image has no Entrypoint or Cmd and the pod gave none');
  const env = { HOME: home(o.layers, o.uid), HOSTNAME: o.hostname ?? 'scalepass', ...Object.fromEntries((o.config.config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])), ...o.env };
  const enter = ['/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    '/usr/bin/unshare', `--root=${root}`, `--wd=${o.config.config.WorkingDir || '/'}`, `--setgid=${o.gid}`, `--setuid=${o.uid}`, '--', ...entry];
  const mounts = (o.mounts ?? []).map((m) => `${m.host}\t${m.container}`).join('\n');
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile('unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--uts', '--',
      'sh', '-c', SETUP, 'sh', root, lower, o.hostname ?? 'scalepass', mounts, ...enter],
    { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout, stderr) => {
      fs.rmSync(work, { recursive: true, force: true });
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
