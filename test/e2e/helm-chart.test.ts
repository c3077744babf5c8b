// The Helm chart as the real helm renders it, against what the real kubectl renders from kustomize/:
// the two install paths must install the same thing (RBAC, security settings, config, CRDs), and the
// chart's values.schema.json must refuse what the run would refuse. No cluster: helm lint/template only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { load as loadYaml } from 'js-yaml';
import { CHART, helm, helmTemplate, kustomize, valuesFile, type K8sObject } from '../helpers/helm.ts';
import { ConfigError, mergeConfig } from '../../src/config/load.ts';

/** The labels Helm adds; kustomize/base has app.kubernetes.io/name and part-of, which the chart keeps. */
const HELM_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

interface Container { name: string; image: string; imagePullPolicy?: string; env: { name: string; value?: string; valueFrom?: Record<string, { name?: string; key: string }> }[]; securityContext: unknown; resources: unknown }
interface PodSpec { serviceAccountName: string; securityContext: unknown; containers: Container[] }
interface CronJob extends K8sObject { spec: { schedule: string; concurrencyPolicy: string; jobTemplate: { spec: Record<string, unknown> & { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } } } }
interface Rbac extends K8sObject { rules: unknown[] }

const key = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objs: K8sObject[]) => new Map(objs.map((o) => [key(o), o]));
const find = <T extends K8sObject>(objs: K8sObject[], kind: string) => objs.find((o) => o.kind === kind) as T;
const pod = (objs: K8sObject[]) => find<CronJob>(objs, 'CronJob').spec.jobTemplate.spec.template.spec;
const config = (objs: K8sObject[]) => loadYaml(find<K8sObject & { data: Record<string, string> }>(objs, 'ConfigMap').data['config.yaml']!) as Record<string, unknown>;

/** An object as both renderers should produce it: Helm's labels gone, config.yaml parsed (comments aside), Kubernetes' defaults filled in. */
function comparable(o: K8sObject): unknown {
  const c = structuredClone(o) as K8sObject & { data?: Record<string, unknown> };
  const strip = (labels?: Record<string, string>) => { for (const l of HELM_LABELS) delete labels?.[l]; };
  strip(c.metadata.labels);
  if (c.kind === 'ConfigMap' && typeof c.data?.['config.yaml'] === 'string') c.data['config.yaml'] = loadYaml(c.data['config.yaml']);
  if (c.kind === 'CronJob') {
    const t = (c as CronJob).spec.jobTemplate.spec.template;
    strip(t.metadata.labels);
    // the apiserver's default for an image with a tag other than latest; the chart states it
    for (const ct of t.spec.containers) ct.imagePullPolicy ??= 'IfNotPresent';
  }
  return c;
}

/** Renders of the default release (the names of kustomize/base: release scalepass in scalepass-system), made once, when first asked. */
let renders: Promise<[K8sObject[], K8sObject[]]> | undefined;
const defaults = () => (renders ??= Promise.all([helmTemplate('scalepass', 'scalepass-system'), kustomize('base')]));
const chartDefault = async () => (await defaults())[0];
const base = async () => (await defaults())[1];

