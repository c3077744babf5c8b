// The Job a ScaledJob creates, as KEDA v2.20 generateJobs builds it (pkg/scaling/executor/scale_jobs.go):
// - name: generateName `<scaledjob>-`, the API server adds the random suffix;
// - labels: app.kubernetes.io/{name,version,part-of,managed-by} and scaledjob.keda.sh/name, then the
//   ScaledJob's own labels on top, minus those listed in scaledjob.keda.sh/job-excluded-labels;
// - annotations: scaledjob.keda.sh/generation, then every annotation of the ScaledJob on top;
// - the ScaledJob as controlling owner (garbage collection removes its Jobs with it);
// - spec: jobTargetRef, whose pod template gets generateName `<scaledjob>-` and the label
//   scaledjob.keda.sh/name (so one pod LIST by that label finds every Job's pods), and restartPolicy
//   OnFailure when none is given (a Job refuses Always, the pod default).
// Differences from KEDA: managed-by says scalepass and version is scalepass's, not keda-operator's.

import { GENERATION_ANNOTATION } from './jobs.ts';
import type { JobManifest, JobSpec, ScaledJobDecideInput } from './types.ts';

export const SCALEDJOB_NAME_LABEL = 'scaledjob.keda.sh/name';
export const EXCLUDED_LABELS_ANNOTATION = 'scaledjob.keda.sh/job-excluded-labels';
export const MANAGED_BY = 'scalepass';

/** The ScaledJob's own identity, as the decision has it, plus what the Job is made from. */
export type JobManifestInput = Pick<ScaledJobDecideInput, 'name' | 'namespace' | 'uid' | 'generation' | 'labels' | 'annotations'> & {
  jobTargetRef: JobSpec;
  version: string;
};

export function jobManifest(i: JobManifestInput): JobManifest {
  const excluded = new Set(i.annotations[EXCLUDED_LABELS_ANNOTATION]?.split(',') ?? []);
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': i.name,
    'app.kubernetes.io/version': i.version,
    'app.kubernetes.io/part-of': i.name,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [SCALEDJOB_NAME_LABEL]: i.name,
  };
  for (const [k, v] of Object.entries(i.labels)) if (!excluded.has(k)) labels[k] = v;

  const spec = structuredClone(i.jobTargetRef);
  const template = spec.template ?? {};
  template.metadata = {
    ...template.metadata,
    generateName: `${i.name}-`,
    labels: { ...template.metadata?.labels, [SCALEDJOB_NAME_LABEL]: i.name },
  };
  if (!template.spec?.restartPolicy) template.spec = { ...template.spec, restartPolicy: 'OnFailure' };
  spec.template = template;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      generateName: `${i.name}-`,
      namespace: i.namespace,
      labels,
      annotations: { [GENERATION_ANNOTATION]: String(i.generation), ...i.annotations },
      ownerReferences: [
        { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', name: i.name, uid: i.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec,
  };
}
