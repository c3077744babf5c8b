// cpu and memory triggers as the HPA computes its Resource metrics (replica_calculator.go), one case per
// rule. Every count is worked out by hand in the case's name: utilization is whole percent of the
// requests of the pods that have a sample, ratio = utilization / target, replicas = ceil(ratio x pods).
// Unless a case says otherwise: each pod requests 1 cpu (256Mi), started 10 min ago and Ready since
// 9 min ago; each sample was taken 10 s ago over a 30 s window; target 50 %, tolerance 10 %.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  HPA_DEFAULT_TIMING, resourceProposal,
  type PodUsage, type ResourceMetricInput, type ResourcePod, type ResourceTarget,
} from '../../../src/scaling/resource-metrics.ts';
import { quantityMilli } from '../../../src/scaling/quantity.ts';
import { DEFAULT_TOLERANCE } from '../../../src/scaling/tolerance.ts';

const NOW = Date.parse('2025-03-01T10:00:00Z');
const at = (seconds: number) => NOW + seconds * 1000;
const q = (s: string): bigint => quantityMilli(s)!;

interface PodOptions {
  phase?: string;
  deleted?: boolean;
  /** Ready condition status; null: no Ready condition */
  ready?: 'True' | 'False' | null;
  /** seconds relative to now of the Ready condition's last transition */
  readyAt?: number;
  /** seconds relative to now; null: not started */
  started?: number | null;
  containers?: { name: string; cpu?: string; memory?: string }[];
  sidecars?: { name: string; cpu?: string }[];
  podCpu?: string;
}

function pod(name: string, o: PodOptions = {}): ResourcePod {
  const started = o.started === undefined ? -600 : o.started;
  const ready = o.ready === undefined ? 'True' : o.ready;
  const requests = (c: { cpu?: string; memory?: string }) => ({
    ...(c.cpu !== undefined ? { cpu: q(c.cpu) } : {}),
    ...(c.memory !== undefined ? { memory: q(c.memory) } : {}),
  });
  return {
    name,
    phase: o.phase ?? 'Running',
    deleted: o.deleted ?? false,
    ...(ready !== null ? { ready: { status: ready, lastTransitionTime: at(o.readyAt ?? -540) } } : {}),
    ...(started !== null ? { startTime: at(started) } : {}),
    containers: (o.containers ?? [{ name: 'app', cpu: '1', memory: '256Mi' }]).map((c) => ({ name: c.name, requests: requests(c) })),
    initContainers: (o.sidecars ?? []).map((c) => ({ name: c.name, requests: requests(c), restartable: true })),
    ...(o.podCpu !== undefined ? { podRequests: { cpu: q(o.podCpu) } } : {}),
  };
}

interface SampleOptions {
  /** seconds relative to now */
  at?: number;
  windowS?: number;
  memory?: string;
  /** other containers' usage */
  more?: { name: string; cpu?: string; memory?: string }[];
}

/** a PodMetrics item whose container "app" used `cpu` */
function sample(name: string, cpu: string | undefined, o: SampleOptions = {}): PodUsage {
  const usage = (c: { cpu?: string; memory?: string }) => ({
    ...(c.cpu !== undefined ? { cpu: q(c.cpu) } : {}),
    ...(c.memory !== undefined ? { memory: q(c.memory) } : {}),
  });
  return {
    name,
    timestamp: at(o.at ?? -10),
    windowMs: (o.windowS ?? 30) * 1000,
    containers: [{ name: 'app', usage: usage({ cpu, memory: o.memory }) }, ...(o.more ?? []).map((c) => ({ name: c.name, usage: usage(c) }))],
  };
}

const UTIL50: ResourceTarget = { type: 'Utilization', averageUtilization: 50 };
const NEVER_READY = { ready: 'False' as const, readyAt: -590 };

interface Case {
  name: string;
  pods: ResourcePod[];
  samples: PodUsage[] | { error: string };
  current: number;
  want: number | RegExp;
  target?: ResourceTarget;
  resource?: 'cpu' | 'memory';
  containerName?: string;
  why?: RegExp;
}

