// The external trigger against a real gRPC external scaler started here, written the way a KEDA user
// writes one: @grpc/grpc-js serving externalscaler.proto, reporting the length of an in-memory queue.
// What comes out (value, activity, metric name, target), what the scaler receives, and how failures read:
// server down, an error status, a server slower than the pass allows, TLS with and without client certificates.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { fromJSON, loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { EXTERNAL_SCALER_DESCRIPTOR } from '../../src/scalers/external.ts';
import { createScaler } from '../../src/scalers/registry.ts';
import { ScalerConfigError, type Scaler, type ScalerContext } from '../../src/scalers/types.ts';
import { makeTestPki, type TestPki } from '../helpers/pki.ts';
import { closedPort, rejection, scalerFactory, runScript } from '../helpers/scalers.ts';

const PROTO = fileURLToPath(new URL('../../src/scalers/externalscaler.proto', import.meta.url));
const REGISTRY = fileURLToPath(new URL('../../src/scalers/registry.ts', import.meta.url));

// ---------------------------------------------------------------------------------------------------
// The user's external scaler

interface Ref {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}

const queues = new Map<string, string[]>();
const seen: Array<{ method: string; ref: Ref; metricName?: string }> = [];
const slowTimers = new Set<NodeJS.Timeout>();
/** queues whose GetMetricSpec the server refuses from now on, as a server that renamed its metric does */
const refusedSpecs = new Set<string>();
let cancelledCalls = 0;

function depth(ref: Ref): number {
  return queues.get(ref.scalerMetadata.queue ?? '')?.length ?? 0;
}

type Callback = grpc.sendUnaryData<unknown>;
type Call = grpc.ServerUnaryCall<unknown, unknown>;

/** The metadata drives the scaler, as KEDA users do: queue, targetSize, activationLength, and test-only modes. */
const implementation = {
  GetMetricSpec(call: Call, cb: Callback) {
    const ref = call.request as Ref;
    seen.push({ method: 'GetMetricSpec', ref });
    const md = ref.scalerMetadata;
    if (md.mode === 'no-spec') return cb(null, { metricSpecs: [] });
    if (md.mode === 'two-specs') return cb(null, { metricSpecs: [{ metricName: 'a', targetSize: 1 }, { metricName: 'b', targetSize: 1 }] });
    if (md.mode === 'spec-error' || refusedSpecs.has(md.queue ?? '')) return cb({ code: grpc.status.NOT_FOUND, details: `no queue named ${md.queue}` });
    const spec = md.targetFloat
      ? { metricName: `${md.queue}.length`, targetSize: 9, targetSizeFloat: Number(md.targetFloat) }
      : { metricName: `${md.queue}.length`, targetSize: Number(md.targetSize ?? 0) };
    cb(null, { metricSpecs: [spec] });
  },
  GetMetrics(call: Call, cb: Callback) {
    const req = call.request as { scaledObjectRef: Ref; metricName: string };
    const md = req.scaledObjectRef.scalerMetadata;
    seen.push({ method: 'GetMetrics', ref: req.scaledObjectRef, metricName: req.metricName });
    if (md.mode === 'error') return cb({ code: grpc.status.INTERNAL, details: 'queue backend unreachable' });
    if (md.mode === 'slow') {
      call.on('cancelled', () => cancelledCalls++);
      const t = setTimeout(() => {
        slowTimers.delete(t);
        cb(null, { metricValues: [{ metricName: req.metricName, metricValue: depth(req.scaledObjectRef) }] });
      }, 5000);
      slowTimers.add(t);
      return;
    }
    if (md.mode === 'no-values') return cb(null, { metricValues: [] });
    if (md.mode === 'float') return cb(null, { metricValues: [{ metricName: req.metricName, metricValue: 1, metricValueFloat: depth(req.scaledObjectRef) + 0.25 }] });
    if (md.mode === 'per-partition') {
      return cb(null, { metricValues: [3, -4, 5].map((v) => ({ metricName: req.metricName, metricValue: v })) });
    }
    cb(null, { metricValues: [{ metricName: req.metricName, metricValue: depth(req.scaledObjectRef) }] });
  },
  IsActive(call: Call, cb: Callback) {
    const ref = call.request as Ref;
    seen.push({ method: 'IsActive', ref });
    cb(null, { result: depth(ref) > Number(ref.scalerMetadata.activationLength ?? 0) });
  },
  StreamIsActive(call: grpc.ServerWritableStream<unknown, unknown>) {
    call.end();
  },
};

