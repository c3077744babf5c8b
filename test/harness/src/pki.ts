// Throwaway PKI for one harness run, made with Debian's openssl: a CA, the apiserver's serving cert,
// an admin client cert (O=system:masters), the service-account signing key pair, metrics-server's
// serving cert, and the aggregation layer's front-proxy CA with the apiserver's proxy client cert.
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
  /** metrics-server's serving cert: the aggregator checks it against the APIService's Service DNS name */
  metricsServerCert: string;
  metricsServerKey: string;
  /** the aggregation layer: requestheader client CA and the apiserver's client cert towards extension servers */
  frontProxyCa: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
}

/** Name the aggregator expects on metrics-server's certificate: <service>.<namespace>.svc. */
export const METRICS_SERVER_DNS = 'metrics-server.kube-system.svc';

function ossl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`harness: openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

function signed(dir: string, name: string, subj: string, ext: string, ca = 'ca'): void {
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subj, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '30', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.crt`], dir);
}

export function makePki(dir: string): Pki {
  fs.mkdirSync(dir, { recursive: true });
  selfSignedCa(dir, 'ca', 'scalepass-harness-ca');
  signed(dir, 'apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'admin', '/O=system:masters/CN=harness-admin', 'extendedKeyUsage=clientAuth\n');
  signed(dir, 'metrics-server', '/CN=metrics-server', `subjectAltName=DNS:${METRICS_SERVER_DNS},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  // A CA of its own, as in kubeadm: only certs it signs may assert X-Remote-User to extension servers.
  selfSignedCa(dir, 'front-proxy-ca', 'scalepass-harness-front-proxy-ca');
  signed(dir, 'front-proxy-client', '/CN=front-proxy-client', 'extendedKeyUsage=clientAuth\n', 'front-proxy-ca');
  ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  ossl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const p = (f: string) => path.join(dir, f);
  return {
    dir, ca: p('ca.crt'), caKey: p('ca.key'), serverCert: p('apiserver.crt'), serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'), saKey: p('sa.key'), saPub: p('sa.pub'),
    metricsServerCert: p('metrics-server.crt'), metricsServerKey: p('metrics-server.key'),
    frontProxyCa: p('front-proxy-ca.crt'), frontProxyClientCert: p('front-proxy-client.crt'), frontProxyClientKey: p('front-proxy-client.key'),
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
