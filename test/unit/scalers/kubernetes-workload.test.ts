// The kubernetes-workload trigger's own logic: its metadata, its metric spec, and how the pod count
// becomes a value and an activity. The cluster is a small in-memory countPods here; listing real pods
// through a real kube-apiserver is tested end to end with the pass.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKubernetesWorkloadScaler } from '../../../src/scalers/kubernetes-workload.ts';
import { ScalerConfigError, type ScalerContext } from '../../../src/scalers/types.ts';

interface Pod {
  namespace: string;
  labels: Record<string, string>;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  nodeName?: string;
}

// equality selectors only: enough to show which pods the scaler asks for
function matches(pod: Pod, selector: string): boolean {
  return selector.split(',').every((req) => {
    const [k, v] = req.split('=').map((s) => s.trim());
    return pod.labels[k!] === v;
  });
}

function cluster(pods: Pod[]): NonNullable<ScalerContext['kube']> & { asked: string[] } {
  const asked: string[] = [];
  const counted = (ns: string, sel: string) =>
    pods.filter((p) => p.namespace === ns && matches(p, sel) && p.phase !== 'Succeeded' && p.phase !== 'Failed');
  return {
    asked,
    async countPods(ns, sel) {
      asked.push(`${ns}/${sel}`);
      return counted(ns, sel).length;
    },
    async countPodNodes(ns, sel) {
      asked.push(`${ns}/${sel} by node`);
      return new Set(counted(ns, sel).flatMap((p) => (p.nodeName ? [p.nodeName] : []))).size;
    },
  };
}

function ctx(metadata: Record<string, string>, extra: Partial<ScalerContext> = {}): Omit<ScalerContext, 'signal' | 'now'> {
  return {
    namespace: 'shop',
    scaledObjectName: 'web',
    triggerIndex: 0,
    trigger: { type: 'kubernetes-workload', metadata },
    authParams: {},
    resolvedEnv: {},
    ...extra,
  };
}

const pods: Pod[] = [
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Running', nodeName: 'n1' },
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Running', nodeName: 'n1' },
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Pending' },
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Unknown', nodeName: 'n2' },
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Succeeded', nodeName: 'n3' },
  { namespace: 'shop', labels: { app: 'backend' }, phase: 'Failed', nodeName: 'n3' },
  { namespace: 'shop', labels: { app: 'frontend' }, phase: 'Running', nodeName: 'n1' },
  { namespace: 'other', labels: { app: 'backend' }, phase: 'Running', nodeName: 'n4' },
];

async function measure(metadata: Record<string, string>, kube = cluster(pods)) {
  const s = createKubernetesWorkloadScaler(ctx(metadata));
  const reading = await s.measure({ ...ctx(metadata), kube, now: 0, signal: new AbortController().signal });
  return { reading, asked: kube.asked };
}

describe('kubernetes-workload trigger', () => {
  it('counts the 4 non-terminated backend pods of the ScaledObject namespace and is active above 0', async () => {
    const { reading, asked } = await measure({ podSelector: 'app=backend', value: '2' });
    assert.deepEqual(reading, { value: 4, active: true });
    assert.deepEqual(asked, ['shop/app=backend']);
  });

  it('is inactive when the count equals activationValue, active when strictly greater', async () => {
    assert.deepEqual((await measure({ podSelector: 'app=backend', value: '1', activationValue: '4' })).reading, { value: 4, active: false });
    assert.deepEqual((await measure({ podSelector: 'app=backend', value: '1', activationValue: '3.5' })).reading, { value: 4, active: true });
  });

  it('reports 0 and inactive when no pod matches', async () => {
    assert.deepEqual((await measure({ podSelector: 'app=nothing', value: '1' })).reading, { value: 0, active: false });
  });

  it('with groupByNode counts the 2 distinct nodes of scheduled matching pods', async () => {
    const { reading, asked } = await measure({ podSelector: 'app=backend', value: '1', groupByNode: 'true' });
    assert.deepEqual(reading, { value: 2, active: true });
    assert.deepEqual(asked, ['shop/app=backend by node']);
  });

  it('passes the cluster error through when listing pods fails', async () => {
    const kube = { asked: [], countPods: async () => { throw new Error('pods is forbidden'); }, countPodNodes: async () => 0 };
    await assert.rejects(measure({ podSelector: 'app=backend', value: '1' }, kube), /pods is forbidden/);
  });

  it('names the metric s<index>-workload-<namespace> and targets value per replica', () => {
    const s = createKubernetesWorkloadScaler({ ...ctx({ podSelector: 'app=backend', value: '2.5', activationValue: '1' }), namespace: 'team.a', triggerIndex: 3 });
    assert.deepEqual(s.spec, { metricName: 's3-workload-team-a', metricType: 'AverageValue', target: 2.5, activationTarget: 1 });
    const v = createKubernetesWorkloadScaler(ctx({ podSelector: 'app=backend', value: '2' }, { trigger: { type: 'kubernetes-workload', metricType: 'Value', metadata: { podSelector: 'app=backend', value: '2' } } }));
    assert.equal(v.spec.metricType, 'Value');
  });
});

describe('kubernetes-workload metadata', () => {
  const refused: Array<[string, Record<string, string>, string, RegExp]> = [
    ['no podSelector', { value: '1' }, 'podSelector', /missing required parameter "podSelector"/],
    ['no value', { podSelector: 'app=a' }, 'value', /"value" must be a number greater than 0/],
    ['value 0', { podSelector: 'app=a', value: '0' }, 'value', /greater than 0/],
    ['a negative value', { podSelector: 'app=a', value: '-1' }, 'value', /greater than 0/],
    ['a value that is not a number', { podSelector: 'app=a', value: 'lots' }, 'value', /"value" must be number/],
    ['groupByNode that is not a boolean', { podSelector: 'app=a', value: '1', groupByNode: 'sometimes' }, 'groupByNode', /"groupByNode"/],
    ['a selector with a trailing comma', { podSelector: 'app=a,', value: '1' }, 'podSelector', /trailing ","/],
    ['a selector with a bad key', { podSelector: '-app=a', value: '1' }, 'podSelector', /invalid label key/],
    ['an unclosed in-set', { podSelector: 'env in (a, b', value: '1' }, 'podSelector', /not a valid label selector/],
    ['a value that is too long', { podSelector: `app=${'x'.repeat(64)}`, value: '1' }, 'podSelector', /invalid label value/],
  ];
  for (const [what, md, field, message] of refused) {
    it(`refuses ${what}, naming the field "${field}"`, () => {
      assert.throws(() => createKubernetesWorkloadScaler(ctx(md)), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it('accepts equality and set-based selectors as Kubernetes does', () => {
    for (const podSelector of [
      'app=backend',
      'app==backend,tier!=cache',
      'app=backend, deploy notin (critical, monolith)',
      'environment in (production,qa),!canary',
      'example.com/team=payments,version',
      'app=',
      'replicas>2',
    ]) {
      assert.doesNotThrow(() => createKubernetesWorkloadScaler(ctx({ podSelector, value: '1' })), podSelector);
    }
  });

  it('lets a trigger that only feeds a scalingModifiers formula omit value, as KEDA does', () => {
    const s = createKubernetesWorkloadScaler(ctx({ podSelector: 'app=a' }, { asMetricSource: true }));
    assert.equal(s.spec.target, 0);
  });
});