describe('helm chart (charts/scalepass) rendered by the real helm, against kustomize/', () => {
  it('passes helm lint --strict with its defaults, with 3 shards, and beside existing CRDs', async () => {
    for (const set of [[], ['--set', 'shards=3'], ['--set', 'crds.install=false']]) {
      const out = await helm(['lint', '--strict', CHART, ...set]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${set.join(' ')}: ${out}`);
    }
  });

  it('renders every object of kustomize/base but the Namespace, equal apart from Helm\'s labels (CRDs included)', async () => {
    const chart = byKey(await chartDefault());
    const kust = byKey(await base());
    // helm install stores the release in its namespace, so that namespace exists before the chart
    // does: the chart cannot create it (README "Install with Helm" labels it for Pod Security)
    assert.deepEqual([...chart.keys()].sort(), [...kust.keys()].filter((k) => !k.startsWith('Namespace ')).sort());
    for (const [k, o] of chart) assert.deepEqual(comparable(o), comparable(kust.get(k)!), k);
  });

  it('grants the same RBAC rules as kustomize/base, cluster-wide and in its namespace', async () => {
    const chart = await chartDefault();
    const kust = await base();
    for (const kind of ['ClusterRole', 'Role']) assert.deepEqual(find<Rbac>(chart, kind).rules, find<Rbac>(kust, kind).rules, kind);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const [c, k] = [find<Rbac>(chart, kind), find<Rbac>(kust, kind)];
      assert.deepEqual([c['roleRef'], c['subjects']], [k['roleRef'], k['subjects']], kind);
    }
  });

  it('runs the CronJob with the same schedule, deadlines and pod and container security settings as kustomize/base', async () => {
    const [c, k] = [find<CronJob>(await chartDefault(), 'CronJob'), find<CronJob>(await base(), 'CronJob')];
    const { template: ct, ...cJob } = c.spec.jobTemplate.spec;
    const { template: kt, ...kJob } = k.spec.jobTemplate.spec;
    assert.deepEqual(cJob, kJob);
    assert.deepEqual({ ...c.spec, jobTemplate: undefined }, { ...k.spec, jobTemplate: undefined });
    assert.deepEqual(ct.spec.securityContext, kt.spec.securityContext);
    assert.deepEqual(ct.spec.containers[0]!.securityContext, kt.spec.containers[0]!.securityContext);
    assert.equal(ct.spec.containers[0]!.image, kt.spec.containers[0]!.image);
    assert.deepEqual(ct.spec.containers[0]!.env, kt.spec.containers[0]!.env);
  });

  it('writes the same config.yaml as kustomize/base, which the run accepts', async () => {
    const c = config(await chartDefault());
    assert.deepEqual(c, config(await base()));
    const loaded = mergeConfig({ file: { path: 'config.yaml', data: c }, env: {}, flags: {} });
    assert.ok(!(loaded instanceof ConfigError), String(loaded));
  });

  it('with shards: 3 renders what kustomize/overlays/sharded renders: an Indexed Job of 3 pods that know the shard count', async () => {
    const chart = byKey(await helmTemplate('scalepass', 'scalepass-system', { shards: 3 }));
    const kust = byKey(await kustomize('overlays/sharded'));
    for (const [k, o] of chart) assert.deepEqual(comparable(o), comparable(kust.get(k)!), k);
    const job = find<CronJob>([...chart.values()], 'CronJob').spec.jobTemplate.spec;
    assert.deepEqual([job['completionMode'], job['completions'], job['parallelism']], ['Indexed', 3, 3]);
    assert.deepEqual(job.template.spec.containers[0]!.env.at(-1), { name: 'SCALEPASS_SHARD_COUNT', value: '3' });
  });

  it('with crds.install=false renders no CRD and the same other objects (installs beside existing keda.sh CRDs)', async () => {
    const without = await helmTemplate('scalepass', 'scalepass-system', { crds: { install: false } });
    assert.deepEqual(without.filter((o) => o.kind === 'CustomResourceDefinition'), []);
    assert.deepEqual(without.map(key).sort(), (await chartDefault()).filter((o) => o.kind !== 'CustomResourceDefinition').map(key).sort());
    const kept = await helmTemplate('scalepass', 'scalepass-system', { crds: { keep: true } });
    const crds = kept.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.equal(crds.length, 4);
    for (const c of crds) assert.equal(c.metadata.annotations?.['helm.sh/resource-policy'], 'keep', c.metadata.name);
  });

  it('a release of another name in another namespace gets names of its own, bound to its ServiceAccount there', async () => {
    const objs = await helmTemplate('autoscaler', 'ops');
    const names = new Set(objs.filter((o) => o.kind !== 'CustomResourceDefinition').map((o) => o.metadata.name));
    assert.deepEqual([...names].sort(), ['autoscaler-scalepass', 'autoscaler-scalepass-config']);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      assert.deepEqual(find<Rbac>(objs, kind)['subjects'], [{ kind: 'ServiceAccount', name: 'autoscaler-scalepass', namespace: 'ops' }], kind);
    }
    const p = pod(objs);
    assert.equal(p.serviceAccountName, 'autoscaler-scalepass');
    assert.ok(objs.filter((o) => o.metadata.namespace !== undefined).every((o) => o.metadata.namespace === 'ops'));
  });

  it('maps schedule, namespaces, label selector, shards, image and resources to the CronJob and config.yaml, which the run accepts', async () => {
    const objs = await helmTemplate('scalepass', 'scalepass-system', {
      schedule: '*/5 * * * *', namespaces: ['shop', 'payments'], labelSelector: 'team=checkout,tier!=batch', shards: 2,
      config: { mode: 'once', concurrency: 4, logLevel: 'debug', cpuInitializationPeriodSeconds: 120 },
      image: { repository: 'registry.example/scalepass', tag: '0.2.0', pullPolicy: 'Always' },
      resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
    });
    const cj = find<CronJob>(objs, 'CronJob');
    assert.equal(cj.spec.schedule, '*/5 * * * *');
    const c = pod(objs).containers[0]!;
    assert.equal(c.image, 'registry.example/scalepass:0.2.0');
    assert.equal(c.imagePullPolicy, 'Always');
    assert.deepEqual(c.resources, { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } });
    const cfg = config(objs);
    const loaded = mergeConfig({ file: { path: 'config.yaml', data: cfg }, env: { SCALEPASS_SHARD_COUNT: c.env.find((e) => e.name === 'SCALEPASS_SHARD_COUNT')!.value }, flags: {} });
    if (loaded instanceof ConfigError) throw loaded;
    const { namespaces, labelSelector, schedule, mode, concurrency, logLevel, cpuInitializationPeriodSeconds, shardCount, passDeadlineMs } = loaded.config;
    assert.deepEqual({ namespaces, labelSelector, schedule, mode, concurrency, logLevel, cpuInitializationPeriodSeconds, shardCount, passDeadlineMs }, {
      namespaces: ['shop', 'payments'], labelSelector: 'team=checkout,tier!=batch', schedule: '*/5 * * * *', mode: 'once',
      concurrency: 4, logLevel: 'debug', cpuInitializationPeriodSeconds: 120, shardCount: 2, passDeadlineMs: 50000,
    });
  });

  it('puts OTEL_* settings in the ConfigMap and the container, and the headers (credentials) only behind a Secret reference', async () => {
    const objs = await helmTemplate('scalepass', 'scalepass-system', {
      otel: {
        endpoint: 'otel-collector.observability.svc:4317', serviceName: 'autoscaling',
        env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_INSECURE: true, OTEL_EXPORTER_OTLP_TIMEOUT: 3000 },
        headersSecret: { name: 'otel-auth', key: 'headers' },
      },
    });
    const cm = find<K8sObject & { data: Record<string, string> }>(objs, 'ConfigMap');
    assert.deepEqual({ ...cm.data, 'config.yaml': undefined }, {
      'config.yaml': undefined, OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector.observability.svc:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_INSECURE: 'true', OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    });
    const env = Object.fromEntries(pod(objs).containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    for (const v of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_INSECURE', 'OTEL_EXPORTER_OTLP_TIMEOUT']) {
      assert.deepEqual(env[v], { configMapKeyRef: { name: 'scalepass-config', key: v } }, v);
    }
    assert.deepEqual(env['OTEL_EXPORTER_OTLP_HEADERS'], { secretKeyRef: { name: 'otel-auth', key: 'headers' } });
    assert.equal(env['OTEL_SERVICE_NAME'], 'autoscaling');
  });

  // helm's own words for each; the run would refuse most of these only at its first start, with exit code 2
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['no shards', { shards: 0 }, /at '\/shards': minimum: got 0, want 1/],
    ['an unknown mode', { config: { mode: 'sometimes' } }, /at '\/config\/mode': value must be one of 'once', 'period'/],
    ['a namespace that is no namespace name', { namespaces: ['Shop_EU'] }, /at '\/namespaces\/0': 'Shop_EU' does not match pattern/],
    ['a schedule that is no cron expression', { schedule: 'often' }, /at '\/schedule': 'often' does not match pattern/],
    ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, /at '\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
    ['a CPU request that is no quantity', { resources: { requests: { cpu: 'lots' } } }, /at '\/resources\/requests\/cpu': 'lots' does not match pattern/],
    ['an OTLP protocol scalepass does not speak', { otel: { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' } } }, /at '\/otel\/env\/OTEL_EXPORTER_OTLP_PROTOCOL': value must be one of 'http\/protobuf', 'http\/json', 'grpc'/],
    ['OTLP headers in the ConfigMap', { otel: { env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x' } } }, /at '\/otel\/env': additional properties 'OTEL_EXPORTER_OTLP_HEADERS' not allowed/],
    ['a headers Secret without its key', { otel: { headersSecret: { name: 'otel-auth' } } }, /at '\/otel\/headersSecret': properties 'key' required, if 'name' exists/],
    ['a misspelt value', { shard: 2 }, /at '': additional properties 'shard' not allowed/],
    ['a Lease namespace other than the release\'s', { config: { leaseNamespace: 'other' } }, /at '\/config': additional properties 'leaseNamespace' not allowed/],
    ['a concurrency above the run\'s limit', { config: { concurrency: 5000 } }, /at '\/config\/concurrency': maximum: got 5,000, want 1,024/],
    ['a pass deadline that outlasts the Job', { config: { passDeadlineMs: 55000 } }, /config.passDeadlineMs \(55000\) \+ config.flushTimeoutMs \(5000\) must stay below job.activeDeadlineSeconds \(58 s\)/],
  ];
  for (const [what, values, message] of refused) {
    it(`refuses ${what}, naming the field`, async () => {
      await assert.rejects(helm(['template', 'scalepass', CHART, '-f', valuesFile(values)]), message);
    });
  }
});
