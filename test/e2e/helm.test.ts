// The Helm chart as a user installs it: the real helm against the real apiserver. Beside the keda.sh
// CRDs already in the cluster (crds.install=false, as beside KEDA's), a pass as the chart's
// ServiceAccount, an upgrade of schedule and shard count, and an uninstall that leaves nothing of the
// release. Installing the CRDs themselves (the default) runs on an apiserver of its own: deleting them
// would delete every ScaledObject of the suites sharing the harness.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Harness } from '../helpers/harness.ts';
import { install, kubectl } from '../helpers/install.ts';
import { CHART, helm, objectsLabelled, parseDocs, valuesFile, type K8sObject } from '../helpers/helm.ts';
import { startBareApiserver, type BareApiserver } from '../helpers/bare-apiserver.ts';
import { startMetricsServer, type MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, pass, scaledObject, specReplicas } from '../helpers/fixtures.ts';
import { harness } from '../helpers/harness.ts';
import { until } from '../helpers/until.ts';
import { ApiError, type KubeRest } from '../../src/kube/rest.ts';

const CRDS = ['scaledobjects', 'scaledjobs', 'triggerauthentications', 'clustertriggerauthentications'].map((p) => `${p}.keda.sh`);
const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted' };

interface Env { name: string; value?: string }
interface CronJob { spec: { schedule: string; jobTemplate: { spec: { completionMode?: string; completions?: number; parallelism?: number; template: { spec: { serviceAccountName: string; containers: { env: Env[] }[] } } } } } }

