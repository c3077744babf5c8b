// The container image: `npm run image` (no Docker) twice to the same digest, its config and
// contents as a user pulls them, and the unpacked image run as the shipped CronJob's pod would be
// (entrypoint from the image config, uid 65532, read-only root, the ServiceAccount and config
// volumes): `--version`, then a real pass that scales a Deployment on the local control plane and
// flushes its metrics to the collector, with nothing from the repo beside it.
//
// Running it "as a kubelet would": there is no container runtime here, so test/helpers/image-run.ts
// does what one does with mount, PID and UTS namespaces, an overlay of the layers and unshare's
// chroot + setgid/setuid. The network is the host's (the control plane and collector are on its
// 127.0.0.1).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { harness, type Harness } from '../helpers/harness.ts';
import { install, ROOT, SYSTEM_NS } from '../helpers/install.ts';
import { create, deployment, scaledObject, specReplicas, type PassJson } from '../helpers/fixtures.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import { readImage, unpackLayers, listTree, type OciImage } from '../helpers/oci-image.ts';
import { runImage, type ImageRunOptions } from '../helpers/image-run.ts';
import { ENTRYPOINT, LAYERS, USER, WORKDIR } from '../../scripts/image/spec.ts';

const run = promisify(execFile);
const SOURCE = 'https://example.invalid/scalepass';
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const MiB = 1 << 20;

interface Summary { digest: string; uncompressedBytes: number; compressedBytes: number; layers: { name: string; uncompressedBytes: number; compressedBytes: number }[]; debian: { name: string; version: string }[]; seconds: number }
interface Build { out: string; digest: string; summary: Summary; ms: number }

/** `npm run image` from the repo, as a user runs it, into its own output directory. */
async function buildImage(out: string): Promise<Build> {
  const env: NodeJS.ProcessEnv = { ...process.env, SCALEPASS_IMAGE_OUT: out, SCALEPASS_IMAGE_SOURCE: SOURCE };
  // the test runner's own variables would make the child a test process
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const t0 = Date.now();
  const { stdout } = await run('npm', ['run', '--silent', 'image'], { cwd: ROOT, env, maxBuffer: 16 << 20, timeout: 600_000 });
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Summary;
  return { out, digest: stdout.trim().split('\n').at(-1)!, summary, ms: Date.now() - t0 };
}

/** Every blob of a layout, by name, with its sha256. */
function blobs(layout: string): Record<string, string> {
  const dir = path.join(layout, 'blobs/sha256');
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}

const isElf = (file: string): boolean => {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(4);
  fs.readSync(fd, b, 0, 4, 0);
  fs.closeSync(fd);
  return b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
};

