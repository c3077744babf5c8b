// npm run image: an OCI image of scalepass, built without a container engine. The root filesystem
// comes from Debian packages (apt-get download), the pinned Node binary and dist/ (scripts/image/
// stage.ts), each layer is a reproducible tar (scripts/image/layer-tar.ts), and go-containerregistry's
// crane turns them into an image and writes it out as an OCI layout in .build/image/oci.
// The same commit and the same Debian package versions give the same digest.
//
//   node scripts/image.ts                  the image (after npm run build)
//   node scripts/image.ts --stage-only DIR only the layer directories, in DIR/{base,node,app} (the Dockerfile's step)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEBIAN_PACKAGES, ENTRYPOINT, ENV, LABEL, LAYERS, USER, WORKDIR, type LayerName } from './image/spec.ts';
import { fetchDebs, type Deb } from './image/debs.ts';
import { stage, stageDocs } from './image/stage.ts';
import { layerTar } from './image/layer-tar.ts';
import { crane, csvField, findCrane, serveRegistry } from './image/crane.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.resolve(process.env.SCALEPASS_IMAGE_OUT ?? path.join(ROOT, '.build/image'));
const DEB_CACHE = path.resolve(process.env.SCALEPASS_DEB_CACHE ?? path.join(ROOT, '.build/debs'));
const log = (s: string): void => { process.stderr.write(`image: ${s}\n`); };
const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const MiB = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

interface PackageJson { name: string; version: string; description: string; license: string; repository?: string | { url?: string } }
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Where the source is, for the source label: $SCALEPASS_IMAGE_SOURCE, package.json's repository,
 * else the git remote `origin` if it is a network URL (credentials in it are dropped). */
function sourceUrl(): string | undefined {
  if (process.env.SCALEPASS_IMAGE_SOURCE) return process.env.SCALEPASS_IMAGE_SOURCE;
  const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (repo) return repo;
  let origin: string;
  try {
    origin = git('remote', 'get-url', 'origin');
  } catch {
    return undefined;
  }
  try {
    const u = new URL(origin);
    if (!/^(https?|ssh|git):$/.test(u.protocol)) return undefined;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    // scp-like git@host:owner/repo: no secret in it; a local path is no source for anyone else
    return /^[\w.-]+@[\w.-]+:/.test(origin) ? origin : undefined;
  }
}

function nodeBinary(): { node: string; license: string } {
  // the npm `node` devDependency's binary (node_modules/node/bin/node links to the platform package's)
  const pkgDir = path.join(ROOT, 'node_modules/node/node_modules', `node-${process.platform}-${process.arch}`);
  const node = path.join(pkgDir, 'bin/node');
  const license = path.join(pkgDir, 'LICENSE');
  if (!fs.existsSync(node)) throw new Error(`${node} is missing: run npm ci`);
  return { node, license };
}

