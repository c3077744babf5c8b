// Starts (and stops) the real local control plane and telemetry pipeline:
//   etcd -> kube-apiserver (TLS, RBAC, TokenRequest, aggregation layer) -> kube-controller-manager (cronjob, job,
//   deployment, replicaset), kube-scheduler, kwok (3 simulated nodes: pods run, become Ready, Job pods finish,
//   per-node /metrics/resource) and metrics-server (metrics.k8s.io from those endpoints)
//   otelcol-harness (OTLP/HTTP in; JSON lines file + Prometheus exporter out) -> Prometheus (Debian) scraping it
//   nats-server with JetStream and its monitoring endpoint
// State lives in .harness/ at the project root: state.json (pids, ports, paths), env (shell-sourceable), logs/.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.ts';
import { alive, start, stopGroup, waitFor, waitForChain, type Proc } from './proc.ts';
import { kubeconfig, makePki, type Pki } from './pki.ts';
import { apiClient, createNodes, createProbe, NODE_NAMES, probeNodeMetrics, probePodMetrics, probePodReady, registerMetricsApi } from './nodes.ts';
import { get, tcpOpen } from './probe.ts';
import { ensureServices } from './services.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const HARNESS_DIR = process.env.SCALEPASS_HARNESS_DIR ?? path.join(ROOT, '.harness');
export const BIN = path.join(ROOT, 'test/harness/bin');

export interface HarnessState {
  owner: number;
  dir: string;
  startedAt: string;
  pids: { name: string; pid: number }[];
  apiserver: string;
  kubeconfig: string;
  caFile: string;
  adminCertFile: string;
  adminKeyFile: string;
  otlpEndpoint: string;
  /** The same collector's OTLP/gRPC receiver (host:port, plaintext). */
  otlpGrpcEndpoint: string;
  metricsFile: string;
  collectorSelfMetrics: string;
  promExporterUrl: string;
  prometheusUrl: string;
  natsUrl: string;
  natsMonitoringUrl: string;
  etcdEndpoint: string;
  /** the simulated nodes' names (kwok plays their kubelets) */
  nodes: string[];
  /** kwok's server: /metrics/nodes/<node>/metrics/resource per node, /healthz */
  kwokUrl: string;
  services: Record<string, string>;
  timings: Record<string, number>;
}

const STATE = () => path.join(HARNESS_DIR, 'state.json');

export function readState(): HarnessState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE(), 'utf8')) as HarnessState;
  } catch {
    return undefined;
  }
}

/** A running harness answers: every recorded process is alive and the apiserver is ready. */
export async function isUp(s: HarnessState | undefined): Promise<boolean> {
  if (!s || !s.pids.every((p) => alive(p.pid))) return false;
  try {
    const r = await get(`${s.apiserver}/readyz`, tlsOf(s));
    return r.status === 200;
  } catch {
    return false;
  }
}

export function tlsOf(s: HarnessState) {
  return { ca: fs.readFileSync(s.caFile, 'utf8'), cert: fs.readFileSync(s.adminCertFile, 'utf8'), key: fs.readFileSync(s.adminKeyFile, 'utf8') };
}

function writeEnv(s: HarnessState): void {
  const lines = {
    KUBECONFIG: s.kubeconfig,
    OTEL_EXPORTER_OTLP_ENDPOINT: s.otlpEndpoint,
    SCALEPASS_HARNESS_OTLP_GRPC_ENDPOINT: s.otlpGrpcEndpoint,
    SCALEPASS_HARNESS_METRICS_FILE: s.metricsFile,
    PROMETHEUS_URL: s.prometheusUrl,
    SCALEPASS_HARNESS_PROM_EXPORTER_URL: s.promExporterUrl,
    ETCD_ENDPOINT: s.etcdEndpoint,
    NATS_URL: s.natsUrl,
    NATS_MONITORING_URL: s.natsMonitoringUrl,
    REDIS_URL: s.services.redis,
    POSTGRES_URL: s.services.postgresql,
    MYSQL_URL: s.services.mariadb,
    RABBITMQ_URL: s.services.rabbitmq,
    MACHINE_NATS_URL: s.services.nats,
  };
  const text = Object.entries(lines).map(([k, v]) => `export ${k}='${v}'`).join('\n') + '\n';
  fs.writeFileSync(path.join(HARNESS_DIR, 'env'), text);
}

