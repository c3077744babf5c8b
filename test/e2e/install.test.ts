// `kubectl apply -k kustomize/` as a user runs it, with the real kubectl against the real apiserver.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { harness, type Harness } from '../helpers/harness.ts';
import { install, kubectl, ROOT, SYSTEM_NS } from '../helpers/install.ts';
import { load as loadYaml } from 'js-yaml';

describe('install', () => {
  let h: Harness;
  before(async () => { h = await harness(); });

  it('server-side applies kustomize/base: CRDs established, least-privilege RBAC, a CronJob every minute in mode period', async () => {
    const out = await install(h);
    assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/scaledobjects.keda.sh serverside-applied/);
    assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/scaledjobs.keda.sh serverside-applied/);
    const cj = await h.admin.get<{ spec: { schedule: string; concurrencyPolicy: string; jobTemplate: { spec: { activeDeadlineSeconds: number; template: { spec: {
      serviceAccountName: string; securityContext: { runAsNonRoot: boolean }; containers: { env: { name: string }[]; securityContext: { allowPrivilegeEscalation: boolean } }[] } } } } } }>(
      `/apis/batch/v1/namespaces/${SYSTEM_NS}/cronjobs/scalepass`);
    assert.equal(cj.spec.schedule, '* * * * *');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    assert.ok(cj.spec.jobTemplate.spec.activeDeadlineSeconds > 0 && cj.spec.jobTemplate.spec.activeDeadlineSeconds < 60);
    const pod = cj.spec.jobTemplate.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'scalepass');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0]!.securityContext.allowPrivilegeEscalation, false);
    for (const e of ['SCALEPASS_JOB_NAME', 'POD_NAMESPACE', 'OTEL_EXPORTER_OTLP_ENDPOINT']) assert.ok(pod.containers[0]!.env.some((x) => x.name === e), `${e} missing`);
    // mode period: a run stays for its minute, and its deadline plus the flush end it before activeDeadlineSeconds and the next tick
    const cm = await h.admin.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${SYSTEM_NS}/configmaps/scalepass-config`);
    const config = loadYaml(cm.data['config.yaml']!) as { mode: string; passDeadlineMs: number; flushTimeoutMs: number };
    assert.equal(config.mode, 'period');
    assert.ok(config.passDeadlineMs + config.flushTimeoutMs < cj.spec.jobTemplate.spec.activeDeadlineSeconds * 1000, JSON.stringify(config));
    // the namespace enforces the restricted Pod Security Standard, which the Job's pod template meets
    const ns = await h.admin.get<{ metadata: { labels: Record<string, string> } }>(`/api/v1/namespaces/${SYSTEM_NS}`);
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  it('applying it twice changes nothing (idempotent)', async () => {
    await install(h);
    const out = await kubectl(h, ['apply', '--server-side', '--force-conflicts', '-k', path.join(ROOT, 'kustomize/base')]);
    assert.doesNotMatch(out, /created/);
  });

  it('the sharded overlay builds and passes server-side validation as an Indexed Job of 3', async () => {
    const out = await kubectl(h, ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-k', path.join(ROOT, 'kustomize/overlays/sharded'), '-o', 'json']);
    const list = JSON.parse(out) as { items: { kind: string; spec: { jobTemplate?: { spec: { completionMode: string; completions: number; parallelism: number } } } }[] };
    const cj = list.items.find((i) => i.kind === 'CronJob')!;
    assert.equal(cj.spec.jobTemplate!.spec.completionMode, 'Indexed');
    assert.equal(cj.spec.jobTemplate!.spec.completions, 3);
  });

  it("accepts a KEDA ScaledJob manifest unchanged, keeps its pod template whole and fills in KEDA's defaults", async () => {
    await install(h);
    const out = await kubectl(h, ['apply', '--server-side', '--dry-run=server', '-n', 'default', '-f', '-', '-o', 'json'], SCALED_JOB);
    const sj = JSON.parse(out) as { spec: Record<string, unknown> & { jobTargetRef: { backoffLimit: number; template: { spec: { containers: Array<Record<string, unknown>> } } } } };
    assert.equal(sj.spec.pollingInterval, 30);
    assert.equal(sj.spec.successfulJobsHistoryLimit, 100);
    assert.equal(sj.spec.failedJobsHistoryLimit, 100);
    assert.equal(sj.spec.minReplicaCount, 0);
    // KEDA counts an unset maximum differently from an explicit 100: left unset
    assert.equal(sj.spec.maxReplicaCount, undefined);
    assert.equal(sj.spec.jobTargetRef.backoffLimit, 4);
    assert.deepEqual(sj.spec.jobTargetRef.template.spec.containers[0]!.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    assert.deepEqual(sj.spec.scalingStrategy, { strategy: 'accurate', pendingPodConditions: ['Ready', 'PodScheduled'] });
  });

  it('refuses a ScaledJob with an unknown scaling strategy, naming the field', async () => {
    await install(h);
    await assert.rejects(
      kubectl(h, ['apply', '--server-side', '--dry-run=server', '-n', 'default', '-f', '-'], SCALED_JOB.replace('strategy: accurate', 'strategy: fastest')),
      /spec\.scalingStrategy\.strategy: Unsupported value: "fastest"/,
    );
  });

  it('the ServiceAccount may not list Secrets or change Deployments beyond /scale, and may list pod metrics and LimitRanges', async () => {
    await install(h);
    const can = async (verb: string, resource: string, sub = '', group = resource === 'deployments' ? 'apps' : '') => {
      const r = await h.admin.create<{ status: { allowed: boolean } }>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${SYSTEM_NS}:scalepass`, groups: ['system:serviceaccounts'],
          resourceAttributes: { namespace: 'default', verb, group, resource, subresource: sub } },
      });
      return r.status.allowed;
    };
    assert.equal(await can('list', 'secrets'), false);
    assert.equal(await can('get', 'secrets'), true);
    assert.equal(await can('patch', 'deployments'), false);
    assert.equal(await can('patch', 'deployments', 'scale'), true);
    assert.equal(await can('delete', 'pods'), false);
    // cpu/memory triggers: pod metrics and LimitRanges are listed, never read one by one or changed
    assert.equal(await can('list', 'pods', '', 'metrics.k8s.io'), true);
    assert.equal(await can('get', 'pods', '', 'metrics.k8s.io'), false);
    assert.equal(await can('list', 'limitranges'), true);
    assert.equal(await can('update', 'limitranges'), false);
  });

  it('for ScaledJobs the ServiceAccount may list, create and delete Jobs and replace ScaledJob status, and no more', async () => {
    await install(h);
    const can = async (verb: string, group: string, resource: string, sub = '') => {
      const r = await h.admin.create<{ status: { allowed: boolean } }>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${SYSTEM_NS}:scalepass`, groups: ['system:serviceaccounts'],
          resourceAttributes: { namespace: 'shop', verb, group, resource, subresource: sub } },
      });
      return `${verb} ${group || 'core'}/${resource}${sub ? `/${sub}` : ''}: ${r.status.allowed}`;
    };
    const asked = [
      ['list', 'keda.sh', 'scaledjobs'], ['get', 'keda.sh', 'scaledjobs'], ['update', 'keda.sh', 'scaledjobs', 'status'],
      ['update', 'keda.sh', 'scaledjobs', 'finalizers'],
      ['list', 'batch', 'jobs'], ['create', 'batch', 'jobs'], ['delete', 'batch', 'jobs'], ['list', '', 'pods'],
      ['update', 'keda.sh', 'scaledjobs'], ['patch', 'keda.sh', 'scaledjobs'], ['delete', 'keda.sh', 'scaledjobs'], ['patch', 'keda.sh', 'scaledjobs', 'status'],
      ['update', 'batch', 'jobs'], ['patch', 'batch', 'jobs'], ['watch', 'batch', 'jobs'], ['deletecollection', 'batch', 'jobs'],
      ['create', '', 'pods'], ['delete', '', 'pods'],
    ] as const;
    const answers = await Promise.all(asked.map(([v, g, r, sub]) => can(v, g, r, sub)));
    assert.deepEqual(answers, asked.map(([v, g, r, sub], i) => `${v} ${g || 'core'}/${r}${sub ? `/${sub}` : ''}: ${i < 8}`));
  });
});

// as KEDA's docs and e2e tests write one; the optional numbers are left out to see the defaults
const SCALED_JOB = `
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata:
  name: install-check
spec:
  jobTargetRef:
    backoffLimit: 4
    template:
      spec:
        containers:
          - name: consumer
            image: ghcr.io/kedacore/rabbitmq-client:v1.0
            command: [receive, job]
            securityContext:
              allowPrivilegeEscalation: false
              capabilities: { drop: [ALL] }
        restartPolicy: Never
  rollout:
    strategy: gradual
  scalingStrategy:
    strategy: accurate
    pendingPodConditions: [Ready, PodScheduled]
  triggers:
    - type: rabbitmq
      metadata:
        queueName: hello
        mode: QueueLength
        value: "1"
`;
