// Debian packages for the image's root filesystem, fetched with apt (`apt-get download`, no root
// needed) at apt's candidate version and kept in a cache directory, so a second build of the same
// versions downloads nothing and assembles the same bytes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Deb {
  name: string;
  version: string;
  architecture: string;
  file: string;
}

const run = (cmd: string, args: string[], cwd?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** apt's candidate version of a package, or undefined when apt does not know it (no lists yet). */
function candidate(name: string): string | undefined {
  let out: string;
  try {
    out = run('apt-cache', ['policy', name]);
  } catch {
    return undefined;
  }
  const m = /^\s*Candidate:\s*(\S+)/m.exec(out);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

/** Control fields of a .deb (`dpkg-deb --field`), as dpkg writes them: "Field: value" lines. */
export function control(file: string): string {
  return run('dpkg-deb', ['--field', file]);
}

function field(ctl: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(ctl);
  if (!m?.[1]) throw new Error(`no ${name} field in the package's control data`);
  return m[1].trim();
}

/** Downloads (or reuses from `cacheDir`) the candidate version of each package. */
export function fetchDebs(names: readonly string[], cacheDir: string, log: (s: string) => void): Deb[] {
  fs.mkdirSync(cacheDir, { recursive: true });
  let updated = false;
  return names.map((name) => {
    let version = candidate(name);
    if (!version && !updated && process.getuid?.() === 0) {
      // a fresh machine or container has no package lists yet
      log(`apt knows no ${name}: apt-get update`);
      run('apt-get', ['update', '-qq']);
      updated = true;
      version = candidate(name);
    }
    if (!version) throw new Error(`apt has no candidate for Debian package ${name}; run apt-get update (as root) and retry`);
    // apt names the file <name>_<version with ':' as %3a>_<arch>.deb
    const prefix = `${name}_${version.replaceAll(':', '%3a')}_`;
    let file = fs.readdirSync(cacheDir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
    if (!file) {
      log(`apt-get download ${name}=${version}`);
      // as root apt drops to the _apt user for downloads, which cannot write to a root-owned cache
      const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
      run('apt-get', [...sandbox, '-qq', 'download', `${name}=${version}`], cacheDir);
      file = fs.readdirSync(cacheDir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
      if (!file) throw new Error(`apt-get download ${name}=${version} left no ${prefix}*.deb in ${cacheDir}`);
    }
    const full = path.join(cacheDir, file);
    const ctl = control(full);
    if (field(ctl, 'Package') !== name || field(ctl, 'Version') !== version) {
      throw new Error(`${full} is not ${name} ${version}`);
    }
    return { name, version, architecture: field(ctl, 'Architecture'), file: full };
  });
}