/** The path of an object helm's manifest names, for a GET that must answer 404 once it is gone. */
function pathOf(o: K8sObject): string {
  const plural = o.kind.toLowerCase().replace(/y$/, 'ie') + 's';
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}/${o.metadata.name}`;
}

async function gone(admin: KubeRest, p: string): Promise<boolean> {
  try {
    await admin.get(p);
    return false;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return true;
    throw e;
  }
}

/** The objects of the release's current manifest (`helm get manifest`), with the namespace helm puts them in. */
async function manifest(release: string, ns: string, kubeconfig: string): Promise<K8sObject[]> {
  return parseDocs(await helm(['get', 'manifest', release, '-n', ns], kubeconfig));
}

/** What is left of a release after helm uninstall: its objects by name, anything carrying its label, its release records. */
async function leftovers(admin: KubeRest, objs: K8sObject[], release: string): Promise<string[]> {
  const byName = [];
  for (const o of objs) if (!(await gone(admin, pathOf(o)))) byName.push(`${o.kind} ${o.metadata.name}`);
  const labelled = await objectsLabelled(admin, `app.kubernetes.io/instance=${release}`);
  const records = await objectsLabelled(admin, `owner=helm,name=${release}`);
  return [...byName, ...labelled, ...records];
}

async function namespace(admin: KubeRest, name: string): Promise<string> {
  await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: RESTRICTED } });
  return name;
}

describe('helm install, upgrade and uninstall beside existing keda.sh CRDs (the shared apiserver)', () => {
  let h: Harness;
  let src: MetricsServer;
  const suffix = crypto.randomBytes(3).toString('hex');
  const release = `scalepass-${suffix}`;
  let ns: string;
  let work: string;
  let values: Record<string, unknown>;
  let objs: K8sObject[];
  let workDir: string;

  before(async () => {
    h = await harness();
    await install(h); // the keda.sh CRDs the chart is installed beside, as a cluster with KEDA has them
    src = await startMetricsServer(0);
    // the release's namespace exists before helm stores the release in it, labelled as README says
    ns = await namespace(h.admin, `e2e-helm-${suffix}`);
    work = await h.namespace('e2e-helm-work');
    workDir = fs.mkdtempSync(path.join(h.state.dir, `helm-${suffix}-`));
    // suspended: the harness's controller-manager runs the CronJob controller, and a live CronJob would make a
    // Job at the next minute boundary (its pod never runs here, and nothing collects it after the uninstall),
    // so whether the uninstall check passed would depend on the clock; the passes below are run by hand
    values = { crds: { install: false }, suspend: true, namespaces: [work], otel: { endpoint: h.state.otlpEndpoint } };
  });
  after(async () => { await src.close(); });

  /** A pass as the CronJob's container runs it: the release's ServiceAccount, the ConfigMap's config.yaml, its namespace. */
  async function passAsChart(env: Record<string, string> = {}) {
    const cm = await h.admin.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${release}-config`);
    const file = path.join(workDir, `config-${crypto.randomBytes(3).toString('hex')}.yaml`);
    fs.writeFileSync(file, cm.data['config.yaml']!);
    const kubeconfig = await h.tokenKubeconfig(ns, release);
    // mode once: one pass, not a run that stays for its minute
    return pass(h, { kubeconfig, namespaces: [work], extraArgs: ['--config', file, '--mode', 'once', '--lease-namespace', ns], env: { POD_NAMESPACE: ns, ...env } });
  }

  it('installs the ServiceAccount, RBAC, ConfigMap and a CronJob every minute, and no CRD (crds.install=false)', async () => {
    const out = await helm(['install', release, CHART, '-n', ns, '-f', valuesFile(values), '--wait', '--timeout', '60s'], h.state.kubeconfig);
    assert.match(out, /STATUS: deployed/);
    objs = await manifest(release, ns, h.state.kubeconfig);
    assert.deepEqual(objs.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CronJob', 'Role', 'RoleBinding', 'ServiceAccount']);
    for (const o of objs) assert.equal(await gone(h.admin, pathOf(o)), false, `${o.kind} ${o.metadata.name} is on the apiserver`);
    const cj = await h.admin.get<CronJob>(`/apis/batch/v1/namespaces/${ns}/cronjobs/${release}`);
    assert.equal(cj.spec.schedule, '* * * * *');
    assert.equal(cj.spec.jobTemplate.spec.template.spec.serviceAccountName, release);
    assert.equal(cj.spec.jobTemplate.spec.completionMode, undefined, 'one shard: a plain Job');
  });

  it('a pass as the chart\'s ServiceAccount, with the chart\'s config, scales a Deployment from its ScaledObject and is denied nothing', async () => {
    await create(h, work, deployment('worker', 0));
    await create(h, work, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, maxReplicaCount: 10,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    src.set(7);
    const p = await passAsChart();
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(p.report.denied, [], 'RBAC denials');
    assert.deepEqual(p.report.objects.map((o) => `${o.name} ${o.outcome} ${o.current}->${o.desired}`), ['worker evaluated 0->1']);
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${work}/deployments/worker`), 1, 'activation: 0 -> 1, as KEDA');
    // the shard's Lease is in the release's namespace, where the chart's Role allows it (named for the run's scope)
    const leases = await h.admin.list<{ items: { metadata: { name: string } }[] }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`);
    assert.deepEqual(leases.items.map((l) => l.metadata.name.replace(/-[0-9a-f]{8}-/, '-<scope>-')), ['scalepass-<scope>-shard-0']);
  });

  it('helm upgrade to every 5 minutes and 2 shards: the CronJob runs an Indexed Job of 2, admitted as restricted, whose shards split the objects', async () => {
    const out = await helm(['upgrade', release, CHART, '-n', ns, '-f', valuesFile({ ...values, schedule: '*/5 * * * *', shards: 2 }), '--wait', '--timeout', '60s'], h.state.kubeconfig);
    assert.match(out, /REVISION: 2/);
    const cj = await h.admin.get<CronJob>(`/apis/batch/v1/namespaces/${ns}/cronjobs/${release}`);
    assert.equal(cj.spec.schedule, '*/5 * * * *');
    const job = cj.spec.jobTemplate.spec;
    assert.deepEqual([job.completionMode, job.completions, job.parallelism], ['Indexed', 2, 2]);
    const env = job.template.spec.containers[0]!.env;
    assert.deepEqual(env.find((e) => e.name === 'SCALEPASS_SHARD_COUNT'), { name: 'SCALEPASS_SHARD_COUNT', value: '2' });
    const cm = await h.admin.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${release}-config`);
    assert.match(cm.data['config.yaml']!, /^schedule: '\*\/5 \* \* \* \*'$/m, 'the config\'s schedule follows the CronJob\'s');

    // a Job from the CronJob now, as its next tick would make it: the Job controller creates 2 indexed
    // pods, which the namespace's restricted Pod Security admits
    const manual = `${release}-now`;
    await kubectl(h, ['create', 'job', manual, `--from=cronjob/${release}`, '-n', ns]);
    const pods = await until('the Job\'s 2 indexed pods', async () => {
      const l = await h.admin.list<{ items: { metadata: { name: string; annotations: Record<string, string> } }[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: `batch.kubernetes.io/job-name=${manual}` } });
      return l.items.length === 2 ? l.items : undefined;
    }, 60_000);
    assert.deepEqual(pods.map((p) => p.metadata.annotations['batch.kubernetes.io/job-completion-index']).sort(), ['0', '1']);
    // no garbage collector here: the Job and its pods are removed by hand, as a cluster's would remove them
    // with the CronJob (Background: the Job's default, orphan, waits for that collector's finalizer)
    await h.admin.delete(`/apis/batch/v1/namespaces/${ns}/jobs/${manual}`, { body: { propagationPolicy: 'Background' } });
    for (const p of pods) await h.admin.delete(`/api/v1/namespaces/${ns}/pods/${p.metadata.name}`);

    for (const n of ['a', 'b', 'c', 'd']) {
      await create(h, work, deployment(n, 0));
      await create(h, work, scaledObject(n, { scaleTargetRef: { name: n }, pollingInterval: 1, triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    }
    const count = env.find((e) => e.name === 'SCALEPASS_SHARD_COUNT')!.value!;
    const shards = [await passAsChart({ JOB_COMPLETION_INDEX: '0', SCALEPASS_SHARD_COUNT: count }), await passAsChart({ JOB_COMPLETION_INDEX: '1', SCALEPASS_SHARD_COUNT: count })];
    for (const p of shards) {
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual(p.report.denied, [], 'RBAC denials');
    }
    const handled = shards.flatMap((p) => p.report.objects.map((o) => o.name));
    assert.deepEqual(handled.sort(), ['a', 'b', 'c', 'd', 'worker'], 'every object by exactly one shard');
  });

  it('helm uninstall leaves nothing of the release: no object it made, none with its label, no release record', async () => {
    const last = await manifest(release, ns, h.state.kubeconfig);
    await helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '60s'], h.state.kubeconfig);
    assert.deepEqual(await leftovers(h.admin, [...objs, ...last], release), []);
    assert.doesNotMatch(await helm(['list', '-n', ns, '--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling', '-q'], h.state.kubeconfig), new RegExp(release));
    // what the uninstall did not touch: the keda.sh CRDs it was installed beside, and the objects in them
    for (const c of CRDS) await h.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${c}`);
    await h.admin.get(`/apis/keda.sh/v1alpha1/namespaces/${work}/scaledobjects/worker`);
  });
});

