// Lays out the image's root filesystem, one directory per layer (spec.ts LAYERS), from Debian
// packages, the pinned Node binary and dist/. Only what Node needs is taken from the packages: the
// shared libraries its ELF headers ask for (followed to their own), the CA bundle, the zoneinfo
// tree, and each package's copyright. Both `npm run image` and the Dockerfile stage with this code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APP_DIR, NODE_PATH, USER, type LayerName } from './spec.ts';
import { control, type Deb } from './debs.ts';

export interface StageInput {
  debs: Deb[];
  /** the node binary to copy (stripped on the way) and its LICENSE file */
  node: string;
  nodeLicense: string;
  /** the built dist/ directory */
  dist: string;
  /** where the layer directories go (emptied first) */
  out: string;
  /** where the packages are unpacked (emptied first) */
  work: string;
}

export interface Staged {
  layers: Record<LayerName, string>;
  /** packages whose /usr/share/doc/<name> points at another package's (gcc-12-base for libstdc++6):
   * the caller fetches those too and hands them to stageDocs */
  docPackages: string[];
}

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

function mkdirs(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
}

/** Copies one entry of a package root, keeping symlinks as symlinks and following them to what they
 * name inside the same root (an absolute target such as /lib64's loader link is read in the root). */
function copyEntry(root: string, rel: string, dest: string, seen = new Set<string>(), follow = true): string {
  if (seen.has(rel)) return rel;
  seen.add(rel);
  const from = path.join(root, rel);
  const to = path.join(dest, rel);
  const st = fs.lstatSync(from);
  mkdirs(path.dirname(to));
  if (st.isSymbolicLink()) {
    const target = fs.readlinkSync(from);
    fs.rmSync(to, { force: true });
    fs.symlinkSync(target, to);
    const inRoot = target.startsWith('/') ? target.slice(1) : path.join(path.dirname(rel), target);
    // inside a copied tree a link stays a link (zoneinfo/localtime names /etc/localtime, which the
    // package leaves to its postinst); a library asked for by name is followed to the file
    return follow ? copyEntry(root, path.normalize(inRoot), dest, seen) : rel;
  }
  if (st.isDirectory()) {
    mkdirs(to);
    for (const e of fs.readdirSync(from).sort()) copyEntry(root, path.join(rel, e), dest, seen, false);
    return rel;
  }
  if (!st.isFile()) throw new Error(`${from}: neither a file, a directory nor a symlink`);
  fs.copyFileSync(from, to);
  fs.chmodSync(to, st.mode & 0o777);
  return rel;
}

/** The shared objects an ELF file needs, and the loader it names (readelf, from binutils). */
function elfDeps(file: string): { needed: string[]; interpreter?: string } {
  const dyn = run('readelf', ['--dynamic', '--wide', file]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const hdr = run('readelf', ['--program-headers', '--wide', file]);
  const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(hdr)?.[1];
  return interpreter ? { needed, interpreter } : { needed };
}

/** Every library directory entry (file or symlink) of the unpacked packages, by file name. */
function libraryIndex(roots: Map<string, string>): Map<string, { root: string; rel: string }> {
  const index = new Map<string, { root: string; rel: string }>();
  for (const root of roots.values()) {
    for (const libdir of ['lib', 'usr/lib']) {
      const base = path.join(root, libdir);
      if (!fs.existsSync(base)) continue;
      // the multiarch directories (lib/x86_64-linux-gnu) and the plain ones
      const dirs = [libdir, ...fs.readdirSync(base).filter((d) => /-linux-gnu\w*$/.test(d)).map((d) => path.join(libdir, d))];
      for (const d of dirs) {
        for (const f of fs.readdirSync(path.join(root, d))) {
          const st = fs.lstatSync(path.join(root, d, f));
          if ((st.isFile() || st.isSymbolicLink()) && /\.so(\.|$)/.test(f) && !index.has(f)) index.set(f, { root, rel: path.join(d, f) });
        }
      }
    }
  }
  return index;
}

/** Copies the loader and the libraries `elf` needs, and theirs, from the unpacked packages. */
function copyLibraries(elf: string, roots: Map<string, string>, dest: string): string[] {
  const index = libraryIndex(roots);
  const copied: string[] = [];
  const { needed, interpreter } = elfDeps(elf);
  if (interpreter) {
    const rel = interpreter.slice(1);
    const owner = [...roots.values()].find((r) => fs.existsSync(path.join(r, rel)) || isLink(path.join(r, rel)));
    if (!owner) throw new Error(`no package provides the loader ${interpreter}`);
    copied.push(copyEntry(owner, rel, dest));
  }
  const queue = [...needed];
  const done = new Set<string>();
  while (queue.length) {
    const so = queue.shift()!;
    if (done.has(so)) continue;
    done.add(so);
    const hit = index.get(so);
    if (!hit) throw new Error(`no package provides ${so}, which ${path.basename(elf)} needs (add its package to DEBIAN_PACKAGES)`);
    const real = copyEntry(hit.root, hit.rel, dest);
    copied.push(hit.rel);
    queue.push(...elfDeps(path.join(hit.root, real)).needed);
  }
  return copied;
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function write(dest: string, rel: string, content: string, mode = 0o644): void {
  const to = path.join(dest, rel);
  mkdirs(path.dirname(to));
  fs.writeFileSync(to, content);
  fs.chmodSync(to, mode);
}

/** Debian's bundle as update-ca-certificates builds it: every certificate the package ships, in
 * order of path, each ending in a newline. */
function caBundle(root: string): string {
  const base = path.join(root, 'usr/share/ca-certificates');
  const certs = (fs.readdirSync(base, { recursive: true }) as string[]).filter((f) => f.endsWith('.crt')).sort();
  if (certs.length < 50) throw new Error(`ca-certificates: only ${certs.length} certificates in ${base}`);
  return certs.map((f) => {
    const pem = fs.readFileSync(path.join(base, f), 'utf8');
    return pem.endsWith('\n') ? pem : pem + '\n';
  }).join('');
}

/** Each directory 0755 (the sticky /tmp 1777), so the umask of the machine building does not leak in. */
function normalizeDirs(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) normalizeDirs(path.join(dir, e.name));
  }
  fs.chmodSync(dir, 0o755);
}

