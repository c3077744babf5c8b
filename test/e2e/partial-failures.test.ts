// A part of the cluster refuses the pass: a write the target's schema rejects, a namespace whose
// Deployments the pass may not list. Only the objects concerned fail, and nothing is reported that
// did not happen.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, specReplicas, pass, events, suiteSetup } from '../helpers/fixtures.ts';

const trigger = (url: string) => ({ type: 'metrics-api', metadata: { url, valueLocation: 'queue.depth', targetValue: '2' } });

describe('partial failures', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(0)));
  after(async () => { await src.close(); });

  it('reports FailedRescale, not SuccessfulRescale, when the target refuses the new replica count', async () => {
    const ns = await h.namespace('e2e-rescale-fail');
    const group = `${ns}.e2e.scalepass.dev`;
    // a custom resource whose schema allows at most 2 replicas: the /scale write to 4 is refused (422)
    await h.admin.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `pools.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'pools', singular: 'pool', kind: 'Pool' },
        versions: [{ name: 'v1', served: true, storage: true,
          subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' }, status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer', maximum: 2 } } },
            status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } } } } } }] },
    });
    await waitUntil(async () => {
      try {
        await h.admin.create(`/apis/${group}/v1/namespaces/${ns}/pools`, { apiVersion: `${group}/v1`, kind: 'Pool', metadata: { name: 'p' }, spec: { replicas: 1 } });
        return true;
      } catch {
        return false; // the new CRD is not served yet
      }
    });
    await h.admin.mergePatch(`/apis/${group}/v1/namespaces/${ns}/pools/p/status`, { status: { replicas: 1, selector: 'app=p' } });
    await create(h, ns, scaledObject('pool', { scaleTargetRef: { apiVersion: `${group}/v1`, kind: 'Pool', name: 'p' }, pollingInterval: 1, triggers: [trigger(src.url)] }));
    src.set(8);
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.code, 1, 'a failed scale fails the run');
    const o = p.report.objects[0]!;
    assert.equal(o.outcome, 'failed');
    assert.equal(o.scaled, false);
    assert.match(o.detail ?? '', /from 1 to 4/);
    const reasons = (await events(h, ns, 'pool')).map((e) => e.reason);
    assert.ok(!reasons.includes('SuccessfulRescale'), `no SuccessfulRescale after a refused write: ${reasons.join(', ')}`);
    assert.ok(reasons.includes('FailedRescale'), `the HPA's FailedRescale instead: ${reasons.join(', ')}`);
    assert.deepEqual(o.events.map((e) => e.reason).filter((r) => r.includes('Rescale')), ['FailedRescale']);
    assert.equal(await specReplicas(h, `/apis/${group}/v1/namespaces/${ns}/pools/p`), 1);
  });

  it('scales every object when the Deployments of one namespace may not be listed: those objects read their own /scale', async () => {
    const denied = await h.namespace('e2e-nolist');
    const allowed = await h.namespace('e2e-list');
    for (const ns of [denied, allowed]) {
      for (const n of ['a', 'b']) {
        await create(h, ns, deployment(n, 0));
        await create(h, ns, scaledObject(n, { scaleTargetRef: { name: n }, pollingInterval: 1, triggers: [trigger(src.url)] }));
      }
    }
    // the shipped rules, except that Deployments are listed only in `allowed`
    const shipped = await h.admin.get<{ rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] }>('/apis/rbac.authorization.k8s.io/v1/clusterroles/scalepass');
    const rules = shipped.rules.map((r) => (r.apiGroups?.includes('apps') ? { ...r, verbs: r.verbs.filter((v) => v !== 'list') } : r));
    const sa = 'restricted';
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    await h.admin.create(`/api/v1/namespaces/${allowed}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } });
    await h.admin.create(`${rbac}/clusterroles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: allowed }, rules });
    await h.admin.create(`${rbac}/clusterrolebindings`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: allowed },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: allowed }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: allowed }] });
    await h.admin.create(`${rbac}/namespaces/${allowed}/roles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'list-and-lease' },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] }, { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] });
    await h.admin.create(`${rbac}/namespaces/${allowed}/rolebindings`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'list-and-lease' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'list-and-lease' }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: allowed }] });
    const restricted = await h.tokenKubeconfig(allowed, sa);
    src.set(3);
    const p = await pass(h, { kubeconfig: restricted, namespaces: [denied, allowed], extraArgs: ['--lease-namespace', allowed] });
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(p.report.objects.map((o) => `${o.namespace}/${o.name} ${o.outcome} ${o.current}->${o.desired}`).sort(),
      [`${allowed}/a evaluated 0->1`, `${allowed}/b evaluated 0->1`, `${denied}/a evaluated 0->1`, `${denied}/b evaluated 0->1`].sort());
    for (const ns of [denied, allowed]) {
      for (const n of ['a', 'b']) assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/${n}`), 1, `${ns}/${n}`);
    }
    assert.deepEqual(p.report.denied, [`GET /apis/apps/v1/namespaces/${denied}/deployments`], 'the one refused LIST is reported');
  });
});

async function waitUntil(f: () => Promise<boolean>, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached');
}