function stageAll(out: string): { layers: Record<LayerName, string>; debs: Deb[] } {
  const { node, license } = nodeBinary();
  const debs = fetchDebs(DEBIAN_PACKAGES, DEB_CACHE, log);
  const staged = stage({ debs, node, nodeLicense: license, dist: path.join(ROOT, 'dist'), out, work: path.join(out, '.unpacked') });
  const docDebs = fetchDebs(staged.docPackages, DEB_CACHE, log);
  stageDocs(docDebs, path.join(out, '.unpacked'), staged.layers.base);
  fs.rmSync(path.join(out, '.unpacked'), { recursive: true, force: true });
  return { layers: staged.layers, debs: [...debs, ...docDebs] };
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

async function buildImage(): Promise<void> {
  const t0 = Date.now();
  const commit = git('rev-parse', 'HEAD');
  const dirty = git('status', '--porcelain') !== '';
  const revision = dirty ? `${commit}-dirty` : commit;
  if (dirty) log('the work tree has uncommitted changes: the revision label says -dirty');
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? git('log', '-1', '--format=%ct', 'HEAD'));
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`SOURCE_DATE_EPOCH is not a whole number of seconds: ${process.env.SOURCE_DATE_EPOCH}`);
  const arch = GOARCH[process.arch];
  if (!arch) throw new Error(`no image for ${process.arch}`);
  // dist/ carries the commit it was built from (scripts/build.mjs); an older one would be mislabelled
  const short = commit.slice(0, 12);
  const dist = path.join(ROOT, 'dist');
  if (!fs.existsSync(dist) || !fs.readdirSync(dist).some((f) => f.endsWith('.js') && fs.readFileSync(path.join(dist, f), 'utf8').includes(`"${short}"`))) {
    throw new Error(`dist/ was not built from ${short}: run npm run build (npm run image does)`);
  }

  const layersDir = path.join(OUT, 'layers');
  const { layers, debs } = stageAll(layersDir);
  for (const d of debs) log(`debian ${d.name} ${d.version} ${d.architecture}`);
  const tars = LAYERS.map((name) => {
    const file = path.join(OUT, `${name}.tar.gz`);
    return { name, file, bytes: layerTar(layers[name], file, epoch) };
  });

  const bin = findCrane(path.join(ROOT, '.build/tools'), log);
  const registry = await serveRegistry(bin);
  const ociDir = path.join(OUT, 'oci');
  try {
    const repo = `${registry.host}/${pkg.name}`;
    await crane(bin, ['append', '--oci-empty-base', ...tars.flatMap((t) => ['-f', t.file]), '-t', `${repo}:layers`]);
    const source = sourceUrl();
    if (!source) log(`no source URL known: set ${LABEL.source} with SCALEPASS_IMAGE_SOURCE or package.json "repository"`);
    const labels: Record<string, string> = {
      [LABEL.title]: pkg.name,
      [LABEL.description]: pkg.description,
      [LABEL.version]: pkg.version,
      [LABEL.revision]: revision,
      [LABEL.created]: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'),
      [LABEL.licenses]: pkg.license,
      ...(source ? { [LABEL.source]: source } : {}),
    };
    await crane(bin, ['mutate', `${repo}:layers`, '-t', `${repo}:${pkg.version}`,
      '--set-platform', `linux/${arch}`,
      '--entrypoint', ENTRYPOINT.map(csvField).join(','),
      '--user', `${USER.uid}:${USER.gid}`,
      '--workdir', WORKDIR,
      ...ENV.flatMap((e) => ['--env', e]),
      ...Object.entries(labels).flatMap(([k, v]) => ['--label', csvField(`${k}=${v}`)])]);
    fs.rmSync(ociDir, { recursive: true, force: true });
    await crane(bin, ['pull', '--format=oci', `${repo}:${pkg.version}`, ociDir]);
    const digest = await crane(bin, ['digest', `${repo}:${pkg.version}`]);
    const manifest = JSON.parse(await crane(bin, ['manifest', `${repo}:${pkg.version}`])) as { layers: { size: number; digest: string }[] };
    const summary = {
      image: `${pkg.name}:${pkg.version}`,
      digest,
      revision,
      platform: `linux/${arch}`,
      layers: tars.map((t, i) => ({ name: t.name, uncompressedBytes: t.bytes, compressedBytes: manifest.layers[i]!.size, digest: manifest.layers[i]!.digest })),
      uncompressedBytes: tars.reduce((n, t) => n + t.bytes, 0),
      compressedBytes: manifest.layers.reduce((n, l) => n + l.size, 0),
      debian: debs.map((d) => ({ name: d.name, version: d.version, architecture: d.architecture })),
      seconds: (Date.now() - t0) / 1000,
    };
    fs.writeFileSync(path.join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    for (const l of summary.layers) log(`layer ${l.name}: ${MiB(l.uncompressedBytes)} (${MiB(l.compressedBytes)} gzip) ${l.digest}`);
    log(`${summary.image} linux/${arch}: ${MiB(summary.uncompressedBytes)} uncompressed, ${MiB(summary.compressedBytes)} to pull, in ${summary.seconds.toFixed(1)} s`);
    log(`OCI layout in ${path.relative(process.cwd(), ociDir) || ociDir}; push it with: crane push ${path.relative(process.cwd(), ociDir)} <registry>/${pkg.name}:${pkg.version}`);
    process.stdout.write(`${digest}\n`);
  } finally {
    await registry.close();
    for (const t of tars) fs.rmSync(t.file, { force: true });
    fs.rmSync(layersDir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
try {
  if (args[0] === '--stage-only') {
    if (!args[1]) throw new Error('--stage-only needs a directory');
    const { debs } = stageAll(path.resolve(args[1]));
    for (const d of debs) log(`debian ${d.name} ${d.version} ${d.architecture}`);
  } else if (args.length === 0) {
    await buildImage();
  } else {
    throw new Error(`usage: node scripts/image.ts [--stage-only DIR]`);
  }
} catch (e) {
  log(`FAILED: ${(e as Error).message}`);
  process.exit(1);
}