function collectorConfig(dir: string, p: { otlp: number; otlpGrpc: number; prom: number; self: number }): string {
  return `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p.otlp}
      grpc:
        endpoint: 127.0.0.1:${p.otlpGrpc}
processors:
  # scalepass exports delta counters (one run = one interval); Prometheus needs running totals
  deltatocumulative: {}
exporters:
  file:
    path: ${dir}/otel/metrics.jsonl
    format: json
    flush_interval: 100ms
  prometheus:
    endpoint: 127.0.0.1:${p.prom}
    metric_expiration: 30m
    resource_to_telemetry_conversion:
      enabled: true
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: ${p.self}
  pipelines:
    metrics/raw:
      receivers: [otlp]
      exporters: [file, debug]
    metrics/prometheus:
      receivers: [otlp]
      processors: [deltatocumulative]
      exporters: [prometheus]
`;
}

/** etcd as the harness runs it: one member on loopback, no fsync (test data only). */
export function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  return [
    '--name=harness', `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${clientPort}`, `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=harness=http://127.0.0.1:${peerPort}`, '--unsafe-no-fsync=true',
    '--quota-backend-bytes=2147483648', '--log-level=warn',
  ];
}

/** kube-apiserver as the harness runs it: TLS, RBAC, TokenRequest, the aggregation layer. */
export function apiserverArgs(o: { etcdPort: number; port: number; certDir: string; pki: Pki }): string[] {
  const { pki } = o;
  const server = `https://127.0.0.1:${o.port}`;
  return [
    `--etcd-servers=http://127.0.0.1:${o.etcdPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    `--secure-port=${o.port}`, `--cert-dir=${o.certDir}`, `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.ca}`, '--authorization-mode=RBAC',
    `--service-account-issuer=${server}`, `--service-account-key-file=${pki.saPub}`, `--service-account-signing-key-file=${pki.saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
    // TaintNodesByCondition would taint every new Node not-ready; only the node lifecycle controller removes
    // that, and it is not run (it would also evict pods from kwok's nodes on its own schedule)
    '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition', '--endpoint-reconciler-type=none', '--v=1',
    // aggregation layer, for metrics-server's metrics.k8s.io
    `--requestheader-client-ca-file=${pki.frontProxyCa}`, '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`, `--proxy-client-key-file=${pki.frontProxyClientKey}`,
  ];
}

