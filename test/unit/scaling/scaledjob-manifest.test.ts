// The Job a ScaledJob creates, against KEDA v2.20 generateJobs (pkg/scaling/executor/scale_jobs.go)
// and its TestGenerateJobs expectations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jobManifest, type JobManifestInput } from '../../../src/scaling/scaledjob/manifest.ts';
import type { JobSpec } from '../../../src/scaling/scaledjob.ts';

const base = (o: Partial<JobManifestInput> = {}): JobManifestInput => ({
  name: 'orders',
  namespace: 'shop',
  uid: 'uid-1',
  generation: 4,
  labels: {},
  annotations: {},
  jobTargetRef: { backoffLimit: 2, template: { metadata: { labels: { app: 'worker' } }, spec: { containers: [{ name: 'w', image: 'w:1' }] } } },
  version: '0.1.0',
  ...o,
});

describe('the Job created for a ScaledJob', () => {
  it("has KEDA's generateName, labels, annotations and controlling owner", () => {
    const j = jobManifest(base({ labels: { team: 'a' }, annotations: { note: 'x' } }));
    assert.equal(j.apiVersion, 'batch/v1');
    assert.equal(j.kind, 'Job');
    assert.deepEqual(j.metadata, {
      generateName: 'orders-',
      namespace: 'shop',
      labels: {
        'app.kubernetes.io/name': 'orders',
        'app.kubernetes.io/version': '0.1.0',
        'app.kubernetes.io/part-of': 'orders',
        'app.kubernetes.io/managed-by': 'scalepass',
        'scaledjob.keda.sh/name': 'orders',
        team: 'a',
      },
      annotations: { 'scaledjob.keda.sh/generation': '4', note: 'x' },
      ownerReferences: [{ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', name: 'orders', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    });
  });

  it('copies jobTargetRef, labels its pods with scaledjob.keda.sh/name and sets restartPolicy OnFailure when none is given', () => {
    const j = jobManifest(base());
    assert.deepEqual(j.spec, {
      backoffLimit: 2,
      template: {
        metadata: { generateName: 'orders-', labels: { app: 'worker', 'scaledjob.keda.sh/name': 'orders' } },
        spec: { containers: [{ name: 'w', image: 'w:1' }], restartPolicy: 'OnFailure' },
      },
    });
  });

  it('keeps a restartPolicy Never the template asks for', () => {
    const ref: JobSpec = { template: { spec: { restartPolicy: 'Never', containers: [] } } };
    assert.equal(jobManifest(base({ jobTargetRef: ref })).spec.template.spec?.restartPolicy, 'Never');
  });

  it('leaves out the labels named in scaledjob.keda.sh/job-excluded-labels', () => {
    const j = jobManifest(base({ labels: { team: 'a', 'argocd.argoproj.io/instance': 'shop', tier: 'b' }, annotations: { 'scaledjob.keda.sh/job-excluded-labels': 'argocd.argoproj.io/instance,tier' } }));
    assert.equal(j.metadata.labels.team, 'a');
    assert.equal(j.metadata.labels['argocd.argoproj.io/instance'], undefined);
    assert.equal(j.metadata.labels.tier, undefined);
  });

  it("lets the ScaledJob's own labels override the ones KEDA sets, as KEDA does", () => {
    assert.equal(jobManifest(base({ labels: { 'app.kubernetes.io/name': 'custom' } })).metadata.labels['app.kubernetes.io/name'], 'custom');
  });

  it('does not change the ScaledJob it was built from', () => {
    const input = base();
    const before = structuredClone(input);
    jobManifest(input);
    assert.deepEqual(input, before);
  });
});
