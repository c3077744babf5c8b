// One image layer as a tar that depends only on the files' contents, names, types and modes:
// entries in byte order of their paths (no "./" prefix), owner 0:0 by number, every mtime the
// commit's time, GNU format (no pax headers carrying atime, ctime or a process id). GNU tar does the
// writing; this picks the entries and the flags.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Every path under `dir`, relative, parents before children, in byte order. */
export function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

/** Writes `dir` as a gzipped tar at `file`; returns the tar's size in bytes (before gzip). gzip -n
 * keeps the name and time out of the gzip header; its default level takes a sixth off what crane's own
 * (fastest) compression gives for the Node layer (38.5 against 45 MiB), at about 4 s more per build. */
export function layerTar(dir: string, file: string, sourceDateEpoch: number): number {
  const list = `${file}.list`;
  fs.writeFileSync(list, entries(dir).join('\0') + '\0');
  execFileSync('tar', [
    '--create', '--file', `${file}.tmp`, '--directory', dir,
    '--no-recursion', '--null', '--verbatim-files-from', '--files-from', list,
    '--format=gnu', '--numeric-owner', '--owner=0', '--group=0', `--mtime=@${sourceDateEpoch}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  fs.rmSync(list);
  const bytes = fs.statSync(`${file}.tmp`).size;
  execFileSync('sh', ['-c', 'gzip -n -6 -c "$1" > "$2"', 'gzip', `${file}.tmp`, file], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.rmSync(`${file}.tmp`);
  return bytes;
}
