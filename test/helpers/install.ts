// Installs scalepass the way a user does: `kubectl apply --server-side -k kustomize/base`, with the
// real kubectl built by the harness, against the real apiserver.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Harness } from './harness.ts';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KUBECTL = path.join(ROOT, 'test/harness/bin/kubectl');
export const SYSTEM_NS = 'scalepass-system';

export async function kubectl(h: Harness, args: string[], input?: string): Promise<string> {
  const p = run(KUBECTL, ['--kubeconfig', h.state.kubeconfig, ...args], { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    p.child.stdin!.end(input);
  }
  const { stdout } = await p;
  return stdout;
}

let installed: Promise<string> | undefined;

/** Apply the kustomization once per test process; returns kubectl's output. */
export function install(h: Harness): Promise<string> {
  installed ??= (async () => {
    const out = await kubectl(h, ['apply', '--server-side', '--force-conflicts', '-k', path.join(ROOT, 'kustomize/base')]);
    await kubectl(h, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/scaledobjects.keda.sh', 'crd/scaledjobs.keda.sh', 'crd/triggerauthentications.keda.sh', 'crd/clustertriggerauthentications.keda.sh']);
    return out;
  })();
  return installed;
}

/** A kubeconfig that authenticates as the shipped ServiceAccount (token from the TokenRequest API). */
export async function asScalepass(h: Harness): Promise<string> {
  await install(h);
  return h.tokenKubeconfig(SYSTEM_NS, 'scalepass');
}
