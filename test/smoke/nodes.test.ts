// Pods really run on the harness: kube-scheduler binds them to kwok's simulated nodes, kwok plays the
// kubelets (Running, Ready, Job pods finishing, deleted pods gone), and metrics-server serves their
// usage — set by annotations — through metrics.k8s.io, as `kubectl top` sees it.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { harness, type Harness } from '../helpers/harness.ts';
import { ApiError } from '../../src/kube/rest.ts';
import { KUBECTL } from '../helpers/install.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state: { terminated?: { exitCode: number } } }[] };
}
interface Job { status: { startTime?: string; completionTime?: string; succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] } }

const ready = (p: Pod) => p.status.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const condition = (j: Job, type: string) => j.status.conditions?.some((c) => c.type === type && c.status === 'True');

function job(name: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
    spec: { backoffLimit: 0, template: { metadata: { annotations }, spec: {
      restartPolicy: 'Never', containers: [{ name: 'work', image: 'registry.invalid/work:1' }] } } },
  };
}

/** Kubernetes quantities as metrics-server writes them (n/u/m, Ki/Mi/Gi, plain). */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(n|u|m|k|Ki|Mi|Gi|M|G)?$/.exec(q);
  assert.ok(m, `unexpected quantity ${q}`);
  const f: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (m[2] ? f[m[2]]! : 1);
}

describe('simulated nodes', () => {
  let h: Harness;
  let ns: string;
  before(async () => {
    h = await harness();
    ns = await h.namespace('nodes');
  });

  it('schedules a Deployment\'s pods onto the simulated nodes, where they become Ready', async () => {
    await h.admin.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1',
          resources: { requests: { cpu: '100m', memory: '64Mi' } } }] } } },
    });
    await until('Deployment web has 3 ready replicas', async () => {
      const d = await h.admin.get<{ status: { readyReplicas?: number; availableReplicas?: number } }>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
      return d.status.readyReplicas === 3 && d.status.availableReplicas === 3 ? d : undefined;
    });
    const pods = await h.admin.list<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app=web' } });
    assert.equal(pods.items.length, 3);
    for (const p of pods.items) {
      assert.ok(h.state.nodes.includes(p.spec.nodeName ?? ''), `${p.metadata.name} is on ${p.spec.nodeName}, not a harness node`);
      assert.ok(ready(p), `${p.metadata.name} is ${p.status.phase}, not Running and Ready`);
    }
  });

  it('runs a Job\'s pod to completion and the Job succeeds, after the run time its pod asks for', async () => {
    await h.admin.create(`/apis/batch/v1/namespaces/${ns}/jobs`, job('ok', { 'pod-complete.stage.kwok.x-k8s.io/delay': '3s' }));
    const j = await until('Job ok Complete', async () => {
      const j = await h.admin.get<Job>(`/apis/batch/v1/namespaces/${ns}/jobs/ok`);
      return condition(j, 'Complete') ? j : undefined;
    });
    assert.equal(j.status.succeeded, 1);
    const ran = Date.parse(j.status.completionTime!) - Date.parse(j.status.startTime!);
    assert.ok(ran >= 2000, `the pod ran ${ran} ms, not the 3 s it asked for (times have 1 s resolution)`);
    const pods = await h.admin.list<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'job-name=ok' } });
    assert.equal(pods.items[0]?.status.phase, 'Succeeded');
    assert.equal(pods.items[0]?.status.containerStatuses?.[0]?.state.terminated?.exitCode, 0);
  });

  it('fails a Job whose pod is annotated scalepass.dev/test-outcome=fail', async () => {
    await h.admin.create(`/apis/batch/v1/namespaces/${ns}/jobs`, job('bad', { 'scalepass.dev/test-outcome': 'fail' }));
    const j = await until('Job bad Failed', async () => {
      const j = await h.admin.get<Job>(`/apis/batch/v1/namespaces/${ns}/jobs/bad`);
      return condition(j, 'Failed') ? j : undefined;
    });
    assert.equal(j.status.failed, 1);
    assert.ok(!condition(j, 'Complete'));
    const pods = await h.admin.list<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'job-name=bad' } });
    assert.equal(pods.items[0]?.status.phase, 'Failed');
    assert.equal(pods.items[0]?.status.containerStatuses?.[0]?.state.terminated?.exitCode, 1);
  });

  it('removes a deleted pod without waiting out its grace period', async () => {
    await h.admin.create(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gone' },
      spec: { terminationGracePeriodSeconds: 600, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    });
    await until('pod gone Ready', async () => (ready(await h.admin.get<Pod>(`/api/v1/namespaces/${ns}/pods/gone`)) ? true : undefined));
    await h.admin.delete(`/api/v1/namespaces/${ns}/pods/gone`);
    await until('pod gone deleted', async () => {
      try {
        await h.admin.get<Pod>(`/api/v1/namespaces/${ns}/pods/gone`);
        return undefined;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return true;
        throw e;
      }
    }, 15_000);
  });

  it('serves a pod\'s CPU and memory from its annotations through metrics.k8s.io and kubectl top', { timeout: 90_000 }, async () => {
    await h.admin.create(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'busy', annotations: { 'kwok.x-k8s.io/usage-cpu': '250m', 'kwok.x-k8s.io/usage-memory': '64Mi' } },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    });
    // metrics-server needs two scrapes (10 s apart) of a running pod: CPU is a rate of cumulative seconds
    const m = await until('metrics.k8s.io has pod busy', async () => {
      try {
        return await h.admin.get<{ containers: { name: string; usage: { cpu: string; memory: string } }[] }>(
          `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods/busy`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }
    }, 60_000);
    const usage = m.containers.find((c) => c.name === 'app')!.usage;
    assert.equal(quantity(usage.memory), 64 * 2 ** 20, `memory ${usage.memory}`);
    // a rate between two scrapes: kwok integrates 250m over time, metrics-server divides by the scrape gap
    const cpu = quantity(usage.cpu);
    assert.ok(Math.abs(cpu - 0.25) <= 0.0125, `cpu ${usage.cpu} is not 250m within 5 %`);

    const { stdout } = await run(KUBECTL, ['--kubeconfig', h.state.kubeconfig, 'top', 'pod', 'busy', '-n', ns, '--no-headers']);
    assert.match(stdout, /^busy\s+(24\dm|25\dm)\s+64Mi\s*$/m, `kubectl top: ${stdout}`);
  });
});