export function unpack(debs: Deb[], work: string): Map<string, string> {
  const roots = new Map<string, string>();
  for (const d of debs) {
    const root = path.join(work, d.name);
    fs.rmSync(root, { recursive: true, force: true });
    mkdirs(root);
    run('dpkg-deb', ['--extract', d.file, root]);
    roots.set(d.name, root);
  }
  return roots;
}

export function stage(input: StageInput): Staged {
  fs.rmSync(input.out, { recursive: true, force: true });
  fs.rmSync(input.work, { recursive: true, force: true });
  const layers: Record<LayerName, string> = { base: path.join(input.out, 'base'), node: path.join(input.out, 'node'), app: path.join(input.out, 'app') };
  for (const d of Object.values(layers)) mkdirs(d);
  const roots = unpack(input.debs, input.work);
  const pkg = (name: string): string => {
    const r = roots.get(name);
    if (!r) throw new Error(`package ${name} was not fetched`);
    return r;
  };

  // node: the pinned binary without its symbol table and debug info (.dynsym stays, so native
  // add-ons still link); 126 MB -> 108 MB, and no behaviour changes
  const nodeTo = path.join(layers.node, NODE_PATH);
  mkdirs(path.dirname(nodeTo));
  run('strip', ['--strip-all', '-o', nodeTo, input.node]);
  fs.chmodSync(nodeTo, 0o755);
  write(layers.node, 'usr/local/share/doc/node/LICENSE', fs.readFileSync(input.nodeLicense, 'utf8'));

  // base: what that binary loads, and what any process in a pod expects to find
  copyLibraries(nodeTo, roots, layers.base);
  write(layers.base, 'etc/ssl/certs/ca-certificates.crt', caBundle(pkg('ca-certificates')));
  copyEntry(pkg('tzdata'), 'usr/share/zoneinfo', layers.base);
  write(layers.base, 'etc/passwd', [
    'root:x:0:0:root:/root:/sbin/nologin',
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
    `${USER.name}:x:${USER.uid}:${USER.gid}:${USER.name}:${USER.home}:/sbin/nologin`, ''].join('\n'));
  write(layers.base, 'etc/group', ['root:x:0:', 'nobody:x:65534:', `${USER.name}:x:${USER.gid}:`, ''].join('\n'));
  // glibc's getaddrinfo (Node's dns.lookup, what every HTTP client uses) reads this; files then DNS
  write(layers.base, 'etc/nsswitch.conf', ['passwd: files', 'group: files', 'hosts: files dns', ''].join('\n'));
  mkdirs(path.join(layers.base, 'tmp'));
  // scanners (Trivy, Grype, Syft) find Debian packages in a distroless image by these files
  for (const d of input.debs) write(layers.base, `var/lib/dpkg/status.d/${d.name}`, control(d.file));
  const docPackages: string[] = [];
  for (const d of input.debs) {
    const doc = path.join(pkg(d.name), 'usr/share/doc', d.name);
    if (isLink(doc)) {
      docPackages.push(path.basename(fs.readlinkSync(doc)));
      copyEntry(pkg(d.name), `usr/share/doc/${d.name}`, layers.base, new Set(), false);
    } else {
      copyEntry(pkg(d.name), `usr/share/doc/${d.name}/copyright`, layers.base);
    }
  }

  // app: the bundle and the package.json that makes its .js files ES modules; no source maps (they
  // embed the sources; a stack trace from the image maps with the dist/ of the same commit)
  const appDist = path.join(layers.app, APP_DIR, 'dist');
  mkdirs(appDist);
  const files = fs.readdirSync(input.dist).filter((f) => f.endsWith('.js') || f === 'package.json').sort();
  if (!files.includes('run.js') || !files.includes('package.json')) throw new Error(`${input.dist} has no run.js or package.json: run npm run build first`);
  for (const f of files) {
    fs.copyFileSync(path.join(input.dist, f), path.join(appDist, f));
    fs.chmodSync(path.join(appDist, f), 0o644);
  }

  for (const d of Object.values(layers)) normalizeDirs(d);
  fs.chmodSync(path.join(layers.base, 'tmp'), 0o1777);
  return { layers, docPackages: [...new Set(docPackages)].sort() };
}

/** The copyright files of the packages other packages' doc directories point at. */
export function stageDocs(debs: Deb[], work: string, base: string): void {
  const roots = unpack(debs, work);
  for (const d of debs) {
    copyEntry(roots.get(d.name)!, `usr/share/doc/${d.name}/copyright`, base);
    write(base, `var/lib/dpkg/status.d/${d.name}`, control(d.file));
  }
  normalizeDirs(base);
  fs.chmodSync(path.join(base, 'tmp'), 0o1777);
}
