// The real kube-apiserver + etcd + kube-controller-manager answer the way scalepass needs them to.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/harness.ts';
import { ApiError, KubeRest } from '../../src/kube/rest.ts';
import { KubeConfig } from '@kubernetes/client-node';

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } },
});

describe('local control plane', () => {
  let h: Harness;
  let ns: string;
  before(async () => {
    h = await harness();
    ns = await h.namespace('smoke');
  });

  it('patches a Deployment through /scale and reads the new count back', async () => {
    await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('web', 1));
    await h.admin.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/web/scale`, { spec: { replicas: 3 } });
    const scale = await h.admin.get<{ spec: { replicas: number }; status: { selector: string } }>(`/apis/apps/v1/namespaces/${ns}/deployments/web/scale`);
    assert.equal(scale.spec.replicas, 3);
    assert.equal(scale.status.selector, 'app=web');
  });

  it('patches a StatefulSet through /scale and reads the new count back', async () => {
    await h.admin.create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
      spec: { replicas: 0, serviceName: 'db', selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } } },
    });
    await h.admin.mergePatch(`/apis/apps/v1/namespaces/${ns}/statefulsets/db/scale`, { spec: { replicas: 2 } });
    const scale = await h.admin.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${ns}/statefulsets/db/scale`);
    assert.equal(scale.spec.replicas, 2);
  });

  it('denies a ServiceAccount without a binding (403) and allows it after a RoleBinding', async () => {
    await h.admin.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } });
    const kc = new KubeConfig();
    kc.loadFromFile(await h.tokenKubeconfig(ns, 'reader'));
    const sa = await KubeRest.fromKubeConfig(kc);
    await assert.rejects(sa.list(`/apis/apps/v1/namespaces/${ns}/deployments`), (e: unknown) => e instanceof ApiError && e.status === 403);
    await h.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'read-deployments' },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] }],
    });
    await h.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-deployments' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    // the authorizer sees new bindings after an informer delay
    let items: unknown[] | undefined;
    for (let i = 0; i < 50 && !items; i++) {
      try {
        items = (await sa.list<{ items: unknown[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`)).items;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 403)) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(Array.isArray(items), 'still denied 10 s after the RoleBinding');
    sa.close();
  });

  it('serves a CustomResourceDefinition with a scale subresource and scales it', async () => {
    const group = `${ns}.smoke.scalepass.dev`;
    await h.admin.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `workers.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'workers', singular: 'worker', kind: 'Worker' },
        versions: [{ name: 'v1', served: true, storage: true,
          subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' }, status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: {
            spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
            status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } } } } } }] },
    });
    // established asynchronously
    let created = false;
    for (let i = 0; i < 50 && !created; i++) {
      try {
        await h.admin.create(`/apis/${group}/v1/namespaces/${ns}/workers`, { apiVersion: `${group}/v1`, kind: 'Worker', metadata: { name: 'w' }, spec: { replicas: 1 } });
        created = true;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(created, 'CRD never became served');
    await h.admin.mergePatch(`/apis/${group}/v1/namespaces/${ns}/workers/w/scale`, { spec: { replicas: 5 } });
    const w = await h.admin.get<{ spec: { replicas: number } }>(`/apis/${group}/v1/namespaces/${ns}/workers/w`);
    assert.equal(w.spec.replicas, 5);
  });

  it('creates a Job from a "* * * * *" CronJob, annotated with its scheduled time', { timeout: 120_000 }, async () => {
    const created = Date.now();
    await h.admin.create(`/apis/batch/v1/namespaces/${ns}/cronjobs`, {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick' },
      spec: { schedule: '* * * * *', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { template: { spec: {
        restartPolicy: 'Never', containers: [{ name: 'run', image: 'registry.invalid/scalepass:1' }] } } } } },
    });
    let job: { metadata: { name: string; annotations?: Record<string, string> } } | undefined;
    while (!job && Date.now() - created < 75_000) {
      const jobs = await h.admin.list<{ items: NonNullable<typeof job>[] }>(`/apis/batch/v1/namespaces/${ns}/jobs`);
      job = jobs.items[0];
      if (!job) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(job, 'no Job within 75 s of creating the CronJob');
    const ts = job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'];
    assert.ok(ts, 'Job lacks batch.kubernetes.io/cronjob-scheduled-timestamp');
    const t = Date.parse(ts);
    assert.equal(new Date(t).getUTCSeconds(), 0, 'scheduled time is a minute boundary');
    assert.ok(t >= created - 60_000 && t <= Date.now(), `scheduled time ${ts} is near now`);
    assert.equal(job.metadata.name, `tick-${t / 60_000}`);
  });
});