function run(c: Case) {
  const input: ResourceMetricInput = {
    resource: c.resource ?? 'cpu',
    target: c.target ?? UTIL50,
    ...(c.containerName ? { containerName: c.containerName } : {}),
    pods: c.pods,
    podMetrics: c.samples,
  };
  return resourceProposal(input, c.current, DEFAULT_TOLERANCE, NOW, HPA_DEFAULT_TIMING);
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      it(c.name, () => {
        const p = run(c);
        if (c.want instanceof RegExp) {
          assert.ok('error' in p, `expected an error, got ${JSON.stringify(p)}`);
          assert.match(p.error, c.want);
          return;
        }
        assert.ok(!('error' in p), `unexpected error: ${'error' in p ? p.error : ''}`);
        assert.equal(p.replicas, c.want, p.why);
        if (c.why) assert.match(p.why, c.why);
      });
    }
  });
}

const abc = ['a', 'b', 'c'];

table('ready pods only: ceil(utilization / target x ready pods), 10% tolerance', [
  { name: '3 pods at 90% of a 50% target ask for ceil(1.8 x 3) = 6', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '900m')), current: 3, want: 6,
    why: /^cpu 90% of requests, target 50%: ceil\(1\.8 x 3 ready\) = 6$/ },
  { name: '4 pods at 20% ask for ceil(0.4 x 4) = 2', pods: ['a', 'b', 'c', 'd'].map((n) => pod(n)), samples: ['a', 'b', 'c', 'd'].map((n) => sample(n, '200m')), current: 4, want: 2 },
  { name: 'utilization is whole percent of the summed requests: 1234m of 3 cpu is 41%, ratio 0.82: ceil(2.46) = 3 (keeps 3)', pods: abc.map((n) => pod(n)),
    samples: [sample('a', '1'), sample('b', '234m'), sample('c', '0')], current: 3, want: 3 },
  { name: '54% (ratio 1.08) is within tolerance: stays at 3', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '540m')), current: 3, want: 3, why: /within tolerance/ },
  { name: '55% (ratio exactly 1.1) is still within tolerance: stays at 3', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '550m')), current: 3, want: 3 },
  { name: '56% (ratio 1.12) is past it: ceil(3.36) = 4', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '560m')), current: 3, want: 4 },
  { name: '45% (ratio exactly 0.9) is within tolerance: stays at 3', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '450m')), current: 3, want: 3 },
  { name: 'the tolerance keeps spec.replicas (5), not the pods counted (3)', pods: abc.map((n) => pod(n)), samples: abc.map((n) => sample(n, '520m')), current: 5, want: 5 },
]);

