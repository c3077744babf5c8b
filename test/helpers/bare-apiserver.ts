// etcd + kube-apiserver alone, as the harness runs them, in a directory and on ports of their own: for a
// test that creates and deletes cluster-scoped objects the shared harness's other suites rely on (the
// keda.sh CRDs). No controllers: what such a test checks is what the apiserver stores.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { apiserverArgs, BIN, etcdArgs } from '../harness/src/harness.ts';
import { kubeconfig, makePki } from '../harness/src/pki.ts';
import { freePorts } from '../harness/src/ports.ts';
import { get } from '../harness/src/probe.ts';
import { start, stopGroup, waitFor, type Proc } from '../harness/src/proc.ts';
import { KubeRest } from '../../src/kube/rest.ts';

export interface BareApiserver {
  kubeconfig: string;
  admin: KubeRest;
  /** where its logs are, for a failure message */
  logs: string;
  stop(): Promise<void>;
}

export async function startBareApiserver(): Promise<BareApiserver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-bare-apiserver-'));
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await stopGroup(p.pid);
    // the logs stay for a post-mortem; the data and keys go
    for (const d of ['etcd', 'pki', 'admin.kubeconfig']) fs.rmSync(path.join(dir, d), { recursive: true, force: true });
  };
  try {
    const [etcdC, etcdP, ap] = await freePorts(3) as [number, number, number];
    const pki = makePki(path.join(dir, 'pki'));
    const tls = { ca: fs.readFileSync(pki.ca, 'utf8'), cert: fs.readFileSync(pki.adminCert, 'utf8'), key: fs.readFileSync(pki.adminKey, 'utf8') };
    const etcd = start('etcd', path.join(BIN, 'etcd'), etcdArgs(path.join(dir, 'etcd'), etcdC, etcdP), logs);
    procs.push(etcd);
    await waitFor(etcd, 'healthy', async () => (await get(`http://127.0.0.1:${etcdC}/health`)).body.includes('"health":"true"'), 30_000);
    const apiserver = start('kube-apiserver', path.join(BIN, 'kube-apiserver'), apiserverArgs({ etcdPort: etcdC, port: ap, certDir: path.join(dir, 'pki'), pki }), logs);
    procs.push(apiserver);
    const server = `https://127.0.0.1:${ap}`;
    await waitFor(apiserver, 'ready (/readyz)', async () => (await get(`${server}/readyz`, tls)).status === 200, 180_000);
    const file = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(file, kubeconfig(server, tls.ca, { certPem: tls.cert, keyPem: tls.key }, 'bare-admin'));
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return { kubeconfig: file, admin: await KubeRest.fromKubeConfig(kc), logs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
