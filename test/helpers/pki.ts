// Throwaway certificates for TLS tests against real servers, made with the openssl CLI:
// a CA, a server certificate for 127.0.0.1 and a client certificate it signed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  /** holds every file; the caller removes it */
  dir: string;
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** path of a file in dir */
  file(name: string): string;
  /** runs the openssl CLI in dir */
  openssl(...args: string[]): Buffer;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed CA, written to <name>.crt / <name>.key in dir. */
export function makeCa(p: Pick<TestPki, 'file' | 'openssl'>, name: string, cn: string): void {
  p.openssl('req', '-x509', ...EC, '-keyout', p.file(`${name}.key`), '-out', p.file(`${name}.crt`), '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

export function makeTestPki(prefix: string): TestPki {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    assert.fail('the openssl CLI is required to make certificates (bash test/harness/install-system.sh installs it)');
  }
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  makeCa({ file, openssl }, 'ca', `${prefix}-ca`);
  for (const [who, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    writeFileSync(file(`${who}.ext`), `${ext}\n`);
    openssl('req', ...EC, '-keyout', file(`${who}.key`), '-out', file(`${who}.csr`), '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'scalepass-client'}`);
    openssl('x509', '-req', '-in', file(`${who}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${who}.crt`), '-days', '2', '-extfile', file(`${who}.ext`));
  }
  const r = (name: string) => readFileSync(file(name), 'utf8');
  return { dir, file, openssl, ca: r('ca.crt'), serverKey: r('server.key'), serverCert: r('server.crt'), clientKey: r('client.key'), clientCert: r('client.crt') };
}