describe('helm install with the CRDs (the default) and uninstall, on an apiserver of its own', () => {
  let bare: BareApiserver;
  before(async () => { bare = await startBareApiserver(); });
  after(async () => { await bare?.stop(); });

  const crdEstablished = async (admin: KubeRest, name: string) => {
    const crd = await admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  };

  it('release scalepass in scalepass-system installs the four keda.sh CRDs, serves ScaledObjects, and uninstall removes CRDs and all', async () => {
    const ns = await namespace(bare.admin, 'scalepass-system');
    const out = await helm(['install', 'scalepass', CHART, '-n', ns, '--wait', '--timeout', '60s'], bare.kubeconfig);
    assert.match(out, /STATUS: deployed/);
    for (const c of CRDS) assert.equal(await until(`${c} Established`, () => crdEstablished(bare.admin, c), 30_000), true);
    const objs = await manifest('scalepass', ns, bare.kubeconfig);
    assert.deepEqual(objs.map((o) => `${o.kind} ${o.metadata.name}`).sort(), [
      'ClusterRole scalepass', 'ClusterRoleBinding scalepass', 'ConfigMap scalepass-config', 'CronJob scalepass',
      ...CRDS.map((c) => `CustomResourceDefinition ${c}`), 'Role scalepass', 'RoleBinding scalepass', 'ServiceAccount scalepass',
    ].sort());
    await bare.admin.create('/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects', scaledObject('worker', {
      scaleTargetRef: { name: 'worker' }, triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } }] }));

    await helm(['uninstall', 'scalepass', '-n', ns, '--wait', '--timeout', '60s'], bare.kubeconfig);
    assert.deepEqual(await leftovers(bare.admin, objs, 'scalepass'), [], `logs: ${bare.logs}`);
  });

  it('with crds.keep=true, helm uninstall leaves the CRDs and the ScaledObjects in them, and nothing else', async () => {
    const ns = 'scalepass-keep';
    await namespace(bare.admin, ns);
    await helm(['install', 'scalepass', CHART, '-n', ns, '--set', 'crds.keep=true', '--wait', '--timeout', '60s'], bare.kubeconfig);
    const objs = await manifest('scalepass', ns, bare.kubeconfig);
    await until('ScaledObjects served', () => crdEstablished(bare.admin, 'scaledobjects.keda.sh'), 30_000);
    await bare.admin.create('/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects', scaledObject('kept', {
      scaleTargetRef: { name: 'kept' }, triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } }] }));
    const out = await helm(['uninstall', 'scalepass', '-n', ns, '--wait', '--timeout', '60s'], bare.kubeconfig);
    assert.match(out, /kept due to the resource policy/);
    for (const c of CRDS) assert.equal(await crdEstablished(bare.admin, c), true, c);
    await bare.admin.get('/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/kept');
    const rest = objs.filter((o) => o.kind !== 'CustomResourceDefinition');
    const left = await leftovers(bare.admin, rest, 'scalepass');
    assert.deepEqual(left, CRDS.map((c) => `CustomResourceDefinition ${c}`).sort(), 'only the kept CRDs, still labelled as the release\'s');
  });
});