export async function up(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<{ state: HarnessState; started: boolean }> {
  const existing = readState();
  if (await isUp(existing)) return { state: existing!, started: false };
  if (existing) await down(log); // stale or half-dead: clean it before starting anew

  for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'metrics-server', 'otelcol-harness']) {
    if (!fs.existsSync(path.join(BIN, b))) {
      throw new Error(`harness: ${b} is not built (${path.join(BIN, b)} missing) — run \`npm run harness:build\``);
    }
  }
  const which = (tool: string): string => {
    try {
      return execFileSync('bash', ['-c', `command -v ${tool} || { test -x /usr/sbin/${tool} && echo /usr/sbin/${tool}; }`], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error(`harness: ${tool} not installed — run \`bash test/harness/install-system.sh\` as root`);
    }
  };
  const promBin = which('prometheus');
  const natsBin = which('nats-server');
  which('openssl');

  const dir = HARNESS_DIR;
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['logs', 'pki', 'etcd', 'otel', 'prom', 'nats', 'kwok']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const logs = path.join(dir, 'logs');
  const procs: Proc[] = [];
  const timings: Record<string, number> = {};
  const state: Partial<HarnessState> = { owner: process.pid, dir, startedAt: new Date().toISOString(), pids: [], timings };
  const save = () => {
    state.pids = procs.map((p) => ({ name: p.name, pid: p.pid }));
    fs.writeFileSync(STATE(), JSON.stringify(state, null, 2));
  };
  try {
    const [etcdC, etcdP, ap, kcm, otlp, promExp, self, prom, nats, natsMon, sched, kwokP, msP, otlpGrpc] = await freePorts(14) as
      [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
    const t0 = Date.now();
    const pki = makePki(path.join(dir, 'pki'));
    const ca = fs.readFileSync(pki.ca, 'utf8');
    const tls = { ca, cert: fs.readFileSync(pki.adminCert, 'utf8'), key: fs.readFileSync(pki.adminKey, 'utf8') };
    const server = `https://127.0.0.1:${ap}`;
    const kc = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(kc, kubeconfig(server, ca, { certPem: tls.cert, keyPem: tls.key }, 'harness-admin'));
    Object.assign(state, {
      apiserver: server, kubeconfig: kc, caFile: pki.ca, adminCertFile: pki.adminCert, adminKeyFile: pki.adminKey,
      otlpEndpoint: `http://127.0.0.1:${otlp}`, otlpGrpcEndpoint: `127.0.0.1:${otlpGrpc}`, metricsFile: path.join(dir, 'otel/metrics.jsonl'),
      collectorSelfMetrics: `http://127.0.0.1:${self}/metrics`, promExporterUrl: `http://127.0.0.1:${promExp}/metrics`,
      prometheusUrl: `http://127.0.0.1:${prom}`, natsUrl: `nats://127.0.0.1:${nats}`, natsMonitoringUrl: `http://127.0.0.1:${natsMon}`,
      etcdEndpoint: `http://127.0.0.1:${etcdC}`, nodes: NODE_NAMES, kwokUrl: `http://127.0.0.1:${kwokP}`,
    });

    // Machine services in the background while the control plane boots.
    const services = ensureServices(log);

    const etcd = start('etcd', path.join(BIN, 'etcd'), etcdArgs(`${dir}/etcd`, etcdC, etcdP), logs);
    procs.push(etcd); save();
    timings.etcd = await waitFor(etcd, 'healthy', async () => (await get(`http://127.0.0.1:${etcdC}/health`)).body.includes('"health":"true"'), 30_000);

    // Collector, Prometheus and NATS don't depend on the apiserver: start them now.
    fs.writeFileSync(path.join(dir, 'otel/config.yaml'), collectorConfig(dir, { otlp, otlpGrpc, prom: promExp, self }));
    const col = start('otelcol', path.join(BIN, 'otelcol-harness'), [`--config=file:${dir}/otel/config.yaml`], logs);
    procs.push(col);
    // a bench over 10,000s of objects sets a long interval: rendering that many series takes longer
    // than 1 s, and overlapping scrapes piled up 20 GiB in the collector's Prometheus exporter
    const scrape = process.env.SCALEPASS_HARNESS_SCRAPE_INTERVAL ?? '1s';
    fs.writeFileSync(path.join(dir, 'prom/prometheus.yml'),
      `global: {scrape_interval: ${scrape}, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: otelcol\n    static_configs: [{targets: ['127.0.0.1:${promExp}']}]\n`);
    const promProc = start('prometheus', promBin, [
      `--config.file=${dir}/prom/prometheus.yml`, `--storage.tsdb.path=${dir}/prom/data`,
      `--web.listen-address=127.0.0.1:${prom}`, '--storage.tsdb.retention.time=2h', '--web.enable-lifecycle',
      '--web.enable-remote-write-receiver', '--log.level=warn',
    ], logs);
    procs.push(promProc);
    const natsProc = start('nats', natsBin, ['-a', '127.0.0.1', '-p', String(nats), '-m', String(natsMon), '-js', '-sd', `${dir}/nats`], logs);
    procs.push(natsProc);

    const apiserver = start('kube-apiserver', path.join(BIN, 'kube-apiserver'), apiserverArgs({ etcdPort: etcdC, port: ap, certDir: `${dir}/pki`, pki }), logs);
    procs.push(apiserver); save();
    timings['kube-apiserver'] = await waitFor(apiserver, 'ready (/readyz)', async () => (await get(`${server}/readyz`, tls)).status === 200, 180_000);

    const api = apiClient(server, tls);
    await createNodes(api);
    await registerMetricsApi(api, msP, ca);
    await createProbe(api);

    const kcmProc = start('kube-controller-manager', path.join(BIN, 'kube-controller-manager'), [
      `--kubeconfig=${kc}`, '--leader-elect=false', '--controllers=cronjob,job,deployment,replicaset',
      '--use-service-account-credentials=false', '--bind-address=127.0.0.1', `--secure-port=${kcm}`, '--v=1',
    ], logs);
    procs.push(kcmProc);
    const schedProc = start('kube-scheduler', path.join(BIN, 'kube-scheduler'), [
      `--kubeconfig=${kc}`, `--authentication-kubeconfig=${kc}`, `--authorization-kubeconfig=${kc}`, '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${sched}`, '--v=1',
    ], logs);
    procs.push(schedProc);
    const kwokCfg = path.join(ROOT, 'test/harness/kwok/config');
    // Options as flags and no KwokConfiguration in the config files: kwok then applies its own defaults
    // (a KwokConfiguration document replaces them all, down to worker counts). No CRDs: the stages and
    // metrics come only from these files.
    const kwokProc = start('kwok', path.join(BIN, 'kwok'), [
      `--config=${kwokCfg}/stages.yaml`, `--config=${kwokCfg}/metrics.yaml`,
      '--manage-all-nodes=false', '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--kubeconfig=${kc}`, `--server-address=127.0.0.1:${kwokP}`, '--node-ip=127.0.0.1', `--node-port=${kwokP}`,
    ], logs, { ...process.env, HOME: path.join(dir, 'kwok') }); // HOME: never pick up a ~/.kwok/kwok.yaml
    procs.push(kwokProc);
    save();
    timings['kube-controller-manager'] = await waitFor(kcmProc, 'healthy (/healthz)', async () => (await get(`https://127.0.0.1:${kcm}/healthz`, { insecure: true })).status === 200, 60_000);
    timings['kube-scheduler'] = await waitFor(schedProc, 'healthy (/healthz)', async () => (await get(`https://127.0.0.1:${sched}/healthz`, { insecure: true })).status === 200, 60_000);
    timings.kwok = await waitFor(kwokProc, 'healthy (/healthz)', async () => (await get(`http://127.0.0.1:${kwokP}/healthz`)).status === 200, 60_000);
    const probe: { pod?: string; node?: string } = {};
    timings['probe pod Ready'] = await waitForChain([kcmProc, schedProc, kwokProc], 'probe pod Running and Ready',
      probePodReady(api, { kcm: kcmProc, scheduler: schedProc, kwok: kwokProc }, probe), 60_000);
    timings['probe pod on /metrics/resource'] = await waitForChain([kwokProc], 'probe pod on its node\'s /metrics/resource',
      probeNodeMetrics(`http://127.0.0.1:${kwokP}`, kwokProc, probe.pod!, probe.node!), 30_000);

    // Started once the probe pod runs and kwok counts its CPU: metrics-server scrapes at start and then every
    // resolution, and a pod's usage needs two scrapes with CPU time (CPU is a rate), so it is served one
    // resolution after the start instead of two or three.
    const msProc = start('metrics-server', path.join(BIN, 'metrics-server'), [
      `--kubeconfig=${kc}`, `--authentication-kubeconfig=${kc}`, `--authorization-kubeconfig=${kc}`,
      '--bind-address=127.0.0.1', `--secure-port=${msP}`, `--tls-cert-file=${pki.metricsServerCert}`, `--tls-private-key-file=${pki.metricsServerKey}`,
      // kwok's server on 127.0.0.1 (the nodes' InternalIP) serves every node, with a self-signed cert
      '--kubelet-preferred-address-types=InternalIP', `--kubelet-port=${kwokP}`, '--kubelet-insecure-tls',
      // 10 s is its minimum; the request timeout must stay under 90 % of it
      '--metric-resolution=10s', '--kubelet-request-timeout=5s', '--v=1',
    ], logs);
    procs.push(msProc); save();
    timings['metrics-server'] = await waitFor(msProc, 'live (/livez)', async () => (await get(`https://127.0.0.1:${msP}/livez`, { insecure: true })).status === 200, 60_000);
    const who = { kwok: kwokProc, metricsServer: msProc };
    timings['metrics.k8s.io'] = await waitForChain([kwokProc, msProc], 'probe pod usage served by metrics.k8s.io', probePodMetrics(api, `http://127.0.0.1:${kwokP}`, who, probe.pod!, probe.node!), 60_000);
    timings.otelcol = await waitFor(col, 'accepting OTLP/HTTP', async () =>
      (await get(`http://127.0.0.1:${otlp}/v1/metrics`, {}, 'POST', '{"resourceMetrics":[]}', { 'content-type': 'application/json' })).status === 200, 30_000);
    timings['otelcol grpc'] = await waitFor(col, 'accepting OTLP/gRPC connections', () => tcpOpen('127.0.0.1', otlpGrpc), 30_000);
    timings.prometheus = await waitFor(promProc, 'ready', async () => (await get(`http://127.0.0.1:${prom}/-/ready`)).status === 200, 30_000);
    timings.nats = await waitFor(natsProc, 'ready', async () => (await tcpOpen('127.0.0.1', nats)) && (await get(`http://127.0.0.1:${natsMon}/healthz?js-enabled-only=true`)).status === 200, 30_000);
    state.services = await services;
    timings.total = Date.now() - t0;
    save();
    writeEnv(state as HarnessState);
    return { state: state as HarnessState, started: true };
  } catch (e) {
    save();
    await stopAll(procs.map((p) => p.pid).reverse());
    throw e;
  }
}

async function stopAll(pids: number[]): Promise<void> {
  for (const pid of pids) await stopGroup(pid);
}

/** Stop everything the harness started (reverse start order) and delete its data. */
export async function down(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<void> {
  const s = readState();
  if (s) {
    await stopAll(s.pids.map((p) => p.pid).reverse());
    log(`harness: stopped ${s.pids.map((p) => p.name).join(', ')}`);
  }
  // logs stay for a post-mortem; everything else (etcd data, pki, tsdb) goes
  if (fs.existsSync(HARNESS_DIR)) {
    for (const e of fs.readdirSync(HARNESS_DIR)) {
      if (e !== 'logs') fs.rmSync(path.join(HARNESS_DIR, e), { recursive: true, force: true });
    }
  }
}
