// Throwaway PKI for one harness run, made with Debian's openssl: a CA, the apiserver's serving cert,
// an admin client cert (O=system:masters) and the service-account signing key pair.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

function ossl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`harness: openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

function signed(dir: string, name: string, subj: string, ext: string): void {
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subj, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

export function makePki(dir: string): Pki {
  fs.mkdirSync(dir, { recursive: true });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=scalepass-harness-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  signed(dir, 'apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'admin', '/O=system:masters/CN=harness-admin', 'extendedKeyUsage=clientAuth\n');
  ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  ossl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const p = (f: string) => path.join(dir, f);
  return {
    dir, ca: p('ca.crt'), caKey: p('ca.key'), serverCert: p('apiserver.crt'), serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'), saKey: p('sa.key'), saPub: p('sa.pub'),
  };
}

export function kubeconfig(server: string, caPem: string, user: { token?: string; certPem?: string; keyPem?: string }, name = 'harness'): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const u = user.token
    ? { token: user.token }
    : { 'client-certificate-data': b64(user.certPem!), 'client-key-data': b64(user.keyPem!) };
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': name,
    clusters: [{ name: 'harness', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name, user: u }],
    contexts: [{ name, context: { cluster: 'harness', user: name } }],
  }, null, 2);
}