function userPackage(): PackageDefinition {
  return loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
}

async function serve(creds: grpc.ServerCredentials): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  const proto = grpc.loadPackageDefinition(userPackage()) as unknown as { externalscaler: { ExternalScaler: grpc.ServiceClientConstructor } };
  server.addService(proto.externalscaler.ExternalScaler.service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { server, address: `127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------------
// TLS material: a CA, a server certificate for 127.0.0.1, a client certificate

let tlsDir = '';
let pki: TestPki;

// ---------------------------------------------------------------------------------------------------

const servers: grpc.Server[] = [];
const { scaler, read, open } = scalerFactory('external', { metadata: () => ({ scalerAddress: address }), readTimeoutMs: 5000 });
let address = '';
let tlsAddress = '';
let mtlsAddress = '';

before(async () => {
  const plain = await serve(grpc.ServerCredentials.createInsecure());
  address = plain.address;
  servers.push(plain.server);
  pki = makeTestPki('external-scaler-tls');
  tlsDir = pki.dir;
  const tls = await serve(grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(pki.serverKey), cert_chain: Buffer.from(pki.serverCert) }], false));
  tlsAddress = tls.address;
  servers.push(tls.server);
  const mtls = await serve(grpc.ServerCredentials.createSsl(Buffer.from(pki.ca), [{ private_key: Buffer.from(pki.serverKey), cert_chain: Buffer.from(pki.serverCert) }], true));
  mtlsAddress = mtls.address;
  servers.push(mtls.server);
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const t of slowTimers) clearTimeout(t);
  for (const s of servers) s.forceShutdown();
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

function failure(s: Scaler, signal?: AbortSignal) {
  return rejection(() => read(s, signal), 'the measurement succeeded');
}

function ctx(metadata: Record<string, string> = {}): ScalerContext {
  return { namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0, trigger: { type: 'external', metadata }, authParams: {}, resolvedEnv: {}, now: 0, signal: AbortSignal.timeout(5000) };
}

function fill(queue: string, n: number): void {
  queues.set(queue, Array.from({ length: n }, (_, i) => `job-${i}`));
}

describe('external: value, activity, metric name and target', () => {
  it('scales on the queue length the scaler reports: 7 jobs, target 2 -> value 7, active', async () => {
    fill('orders', 7);
    const s = scaler({ queue: 'orders', targetSize: '2' });
    assert.deepEqual(await read(s), { value: 7, active: true });
    assert.deepEqual(s.spec, { metricName: 's0-orders.length', metricType: 'AverageValue', target: 2, activationTarget: 0 });
  });

  it('takes the metric name from GetMetricSpec unchanged (no normalisation), prefixed s<index>-', async () => {
    fill('eu/orders:v2', 1);
    const s = scaler({ queue: 'eu/orders:v2', targetSize: '1' }, { triggerIndex: 3 });
    await read(s);
    assert.equal(s.spec.metricName, 's3-eu/orders:v2.length');
  });

  it('knows the metric name and target once GetMetricSpec answered: s<index>-external and 0 before', async () => {
    const s = scaler({ queue: 'orders', targetSize: '2' }, { triggerIndex: 1 });
    assert.equal(s.spec.metricName, 's1-external');
    assert.equal(s.spec.target, 0);
    seen.length = 0;
    await s.learnSpec!(ctx());
    assert.deepEqual(seen.map((x) => x.method), ['GetMetricSpec'], 'learning the spec reads no value');
    assert.equal(s.spec.metricName, 's1-orders.length');
    assert.equal(s.spec.target, 2);
  });

  it('a value that cannot be read after GetMetricSpec answered leaves the learned name and target in place', async () => {
    const s = scaler({ queue: 'orders', targetSize: '2', mode: 'error' });
    await s.learnSpec!(ctx());
    await assert.rejects(s.measure(ctx()), /GetMetrics: INTERNAL/);
    assert.equal(s.spec.metricName, 's0-orders.length');
    assert.equal(s.spec.target, 2);
  });

  it('a GetMetricSpec that fails after one that answered leaves the spec unknown, not stale', async () => {
    const s = scaler({ queue: 'renamed', targetSize: '2' });
    await s.learnSpec!(ctx());
    assert.equal(s.spec.target, 2);
    refusedSpecs.add('renamed');
    try {
      await assert.rejects(s.learnSpec!(ctx()), /GetMetricSpec: NOT_FOUND/);
    } finally {
      refusedSpecs.delete('renamed');
    }
    assert.deepEqual({ name: s.spec.metricName, target: s.spec.target }, { name: 's0-external', target: 0 });
    await assert.rejects(s.measure(ctx()), /the metric to read is not known/);
  });

  it('refuses to read a value before the metric spec is known, naming the missing step', async () => {
    await assert.rejects(scaler({ queue: 'orders', targetSize: '2' }).measure(ctx()), /the metric to read is not known: learnSpec \(GetMetricSpec\) must succeed before measure/);
  });

  it('follows a target the scaler changes between passes', async () => {
    fill('orders', 7);
    const s = scaler({ queue: 'orders', targetSize: '2' });
    await read(s);
    assert.equal(s.spec.target, 2);
    const t = scaler({ queue: 'orders', targetSize: '4' });
    await read(t);
    assert.equal(t.spec.target, 4);
  });

  it('activity is the scaler\'s IsActive answer: inactive at 3 jobs with its threshold 3, active at 4', async () => {
    fill('billing', 3);
    const s = scaler({ queue: 'billing', targetSize: '5', activationLength: '3' });
    assert.deepEqual(await read(s), { value: 3, active: false });
    fill('billing', 4);
    assert.deepEqual(await read(s), { value: 4, active: true });
  });

  it('an empty queue reads 0 and inactive', async () => {
    queues.set('idle', []);
    assert.deepEqual(await read(scaler({ queue: 'idle', targetSize: '5' })), { value: 0, active: false });
  });

  it('prefers targetSizeFloat and metricValueFloat over the deprecated integers when they are > 0', async () => {
    fill('floaty', 2);
    const s = scaler({ queue: 'floaty', targetFloat: '2.5', mode: 'float' });
    assert.deepEqual(await read(s), { value: 2.25, active: true });
    assert.equal(s.spec.target, 2.5);
  });

  it('sums several values for the metric, as the HPA does, each negative one counting 0', async () => {
    const s = scaler({ queue: 'orders', targetSize: '1', mode: 'per-partition' });
    assert.equal((await read(s)).value, 8);
  });

  it('carries metricType into the spec', async () => {
    const s = createScaler({
      namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0,
      trigger: { type: 'external', metricType: 'Value', metadata: { scalerAddress: address, queue: 'orders', targetSize: '2' } },
      authParams: {}, resolvedEnv: {},
    });
    open.push(s);
    await read(s);
    assert.equal(s.spec.metricType, 'Value');
  });
});

describe('external: what the scaler receives', () => {
  it('the ScaledObject name and namespace, every metadata key, FromEnv keys resolved, no authentication parameters', async () => {
    seen.length = 0;
    const s = scaler(
      { queue: 'orders', targetSize: '2', connectionFromEnv: 'QUEUE_URL', tokenFromEnv: 'UNSET_VAR', emptyFromEnv: 'EMPTY_VAR', unsafeSsl: 'false' },
      { authParams: { caCert: '' , apiToken: 'auth-secret' }, resolvedEnv: { QUEUE_URL: 'amqp://queue:5672', EMPTY_VAR: '' } },
    );
    await read(s);
    assert.deepEqual(seen.map((x) => x.method), ['GetMetricSpec', 'GetMetrics', 'IsActive']);
    for (const x of seen) {
      assert.equal(x.ref.name, 'worker');
      assert.equal(x.ref.namespace, 'shop');
      assert.deepEqual(x.ref.scalerMetadata, {
        scalerAddress: address, queue: 'orders', targetSize: '2', unsafeSsl: 'false', connectionFromEnv: 'amqp://queue:5672',
      });
    }
  });

  it('asks GetMetrics for the metric by the scaler\'s own name, without the s<index>- prefix', async () => {
    seen.length = 0;
    await read(scaler({ queue: 'orders', targetSize: '2' }, { triggerIndex: 4 }));
    assert.equal(seen.find((x) => x.method === 'GetMetrics')?.metricName, 'orders.length');
  });

  it('triggers sharing an address share one channel: closing one leaves the other working', async () => {
    fill('orders', 5);
    const a = scaler({ queue: 'orders', targetSize: '1' });
    const b = scaler({ queue: 'orders', targetSize: '1' });
    await read(a);
    await read(b);
    await a.close();
    assert.deepEqual(await read(b), { value: 5, active: true });
  });
});

describe('external: failures', () => {
  it('a scaler that is down is reported with its address, quickly, well within the timeout', async () => {
    const port = await closedPort();
    const { message, ms } = await failure(scaler({ scalerAddress: `127.0.0.1:${port}`, queue: 'orders' }), AbortSignal.timeout(5000));
    assert.match(message, new RegExp(`external scaler 127\\.0\\.0\\.1:${port}: GetMetricSpec: UNAVAILABLE`));
    assert.ok(ms < 4000, `took ${ms} ms`);
  });

  it('an error status from GetMetrics is shown with its code and details', async () => {
    const { message } = await failure(scaler({ queue: 'orders', targetSize: '2', mode: 'error' }));
    assert.match(message, /GetMetrics: INTERNAL: queue backend unreachable/);
  });

  it('an error status from GetMetricSpec is shown with its code and details', async () => {
    const { message } = await failure(scaler({ queue: 'nope', mode: 'spec-error' }));
    assert.match(message, /GetMetricSpec: NOT_FOUND: no queue named nope/);
  });

  it('a scaler slower than the pass allows is abandoned when the signal fires, and the call is cancelled', async () => {
    const before = cancelledCalls;
    const { message, ms } = await failure(scaler({ queue: 'orders', targetSize: '2', mode: 'slow' }), AbortSignal.timeout(300));
    assert.match(message, /GetMetrics: aborted \(.*timeout/i);
    assert.ok(ms < 2000, `took ${ms} ms`);
    for (let i = 0; i < 50 && cancelledCalls === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelledCalls, before + 1, 'the server saw no cancellation');
  });

  it('a signal that has already fired makes no call', async () => {
    seen.length = 0;
    const { message } = await failure(scaler({ queue: 'orders', targetSize: '2' }), AbortSignal.abort(new Error('pass deadline')));
    assert.match(message, /aborted \(pass deadline\)/);
    assert.equal(seen.length, 0);
  });

  it('an empty metric spec list is an error, as in KEDA: got empty metric spec', async () => {
    assert.match((await failure(scaler({ queue: 'orders', mode: 'no-spec' }))).message, /got empty metric spec/);
  });

  it('several metric specs are refused, naming them: one trigger scales on one metric here', async () => {
    assert.match((await failure(scaler({ queue: 'orders', mode: 'two-specs' }))).message, /returned 2 metric specs \("a", "b"\)/);
  });

  it('a spec without a target is an error, unless the trigger only feeds a scalingModifiers formula', async () => {
    fill('orders', 7);
    assert.match((await failure(scaler({ queue: 'orders' }))).message, /metric "orders.length" without a target/);
    assert.deepEqual(await read(scaler({ queue: 'orders' }, { asMetricSource: true })), { value: 7, active: true });
  });

  it('no values for the metric is an error', async () => {
    assert.match((await failure(scaler({ queue: 'orders', targetSize: '1', mode: 'no-values' }))).message, /returned no value for metric "orders.length"/);
  });
});

describe('external: TLS', () => {
  it('verifies the server against caCert and presents tlsClientCert/tlsClientKey to a server that requires them', async () => {
    fill('orders', 6);
    const s = scaler({ scalerAddress: mtlsAddress, queue: 'orders', targetSize: '3' },
      { authParams: { caCert: pki.ca, tlsClientCert: pki.clientCert, tlsClientKey: pki.clientKey } });
    assert.deepEqual(await read(s), { value: 6, active: true });
  });

  it('enableTLS alone refuses an unknown server certificate; with unsafeSsl it connects', async () => {
    fill('orders', 6);
    const refused = await failure(scaler({ scalerAddress: tlsAddress, queue: 'orders', targetSize: '3', enableTLS: 'true' }));
    assert.match(refused.message, /UNAVAILABLE/);
    assert.deepEqual(await read(scaler({ scalerAddress: tlsAddress, queue: 'orders', targetSize: '3', enableTLS: 'true', unsafeSsl: 'true' })), { value: 6, active: true });
  });

  it('caCert alone turns TLS on, as in KEDA', async () => {
    fill('orders', 2);
    assert.deepEqual(await read(scaler({ scalerAddress: tlsAddress, queue: 'orders', targetSize: '3' }, { authParams: { caCert: pki.ca } })), { value: 2, active: true });
  });

  it('a server requiring a client certificate refuses one without, and the error never shows the key', async () => {
    const s = scaler({ scalerAddress: mtlsAddress, queue: 'orders', targetSize: '3' }, { authParams: { caCert: pki.ca, tlsClientKey: pki.clientKey } });
    const { message } = await failure(s);
    assert.match(message, /UNAVAILABLE/);
    assert.ok(!message.includes(pki.clientKey.split('\n')[1]!), `the error shows the key: ${message}`);
  });

  it('plaintext to a TLS server fails clearly', async () => {
    assert.match((await failure(scaler({ scalerAddress: tlsAddress, queue: 'orders', targetSize: '3' }))).message, /UNAVAILABLE/);
  });
});

describe('external: configuration errors', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, string]> = [
    ['no scalerAddress', { scalerAddress: '' }, {}, 'scalerAddress'],
    ['enableTLS that is not a boolean', { enableTLS: 'yes' }, {}, 'enableTLS'],
    ['unsafeSsl that is not a boolean', { unsafeSsl: 'maybe' }, {}, 'unsafeSsl'],
    ['a client certificate and key that are not PEM', {}, { tlsClientCert: 'not a cert', tlsClientKey: 'PRIVATE-KEY-MATERIAL' }, 'tlsClientCert'],
  ];
  for (const [what, md, auth, field] of cases) {
    it(`refuses ${what}, naming the field "${field}"`, () => {
      assert.throws(() => scaler(md, { authParams: auth }), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field);
        assert.ok(e.message.includes(field), e.message);
        assert.ok(!e.message.includes('PRIVATE-KEY-MATERIAL'), `the error shows the key: ${e.message}`);
        return true;
      });
    });
  }

  it('reads caCert, tlsClientCert and tlsClientKey only from the TriggerAuthentication, like KEDA', async () => {
    fill('orders', 1);
    // in metadata they are just more keys for the scaler: the channel stays plaintext
    assert.deepEqual(await read(scaler({ queue: 'orders', targetSize: '1', caCert: 'ignored' })), { value: 1, active: true });
  });
});

describe('external: the protocol definition', () => {
  it('the descriptor built into scalepass is externalscaler.proto, message by message and method by method', () => {
    const fromProto = userPackage();
    const builtIn = fromJSON(EXTERNAL_SCALER_DESCRIPTOR as unknown as Parameters<typeof fromJSON>[0], { keepCase: true, longs: Number, defaults: true });
    assert.deepEqual(Object.keys(builtIn).sort(), Object.keys(fromProto).sort());
    for (const [name, def] of Object.entries(fromProto)) {
      if ('type' in def) {
        assert.deepEqual((builtIn[name] as typeof def).type, def.type, name);
      } else {
        const service = def as grpc.ServiceDefinition;
        const other = builtIn[name] as grpc.ServiceDefinition;
        for (const [m, md] of Object.entries(service)) {
          const o = other[m]!;
          assert.deepEqual([o.path, o.requestStream, o.responseStream], [md.path, md.requestStream, md.responseStream], `${name}.${m}`);
        }
        assert.deepEqual(Object.keys(other).sort(), Object.keys(service).sort());
      }
    }
  });
});

describe('external: the run ends', () => {
  it('a process that measured through the external scaler and closed it exits by itself', async () => {
    fill('orders', 3);
    const script = `
      const { createScaler } = await import(${JSON.stringify(REGISTRY)});
      const s = createScaler({ namespace: 'shop', scaledObjectName: 'worker', triggerIndex: 0,
        trigger: { type: 'external', metadata: { scalerAddress: ${JSON.stringify(address)}, queue: 'orders', targetSize: '1' } }, authParams: {}, resolvedEnv: {} });
      await s.learnSpec({ signal: AbortSignal.timeout(5000) });
      const r = await s.measure({ signal: AbortSignal.timeout(5000) });
      await s.close();
      console.log(JSON.stringify(r));
    `;
    const { code, stdout: out, stderr: err } = await runScript(script);
    assert.notEqual(code, null, `the process was still running 10 s after close(); stderr: ${err}`);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out), { value: 3, active: true });
  });
});
