// The shipped CronJob, on the real kube-controller-manager, creates a Job stamped with its scheduled
// time; a run told its Job's name measures each evaluation against that time.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Harness } from '../helpers/harness.ts';
import { SYSTEM_NS } from '../helpers/install.ts';
import type { MetricsServer } from '../helpers/metrics-server.ts';
import { create, deployment, scaledObject, pass, suiteSetup } from '../helpers/fixtures.ts';

interface Job { metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] } }

describe('scheduled start from the CronJob', () => {
  let h: Harness;
  let kubeconfig: string;
  let src: MetricsServer;
  before(async () => ({ h, kubeconfig, src } = await suiteSetup(3)));
  after(async () => { await src.close(); });

  it('records keda.internal.scale.loop.latency as evaluation start minus the Job\'s scheduled timestamp', { timeout: 150_000 }, async () => {
    let job: Job | undefined;
    const t0 = Date.now();
    while (!job && Date.now() - t0 < 75_000) {
      const jobs = await h.admin.list<{ items: Job[] }>(`/apis/batch/v1/namespaces/${SYSTEM_NS}/jobs`);
      job = jobs.items.find((j) => j.metadata.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === 'scalepass'));
      if (!job) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(job, 'the scalepass CronJob created no Job within 75 s');
    const scheduled = Date.parse(job.metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp']!);
    assert.ok(Number.isFinite(scheduled));

    const ns = await h.namespace('e2e-latency');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const run = crypto.randomUUID();
    const started = Date.now() + 1100; // pass() waits 1.1 s before spawning
    const p = await pass(h, { kubeconfig, namespaces: [ns], env: {
      SCALEPASS_JOB_NAME: job.metadata.name, POD_NAMESPACE: SYSTEM_NS, OTEL_RESOURCE_ATTRIBUTES: `scalepass.test.run=${run}` } });
    const ended = Date.now();
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.report.scheduledStart.source, 'job-annotation');
    assert.match(p.stderr, /"source":"job-annotation"/);
    const pts = await h.waitForMetrics((ps) => ps.some((x) => x.name === 'keda.internal.scale.loop.latency'), 15_000,
      (x) => x.resource['scalepass.test.run'] === run && x.attrs.name === 'w');
    const latency = pts.find((x) => x.name === 'keda.internal.scale.loop.latency')!.value;
    // the evaluation started between process start and exit; allow 1 s either side
    assert.ok(latency >= started - scheduled - 1000 && latency <= ended - scheduled + 1000,
      `latency ${latency} ms not within [${started - scheduled - 1000}, ${ended - scheduled + 1000}]`);
    assert.equal(Math.round(latency), Math.round(p.report.objects[0]!.loopLatencyMs!), 'the exported value is the evaluation start the run reported');
  });

  it('without a Job, falls back to the previous tick of the configured schedule and says so', async () => {
    const ns = await h.namespace('e2e-adhoc');
    await create(h, ns, deployment('w', 0));
    await create(h, ns, scaledObject('w', { scaleTargetRef: { name: 'w' }, pollingInterval: 1,
      triggers: [{ type: 'metrics-api', metadata: { url: src.url, valueLocation: 'queue.depth', targetValue: '2' } }] }));
    const p = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(p.report.scheduledStart.source, 'cron-schedule');
    assert.equal(new Date(p.report.scheduledStart.time).getUTCSeconds(), 0);
  });
});