table('unready pods: counted at 0 on a scale-up, left out on a scale-down', [
  { name: 'a never-Ready pod counts as 0 on a scale-up: 3 pods at 70% and it make 2100m of 4 cpu = 52%, within tolerance: stays at 4',
    pods: [...abc.map((n) => pod(n)), pod('d', NEVER_READY)], samples: [...abc.map((n) => sample(n, '700m')), sample('d', '900m')], current: 4, want: 4,
    why: /1 unready pod counted at 0: 52% of requests is within tolerance/ },
  { name: 'a never-Ready pod counts as 0 on a scale-up: 3 pods at 90% and it make 67%: ceil(1.34 x 4) = 6',
    pods: [...abc.map((n) => pod(n)), pod('d', NEVER_READY)], samples: [...abc.map((n) => sample(n, '900m')), sample('d', '900m')], current: 4, want: 6 },
  { name: 'on a scale-down a never-Ready pod is left out: 3 pods at 20%: ceil(0.4 x 3) = 2',
    pods: [...abc.map((n) => pod(n)), pod('d', NEVER_READY)], samples: [...abc.map((n) => sample(n, '200m')), sample('d', '900m')], current: 4, want: 2 },
  { name: 'counting unready pods at 0 that turns a scale-up into a scale-down keeps the count: 1 pod at 100% (ratio 2) and 4 unready make 20%: stays at 5',
    pods: [pod('a'), ...['b', 'c', 'd', 'e'].map((n) => pod(n, NEVER_READY))], samples: [sample('a', '1'), ...['b', 'c', 'd', 'e'].map((n) => sample(n, '1'))], current: 5, want: 5,
    why: /would reverse the direction/ },
  { name: 'a Pending pod is unready, not missing: on a scale-down it is left out: 3 pods at 20%: ceil(0.4 x 3) = 2',
    pods: [...abc.map((n) => pod(n)), pod('d', { phase: 'Pending', ready: 'False', started: null })], samples: abc.map((n) => sample(n, '200m')), current: 4, want: 2 },
  { name: 'a Pending pod counts as 0 on a scale-up: 3 pods at 70% and it make 52%, within tolerance: stays at 4',
    pods: [...abc.map((n) => pod(n)), pod('d', { phase: 'Pending', ready: 'False', started: null })], samples: abc.map((n) => sample(n, '700m')), current: 4, want: 4 },
  { name: 'a cpu pod without a Ready condition is unready: 2 pods at 90% and it (at 0) make 60%: ceil(1.2 x 3) = 4',
    pods: [pod('a'), pod('b'), pod('c', { ready: null })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'a cpu pod without a start time is unready: ceil(1.2 x 3) = 4',
    pods: [pod('a'), pod('b'), pod('c', { started: null })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'all pods unready: the metric fails',
    pods: abc.map((n) => pod(n, NEVER_READY)), samples: abc.map((n) => sample(n, '900m')), current: 3,
    want: /^failed to get cpu utilization: did not receive metrics for targeted pods \(pods might be unready\)$/ },
]);

table('cpu initialization period (5 min after start) and initial readiness delay (30 s)', [
  { name: 'within the period, a pod whose sample began before it was Ready counts as 0: 2 pods at 90% and it make 60%: ceil(1.2 x 3) = 4 (not 6)',
    pods: [pod('a'), pod('b'), pod('c', { started: -120, readyAt: -15 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'within the period, a pod with a full window sampled after it became Ready counts: ceil(1.8 x 3) = 6',
    pods: [pod('a'), pod('b'), pod('c', { started: -120, readyAt: -90 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 6 },
  { name: 'within the period, a sample ending exactly one window after readiness counts (not before): ceil(1.8 x 3) = 6',
    pods: [pod('a'), pod('b'), pod('c', { started: -120, readyAt: -40 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 6 },
  { name: 'within the period, a pod that is not Ready counts as 0 even with an old sample: ceil(1.2 x 3) = 4',
    pods: [pod('a'), pod('b'), pod('c', { started: -120, ready: 'False', readyAt: -90 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'after the period, a pod that went unready after being Ready still counts: ceil(1.8 x 3) = 6',
    pods: [pod('a'), pod('b'), pod('c', { ready: 'False', readyAt: -540 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 6 },
  { name: 'after the period, a pod not Ready since within 30 s of its start never was Ready: counts as 0: ceil(1.2 x 3) = 4',
    pods: [pod('a'), pod('b'), pod('c', { ready: 'False', readyAt: -571 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'a pod that turned not Ready exactly 30 s after its start counts (the delay is exclusive): ceil(1.8 x 3) = 6',
    pods: [pod('a'), pod('b'), pod('c', { ready: 'False', readyAt: -570 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 6 },
  { name: 'memory ignores readiness: a never-Ready pod\'s sample counts: 3 pods at 240Mi of 256Mi = 93%: ceil(1.86 x 3) = 6 (cpu would ask for 4)',
    resource: 'memory', pods: [pod('a'), pod('b'), pod('c', NEVER_READY)], samples: abc.map((n) => sample(n, undefined, { memory: '240Mi' })), current: 3, want: 6 },
]);

table('pods without metrics: counted against the direction of the change', [
  { name: 'on a scale-down a pod without metrics counts at 100% of its request: 4 pods at 10% and it make 28%: ceil(0.56 x 5) = 3 (not 1)',
    pods: ['a', 'b', 'c', 'd', 'e'].map((n) => pod(n)), samples: ['a', 'b', 'c', 'd'].map((n) => sample(n, '100m')), current: 5, want: 3,
    why: /1 pod without metrics counted at 100% of requests: 28% of requests: ceil\(0\.56 x 5 pods\) = 3$/ },
  { name: 'with a target above 100% it counts at the target: 200% target, 2 pods at 30% and it at 2000m make 86%: ceil(0.43 x 3) = 2 (not 1)',
    target: { type: 'Utilization', averageUtilization: 200 }, pods: abc.map((n) => pod(n)), samples: [sample('a', '300m'), sample('b', '300m')], current: 3, want: 2 },
  { name: 'on a scale-up it counts as 0: 3 pods at 70% and it make 52%, within tolerance: stays at 4',
    pods: ['a', 'b', 'c', 'd'].map((n) => pod(n)), samples: abc.map((n) => sample(n, '700m')), current: 4, want: 4, why: /1 pod without metrics counted at 0/ },
  { name: 'counting it at 100% that turns a scale-down into a scale-up keeps the count: 1 pod at 40% and 2 at 100% make 80%, ratio 1.6: stays at 3',
    pods: abc.map((n) => pod(n)), samples: [sample('a', '400m')], current: 3, want: 3, why: /would reverse the direction/ },
  { name: 'a scale-up that would end below the current count keeps it: 2 pods at 100% and 1 at 0 make 66%: ceil(1.32 x 3) = 4 < 10: stays at 10',
    pods: abc.map((n) => pod(n)), samples: [sample('a', '1'), sample('b', '1')], current: 10, want: 10 },
  { name: 'a pod whose sample lacks the container asked for is missing: container app at 90% in 2 pods, 3rd at 0: ceil(1.2 x 3) = 4',
    containerName: 'app', pods: abc.map((n) => pod(n)), samples: [sample('a', '900m'), sample('b', '900m'), { name: 'c', timestamp: at(-10), windowMs: 30_000, containers: [{ name: 'other', usage: { cpu: 900n } }] }], current: 3, want: 4 },
  { name: 'a pod whose sample misses cpu in one container is missing: 2 pods at 90%, 3rd at 0: ceil(1.2 x 3) = 4',
    pods: abc.map((n) => pod(n)), samples: [sample('a', '900m'), sample('b', '900m'), sample('c', undefined, { memory: '1Mi' })], current: 3, want: 4 },
]);

table('which pods count at all', [
  { name: 'deleted and failed pods are ignored: 2 pods at 70%: ceil(1.4 x 2) = 3',
    pods: [pod('a'), pod('b'), pod('c', { phase: 'Failed', ready: 'False' }), pod('d', { deleted: true })], samples: [sample('a', '700m'), sample('b', '700m'), sample('d', '700m')], current: 4, want: 3 },
  { name: 'samples of pods the selector does not list are extraneous: they add no request and count nowhere: ceil(1.8 x 2) = 4',
    pods: [pod('a'), pod('b')], samples: [sample('a', '900m'), sample('b', '900m'), sample('zz', '0')], current: 2, want: 4 },
]);

table('containerName and requests', [
  { name: 'containerName measures that container: app at 450m of 500m = 90%: ceil(1.8 x 2) = 4 (the whole pod, 450m of 600m = 75%, would ask for 3)',
    containerName: 'app', pods: ['a', 'b'].map((n) => pod(n, { containers: [{ name: 'app', cpu: '500m' }, { name: 'proxy', cpu: '100m' }] })),
    samples: ['a', 'b'].map((n) => sample(n, '450m', { more: [{ name: 'proxy', cpu: '0' }] })), current: 2, want: 4 },
  { name: 'the whole pod sums its containers: 450m of 600m = 75%: ceil(1.5 x 2) = 3',
    pods: ['a', 'b'].map((n) => pod(n, { containers: [{ name: 'app', cpu: '500m' }, { name: 'proxy', cpu: '100m' }] })),
    samples: ['a', 'b'].map((n) => sample(n, '450m', { more: [{ name: 'proxy', cpu: '0' }] })), current: 2, want: 3 },
  { name: 'a sidecar (restartable init container) adds its request: 900m of 1 + 1 cpu = 45%, within tolerance: stays at 2',
    pods: ['a', 'b'].map((n) => pod(n, { sidecars: [{ name: 'mesh', cpu: '1' }] })),
    samples: ['a', 'b'].map((n) => sample(n, '900m', { more: [{ name: 'mesh', cpu: '0' }] })), current: 2, want: 2 },
  { name: 'pod-level requests replace the containers\' sum: 1800m of a 2 cpu pod = 90%: ceil(1.8 x 2) = 4',
    pods: ['a', 'b'].map((n) => pod(n, { podCpu: '2', containers: [{ name: 'app' }] })), samples: ['a', 'b'].map((n) => sample(n, '1800m')), current: 2, want: 4 },
  { name: 'a container without a cpu request fails the metric, naming container and pod',
    pods: [pod('a', { containers: [{ name: 'app', cpu: '1' }, { name: 'proxy' }] })], samples: [sample('a', '1', { more: [{ name: 'proxy', cpu: '1' }] })], current: 1,
    want: /^failed to get cpu utilization: missing request for cpu in container proxy of Pod a$/ },
  { name: 'a containerName no pod has fails the metric',
    containerName: 'web', pods: [pod('a')], samples: [{ name: 'a', timestamp: at(-10), windowMs: 30_000, containers: [{ name: 'web', usage: { cpu: 1n } }] }], current: 1,
    want: /^failed to get cpu utilization: container web not found in Pod a$/ },
  { name: 'a pod-level request without cpu fails the metric when no container requests it either',
    pods: [{ ...pod('a', { containers: [{ name: 'app' }] }), podRequests: { memory: q('1Gi') } }], samples: [sample('a', '1')], current: 1,
    want: /^failed to get cpu utilization: missing pod-level request for cpu in Pod a$/ },
  { name: 'requests of 0 leave nothing to divide by',
    pods: [pod('a', { containers: [{ name: 'app', cpu: '0' }] })], samples: [sample('a', '1')], current: 1, want: /no metrics returned matched known pods$/ },
]);

table('AverageValue: the average per pod against a quantity', [
  { name: 'memory 300Mi, 300Mi and 420Mi average 340Mi against 256Mi: ceil(1.328125 x 3) = 4',
    resource: 'memory', target: { type: 'AverageValue', averageValueMilli: q('256Mi') }, pods: abc.map((n) => pod(n)),
    samples: [sample('a', undefined, { memory: '300Mi' }), sample('b', undefined, { memory: '300Mi' }), sample('c', undefined, { memory: '420Mi' })], current: 3, want: 4,
    why: /^memory 340Mi per pod, target 256Mi: ceil\(1\.328 x 3 ready\) = 4$/ },
  { name: 'memory within tolerance (270Mi against 256Mi, ratio 1.05): stays at 3',
    resource: 'memory', target: { type: 'AverageValue', averageValueMilli: q('256Mi') }, pods: abc.map((n) => pod(n)),
    samples: abc.map((n) => sample(n, undefined, { memory: '270Mi' })), current: 3, want: 3 },
  { name: 'on a scale-down a pod without metrics counts at the target: 64Mi, 64Mi and 256Mi average 128Mi: ceil(0.5 x 3) = 2 (not 1)',
    resource: 'memory', target: { type: 'AverageValue', averageValueMilli: q('256Mi') }, pods: abc.map((n) => pod(n)),
    samples: [sample('a', undefined, { memory: '64Mi' }), sample('b', undefined, { memory: '64Mi' })], current: 3, want: 2, why: /counted at the target/ },
  { name: 'cpu AverageValue 500m keeps the cpu readiness rules: 2 pods at 900m and a young one at 0 average 600m: ceil(1.2 x 3) = 4',
    target: { type: 'AverageValue', averageValueMilli: q('500m') }, pods: [pod('a'), pod('b'), pod('c', { started: -60, readyAt: -15 })], samples: abc.map((n) => sample(n, '900m')), current: 3, want: 4 },
  { name: 'the average is whole milli-units: 1001m over 3 pods is 333m against 300m (ratio 1.11): ceil(3.33) = 4',
    target: { type: 'AverageValue', averageValueMilli: q('300m') }, pods: abc.map((n) => pod(n)), samples: [sample('a', '1001m'), sample('b', '0'), sample('c', '0')], current: 3, want: 4 },
]);

table('no metrics: the metric fails with the HPA\'s error', [
  { name: 'metrics.k8s.io unavailable', pods: [pod('a')], samples: { error: 'GET /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods: 404 NotFound' }, current: 1,
    want: /^failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: GET .*404 NotFound$/ },
  { name: 'no PodMetrics for the target\'s pods', pods: [pod('a')], samples: [], current: 1,
    want: /^failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API$/ },
  { name: 'no pods match the selector', pods: [], samples: [sample('a', '1')], current: 1,
    want: /^failed to get cpu utilization: no pods returned by selector while calculating replica count$/ },
  { name: 'AverageValue says usage', target: { type: 'AverageValue', averageValueMilli: 500n }, pods: [pod('a')], samples: [], current: 1,
    want: /^failed to get cpu usage: / },
]);