describe('container image', () => {
  let h: Harness;
  let tmp: string;
  let builds: Build[];
  let layout: string;
  let image: OciImage;
  let layers: string[];
  let src: MetricsServer;
  /** the shipped CronJob's container and pod security context */
  let pod: { args: string[]; runAsUser: number; runAsGroup: number; readOnlyRootFilesystem: boolean; configMountPath: string };

  before(async () => {
    h = await harness();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-image-'));
    // one after the other: the second reuses the downloaded .debs, assembles everything again
    builds = [];
    for (const n of [1, 2]) builds.push(await buildImage(path.join(tmp, `build-${n}`)));
    layout = path.join(builds[0]!.out, 'oci');
    image = await readImage(layout);
    layers = unpackLayers(layout, image, path.join(tmp, 'layers'));
    src = await startMetricsServer(0);
    const cj = loadYaml(fs.readFileSync(path.join(ROOT, 'kustomize/base/cronjob.yaml'), 'utf8')) as {
      spec: { jobTemplate: { spec: { template: { spec: {
        securityContext: { runAsUser: number; runAsGroup: number };
        containers: { args: string[]; securityContext: { readOnlyRootFilesystem: boolean }; volumeMounts: { name: string; mountPath: string }[] }[];
      } } } } } };
    const ps = cj.spec.jobTemplate.spec.template.spec;
    const c = ps.containers[0]!;
    pod = { args: c.args, runAsUser: ps.securityContext.runAsUser, runAsGroup: ps.securityContext.runAsGroup,
      readOnlyRootFilesystem: c.securityContext.readOnlyRootFilesystem, configMountPath: c.volumeMounts.find((v) => v.name === 'config')!.mountPath };
  });
  after(async () => {
    await src?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The image run as the CronJob's container: its uid/gid, the image's entrypoint. */
  const asPod = (o: Partial<ImageRunOptions>) => runImage({ layers, config: image.config, uid: pod.runAsUser, gid: pod.runAsGroup, ...o });

  it('npm run image builds without Docker, twice to the same digest and the same bytes', () => {
    const [a, b] = builds as [Build, Build];
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(b.digest, a.digest, 'same commit, same Debian packages: same digest');
    assert.equal(image.digest, a.digest, 'the layout holds the image the build printed');
    assert.deepEqual(blobs(path.join(b.out, 'oci')), blobs(layout), 'every blob identical');
    assert.deepEqual(b.summary.debian, a.summary.debian);
    for (const p of ['libc6', 'libstdc++6', 'libgcc-s1', 'ca-certificates', 'tzdata']) assert.ok(a.summary.debian.some((d) => d.name === p), `${p} recorded`);
    // what README "Image" states; Node itself is 103.6 MiB of it
    assert.ok(a.summary.uncompressedBytes < 125 * MiB, `uncompressed ${(a.summary.uncompressedBytes / MiB).toFixed(1)} MiB`);
    assert.ok(a.summary.compressedBytes < 48 * MiB, `to pull ${(a.summary.compressedBytes / MiB).toFixed(1)} MiB`);
    const app = a.summary.layers.find((l) => l.name === 'app')!;
    assert.ok(app.compressedBytes < 4 * MiB, 'a new version of scalepass is a small layer on top');
    process.stderr.write(`image builds: ${builds.map((x) => `${(x.ms / 1000).toFixed(1)} s`).join(', ')}; ${(a.summary.uncompressedBytes / MiB).toFixed(1)} MiB, ${(a.summary.compressedBytes / MiB).toFixed(1)} MiB to pull\n`);
  });

  it('its config: node dist/run.js as the entrypoint, the non-root uid the CronJob runs as, OCI labels', () => {
    const c = image.config;
    assert.equal(image.manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(c.os, 'linux');
    assert.deepEqual(c.config.Entrypoint, [...ENTRYPOINT]);
    assert.deepEqual(c.config.Entrypoint, ['/usr/local/bin/node', '/app/dist/run.js']);
    assert.equal(c.config.Cmd, undefined, 'arguments come from the pod (the CronJob passes --config)');
    assert.equal(c.config.WorkingDir, WORKDIR);
    assert.equal(c.config.User, `${pod.runAsUser}:${pod.runAsGroup}`, 'numeric, so runAsNonRoot can be checked without a passwd lookup');
    assert.equal(USER.uid, pod.runAsUser);
    const l = c.config.Labels ?? {};
    assert.equal(l['org.opencontainers.image.version'], pkg.version);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    assert.equal(l['org.opencontainers.image.revision'], dirty ? `${head}-dirty` : head);
    assert.equal(l['org.opencontainers.image.source'], SOURCE);
    const commitTime = Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }));
    assert.equal(Date.parse(l['org.opencontainers.image.created']!), commitTime * 1000, 'the commit\'s time, not the build\'s');
  });

  it('its root filesystem: Node, the libraries it loads, CA certificates, zoneinfo, dist/; nothing else from the repo, nothing secret', () => {
    const tree = listTree(layers);
    const allowed = [/^app(\/dist(\/[\w.-]+\.js|\/package\.json)?)?$/, /^etc(\/(passwd|group|nsswitch\.conf|ssl|ssl\/certs|ssl\/certs\/ca-certificates\.crt))?$/,
      /^lib(64)?(\/.*)?$/, /^usr(\/lib(\/x86_64-linux-gnu|\/aarch64-linux-gnu)?(\/lib[\w+.-]+\.so[\d.]*)?)?$/, /^usr\/share(\/zoneinfo(\/.*)?|\/doc(\/[\w+.-]+(\/copyright)?)?)?$/,
      /^usr\/local(\/bin(\/node)?|\/share(\/doc(\/node(\/LICENSE)?)?)?)?$/, /^var(\/lib(\/dpkg(\/status\.d(\/[\w+.-]+)?)?)?)?$/, /^tmp$/];
    const unexpected = [...tree.keys()].filter((p) => !allowed.some((re) => re.test(p)));
    assert.deepEqual(unexpected, [], 'paths outside the image\'s layout');
    for (const p of ['usr/local/bin/node', 'etc/ssl/certs/ca-certificates.crt', 'usr/share/zoneinfo/Europe/Berlin', 'etc/passwd', 'app/dist/run.js', 'lib64/ld-linux-x86-64.so.2'] ) {
      assert.ok(tree.has(p), `${p} missing`);
    }
    assert.match(fs.readFileSync(tree.get('etc/passwd')!.file, 'utf8'), new RegExp(`^${USER.name}:x:${USER.uid}:${USER.gid}:`, 'm'));
    assert.equal(tree.get('tmp')!.st.mode & 0o7777, 0o1777);
    for (const [p, { st }] of tree) {
      assert.equal(st.uid, 0, `${p} owned by root`);
      assert.equal(st.mode & 0o6000, 0, `${p}: no setuid/setgid bit`);
      if (!st.isDirectory() && !st.isSymbolicLink()) assert.equal(st.mode & 0o022, 0, `${p} writable only by its owner`);
    }

    // app/dist is dist/'s JavaScript, byte for byte (no source maps: they embed the sources)
    const dist = path.join(ROOT, 'dist');
    const want = fs.readdirSync(dist).filter((f) => f.endsWith('.js') || f === 'package.json').sort();
    const got = [...tree.keys()].filter((p) => p.startsWith('app/dist/')).map((p) => p.slice('app/dist/'.length)).sort();
    assert.deepEqual(got, want);
    for (const f of want) assert.ok(fs.readFileSync(path.join(dist, f)).equals(fs.readFileSync(tree.get(`app/dist/${f}`)!.file)), `app/dist/${f} differs from dist/${f}`);

    // no file of the repo itself (sources, tests, kustomize, schemas...) is in the image
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    const tracked = new Map(execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)
      .filter((f) => fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).isFile() && fs.statSync(path.join(ROOT, f)).size > 0)
      .map((f) => [sha(fs.readFileSync(path.join(ROOT, f))), f]));
    // the harness's private keys (pki/), kubeconfigs and tokens
    const harnessSecrets = [h.state.dir, path.join(h.state.dir, 'pki')].filter((d) => fs.existsSync(d)).flatMap((d) => fs.readdirSync(d)
      .filter((f) => /\.(key|kubeconfig|token)$|^env$/.test(f)).map((f) => path.join(d, f))).filter((f) => fs.statSync(f).isFile());
    assert.ok(harnessSecrets.some((f) => f.endsWith('.key')), `the harness's keys were found: ${harnessSecrets.length} files`);
    const secretHashes = new Set(harnessSecrets.map((f) => sha(fs.readFileSync(f))));
    for (const [p, { file, st }] of tree) {
      if (!st.isFile() || st.size === 0) continue;
      const content = fs.readFileSync(file);
      const hash = sha(content);
      assert.ok(!tracked.has(hash), `${p} is the repo's ${tracked.get(hash)}`);
      assert.ok(!secretHashes.has(hash), `${p} is a key or token of the harness`);
      if (!isElf(file)) assert.ok(!content.includes('PRIVATE KEY-----'), `${p} holds a private key`);
    }
  });

  it('the Dockerfile\'s staging step (scripts/image.ts --stage-only) lays out the image\'s files exactly', async () => {
    const out = path.join(tmp, 'stage');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    await run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'scripts/image.ts'), '--stage-only', out], { cwd: ROOT, env, maxBuffer: 16 << 20 });
    const entriesOf = (dir: string) => [...listTree([dir])].map(([p, { file, st }]) =>
      `${p} ${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? fs.readlinkSync(file) : st.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') : ''}`).sort();
    for (const [i, name] of LAYERS.entries()) assert.deepEqual(entriesOf(path.join(out, name)), entriesOf(layers[i]!), `layer ${name}`);
  });

  it('runs as the CronJob\'s pod: uid 65532 without capabilities, read-only root, a writable /tmp, and the entrypoint answers --version', async () => {
    assert.equal(pod.readOnlyRootFilesystem, true);
    const v = await asPod({ args: ['--version'] });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `scalepass ${pkg.version}\n`);
    // a pod's command override, to look around inside as the process does
    const probe = await asPod({ command: ['/usr/local/bin/node', '-e', `
      const fs = require('node:fs'), os = require('node:os'), tls = require('node:tls');
      let root; try { fs.writeFileSync('/probe', 'x'); root = 'writable'; } catch (e) { root = e.code; }
      fs.writeFileSync('/tmp/probe', 'x');
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), pid: process.pid, cwd: process.cwd(), home: os.homedir(), root,
        capEff: /CapEff:\\s*(\\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1],
        node: process.version, icu: process.versions.icu, openssl: process.versions.openssl,
        systemCAs: tls.getCACertificates('system').length,
        kolkata: new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kolkata', timeStyle: 'short' }).format(new Date(0)),
        env: Object.keys(process.env).sort() }));`] });
    assert.equal(probe.code, 0, probe.stderr);
    const p = JSON.parse(probe.stdout) as Record<string, unknown>;
    assert.equal(p.uid, 65532);
    assert.equal(p.gid, 65532);
    assert.equal(p.pid, 1, 'the entrypoint is PID 1 of its own PID namespace');
    assert.equal(p.cwd, WORKDIR);
    assert.equal(p.home, USER.home);
    assert.equal(p.root, 'EROFS');
    assert.equal(p.capEff, '0000000000000000');
    assert.equal(p.node, process.version, 'the pinned Node, the one the tests run on');
    assert.equal(p.icu, process.versions.icu, 'full ICU kept');
    assert.ok((p.systemCAs as number) > 100, `Debian's CA bundle read as the system store (NODE_USE_SYSTEM_CA): ${p.systemCAs}`);
    assert.equal(p.kolkata, '5:30 AM');
    assert.deepEqual(p.env, ['HOME', 'HOSTNAME', 'PATH'], 'nothing from the test process leaks in');
  });

  it('the unpacked image runs a real pass: the shipped ServiceAccount and config, a Deployment scaled 1 -> 4, the metrics at the collector', async () => {
    await install(h);
    const ns = await h.namespace('e2e-image');
    await create(h, ns, deployment('worker', 1));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, maxReplicaCount: 10,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    src.set(7);

    // the volumes a kubelet mounts: the projected ServiceAccount token, and the ConfigMap
    const sa = fs.mkdtempSync(path.join(tmp, 'sa-'));
    const tr = await h.admin.create<{ status: { token: string } }>(`/api/v1/namespaces/${SYSTEM_NS}/serviceaccounts/scalepass/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    fs.writeFileSync(path.join(sa, 'token'), tr.status.token);
    fs.copyFileSync(h.state.caFile, path.join(sa, 'ca.crt'));
    fs.writeFileSync(path.join(sa, 'namespace'), SYSTEM_NS);
    const cfg = fs.mkdtempSync(path.join(tmp, 'config-'));
    const cm = await h.admin.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${SYSTEM_NS}/configmaps/scalepass-config`);
    fs.writeFileSync(path.join(cfg, 'config.yaml'), cm.data['config.yaml']!);
    for (const d of [sa, cfg]) {
      fs.chmodSync(d, 0o755);
      for (const f of fs.readdirSync(d)) fs.chmodSync(path.join(d, f), 0o644);
    }

    const api = new URL(h.state.apiserver);
    const testRun = crypto.randomUUID();
    const r = await asPod({
      args: pod.args,
      hostname: 'scalepass-29000000-abcde',
      mounts: [{ host: sa, container: '/var/run/secrets/kubernetes.io/serviceaccount' }, { host: cfg, container: pod.configMountPath }],
      env: {
        // what the kubelet sets for every pod, and the CronJob's own env
        KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port,
        POD_NAMESPACE: SYSTEM_NS, OTEL_SERVICE_NAME: 'scalepass', OTEL_EXPORTER_OTLP_ENDPOINT: h.state.otlpEndpoint,
        // this test's: one pass (the ConfigMap says mode period, a run of a minute), only its namespace
        // (the control plane is shared with other suites), the report as JSON, its metrics tagged
        SCALEPASS_MODE: 'once', SCALEPASS_NAMESPACES: ns, SCALEPASS_OUTPUT: 'json', OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${testRun}`,
      },
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const report = JSON.parse(r.stdout) as PassJson;
    assert.deepEqual(report.denied, [], 'RBAC denials');
    const o = report.objects.find((x) => x.namespace === ns && x.name === 'worker');
    assert.equal(o?.triggers[0]?.value, 7, JSON.stringify(o));
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/worker`), 4, `ceil(7 / 2) = 4: ${o?.reason}`);

    const pts = await h.waitForMetrics((ps) => ps.some((p) => p.name === 'keda.scaler.metrics.value' && p.attrs.scaledObject === 'worker'), 15_000,
      (p) => p.resource['scalepass.test.run'] === testRun);
    const value = pts.find((p) => p.name === 'keda.scaler.metrics.value' && p.attrs.scaledObject === 'worker')!;
    assert.equal(value.value, 7);
    assert.equal(value.attrs.namespace, ns);
    assert.equal(value.resource['service.name'], 'scalepass');
  });
});
