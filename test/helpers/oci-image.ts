// Reads an OCI image layout the way a container runtime pulls from one: index -> manifest -> config
// and layers, each blob checked against its digest (and each layer's contents against the config's
// diff_id), then every layer unpacked into a directory of its own, bottom first.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface OciDescriptor { mediaType: string; digest: string; size: number }
export interface OciManifest { mediaType: string; config: OciDescriptor; layers: OciDescriptor[] }
export interface OciConfig {
  architecture: string;
  os: string;
  config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; User?: string; WorkingDir?: string; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
}
export interface OciImage { digest: string; manifest: OciManifest; config: OciConfig }

const blobPath = (layout: string, digest: string): string => path.join(layout, 'blobs', ...digest.split(':'));

function readBlob(layout: string, d: OciDescriptor): Buffer {
  const b = fs.readFileSync(blobPath(layout, d.digest));
  const got = `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
  if (got !== d.digest || b.length !== d.size) throw new Error(`blob ${d.digest}: content is ${got}, ${b.length} bytes (descriptor: ${d.size})`);
  return b;
}

async function sha256(file: string, gunzip: boolean): Promise<{ digest: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  const raw = fs.createReadStream(file);
  const src = gunzip ? raw.pipe(zlib.createGunzip()) : raw;
  for await (const c of src as AsyncIterable<Buffer>) { h.update(c); bytes += c.length; }
  return { digest: `sha256:${h.digest('hex')}`, bytes };
}

/** The single image of a layout, its blobs verified. */
export async function readImage(layout: string): Promise<OciImage> {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
  if (index.manifests.length !== 1) throw new Error(`${layout}: ${index.manifests.length} manifests, expected one image`);
  const m = index.manifests[0]!;
  const manifest = JSON.parse(readBlob(layout, m).toString('utf8')) as OciManifest;
  const config = JSON.parse(readBlob(layout, manifest.config).toString('utf8')) as OciConfig;
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new Error('config diff_ids and manifest layers differ in number');
  for (const [i, l] of manifest.layers.entries()) {
    const compressed = await sha256(blobPath(layout, l.digest), false);
    if (compressed.digest !== l.digest || compressed.bytes !== l.size) throw new Error(`layer ${i}: blob is ${compressed.digest}, expected ${l.digest}`);
    const plain = await sha256(blobPath(layout, l.digest), l.mediaType.endsWith('+gzip'));
    if (plain.digest !== config.rootfs.diff_ids[i]) throw new Error(`layer ${i}: contents are ${plain.digest}, config says ${config.rootfs.diff_ids[i]}`);
  }
  return { digest: m.digest, manifest, config };
}

/** Unpacks each layer into dir/<i>; returns the directories, bottom layer first. A layer with a
 * whiteout (.wh.) entry is refused: the image has none, and an overlay would need them converted. */
export function unpackLayers(layout: string, image: OciImage, dir: string): string[] {
  return image.manifest.layers.map((l, i) => {
    const blob = blobPath(layout, l.digest);
    const z = l.mediaType.endsWith('+gzip') ? ['--gzip'] : [];
    const names = execFileSync('tar', ['--list', ...z, '--file', blob], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    const wh = names.find((n) => path.basename(n).startsWith('.wh.'));
    if (wh) throw new Error(`layer ${i} has a whiteout entry ${wh}`);
    const to = path.join(dir, String(i));
    fs.mkdirSync(to, { recursive: true });
    execFileSync('tar', ['--extract', ...z, '--file', blob, '--directory', to, '--numeric-owner', '--same-owner', '--same-permissions']);
    return to;
  });
}

/** Every path of the unpacked layers (relative, no leading slash) as the merged root shows it: an
 * upper layer's entry hides a lower one's. */
export function listTree(dirs: string[]): Map<string, { file: string; st: fs.Stats }> {
  const all = new Map<string, { file: string; st: fs.Stats }>();
  for (const d of dirs) {
    const walk = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(d, rel))) {
        const r = rel ? `${rel}/${e}` : e;
        const st = fs.lstatSync(path.join(d, r));
        all.set(r, { file: path.join(d, r), st });
        if (st.isDirectory()) walk(r);
      }
    };
    walk('');
  }
  return all;
}
