// Plain data in and out of the ScaledJob decision. Nothing here does I/O or reads the clock.
// Field names and meanings follow KEDA's apis/keda/v1alpha1/scaledjob_types.go.

import type { Condition, DecisionEvent, TriggerMeasurement, TriggerSpec } from '../types.ts';

/** a batch/v1 JobSpec; only the pod template's metadata and restartPolicy are looked into */
export interface JobSpec {
  template: PodTemplate;
  [field: string]: unknown;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: { restartPolicy?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export type RolloutStrategy = 'gradual' | 'immediate';
export type ScalingStrategyName = 'default' | 'custom' | 'accurate' | 'eager';
export type MultipleScalersCalculation = 'max' | 'min' | 'avg' | 'sum';

export interface ScalingStrategySpec {
  strategy?: ScalingStrategyName;
  customScalingQueueLengthDeduction?: number;
  /** a float as a string, e.g. "0.5" */
  customScalingRunningJobPercentage?: string;
  pendingPodConditions?: string[];
  multipleScalersCalculation?: MultipleScalersCalculation;
}

export interface ScaledJobSpec {
  jobTargetRef: JobSpec;
  pollingInterval?: number;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  /** deprecated; wins over rollout.strategy when set */
  rolloutStrategy?: RolloutStrategy;
  rollout?: { strategy?: RolloutStrategy; propagationPolicy?: 'foreground' | 'background' };
  envSourceContainerName?: string;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  scalingStrategy?: ScalingStrategySpec;
  triggers: TriggerSpec[];
}

/** KEDA's ScaledJobStatus, every field (KEDA writes no `Paused` value; it is kept as found) */
export interface ScaledJobStatus {
  lastActiveTime?: string;
  conditions?: Condition[];
  Paused?: string;
  triggersTypes?: string;
  authenticationsTypes?: string;
  externalMetricNames?: string[];
  triggersActivity?: Record<string, { isActive: boolean }>;
}

export interface PodSummary {
  /** status.phase: Pending, Running, Succeeded, Failed, Unknown */
  phase?: string;
  conditions?: Array<{ type: string; status: string }>;
}

/** One Job labelled `scaledjob.keda.sh/name=<scaledjob>`, as much of it as the decisions read. */
export interface JobSummary {
  name: string;
  creationTimestamp: string;
  /** metadata.deletionTimestamp is set: the API server is already removing it */
  deleting?: boolean;
  /** metadata.annotations['scaledjob.keda.sh/generation'] */
  generation?: string;
  /** status.completionTime */
  completionTime?: string;
  /** status.conditions */
  conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }>;
  /** its pods (label job-name=<name>); only read for unfinished Jobs */
  pods?: PodSummary[];
}

export type PropagationPolicy = 'Background' | 'Foreground';

export interface JobDeletion {
  name: string;
  propagationPolicy: PropagationPolicy;
  why: 'rollout' | 'successful-history' | 'failed-history';
}

/** what the API needs to create one Job; `generateName` lets the server pick the suffix, as KEDA does */
export interface JobManifest {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: {
    generateName: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }>;
  };
  spec: JobSpec;
}

export interface ScaledJobDecideInput {
  name: string;
  namespace: string;
  uid: string;
  /** metadata.generation: Jobs carry it, and a rollout replaces the Jobs of other generations */
  generation: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: ScaledJobSpec;
  status: ScaledJobStatus;
  /** empty while paused: a paused ScaledJob is not measured */
  measurements: TriggerMeasurement[];
  /** every Job with label scaledjob.keda.sh/name=<name> in the namespace */
  jobs: JobSummary[];
  /** ms since epoch: this pass's time */
  now: number;
  /** this ScaledJob's previous evaluation (ms), when the shard has a record of it; see ../last-active.ts */
  previousEvaluation?: number;
  /** scalepass's version, for the app.kubernetes.io/version label on the Jobs it creates */
  version: string;
}

export interface ScaledJobDecision {
  /** how many copies of `job` to create */
  jobsToCreate: number;
  /** the Job to create `jobsToCreate` times; present whenever the object was evaluated */
  job: JobManifest | undefined;
  /** Jobs to delete: a rollout's first, then finished Jobs beyond the history limits */
  deletions: JobDeletion[];
  /** why, in one human line */
  reason: string;
  active: boolean;
  paused: boolean;
  /** unfinished Jobs (after this pass's rollout) and, of them, those still pending */
  running: number;
  pending: number;
  /** complete new status (the caller diffs it against the old one and writes only on change) */
  status: ScaledJobStatus;
  /** as if every create and delete succeeds; see eventsAfterJobWrites for the failures */
  events: DecisionEvent[];
  /** metric values per metric name, for reporting */
  metricValues: Record<string, number>;
}
