// Plain data in and out of the decision core. Nothing here does I/O or reads the clock.

import type { ResourceMetricInput } from './resource-metrics.ts';

export type MetricType = 'AverageValue' | 'Value' | 'Utilization';

export interface ScaleTargetRef {
  apiVersion?: string;
  kind?: string;
  name: string;
  envSourceContainerName?: string;
}

export interface HPAScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: HPAScalingPolicy[];
  tolerance?: string | number;
}

export interface HPABehavior {
  scaleUp?: HPAScalingRules;
  scaleDown?: HPAScalingRules;
}

export interface TriggerSpec {
  type: string;
  name?: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string; kind?: 'TriggerAuthentication' | 'ClusterTriggerAuthentication' };
  metricType?: MetricType;
  useCachedMetrics?: boolean;
}

export interface ScaledObjectSpec {
  scaleTargetRef: ScaleTargetRef;
  pollingInterval?: number;
  cooldownPeriod?: number;
  initialCooldownPeriod?: number;
  idleReplicaCount?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: {
    failureThreshold: number;
    replicas: number;
    behavior?: 'static' | 'currentReplicas' | 'currentReplicasIfHigher' | 'currentReplicasIfLower' | 'scalingModifiers';
  };
  advanced?: {
    restoreToOriginalReplicaCount?: boolean;
    horizontalPodAutoscalerConfig?: { name?: string; behavior?: HPABehavior };
    scalingModifiers?: { formula?: string; target?: string; activationTarget?: string; metricType?: MetricType };
  };
  triggers: TriggerSpec[];
}

export interface Condition {
  type: 'Ready' | 'Active' | 'Fallback' | 'Paused' | string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface HealthStatus {
  numberOfFailures?: number;
  status?: 'Happy' | 'Failing';
}

/** One past HPA recommendation, kept so the stabilization window survives between runs. */
export interface Recommendation {
  /** RFC 3339 */
  time: string;
  replicas: number;
}

/** One past scale change, kept so rate policies (Pods/Percent per period) survive between runs. */
export interface ScaleChange {
  time: string;
  /** positive = pods added, negative = pods removed */
  change: number;
}

/** The ScaledObject status: KEDA's fields plus the HPA state this project must carry between runs. */
export interface ScaledObjectStatus {
  scaleTargetKind?: string;
  scaleTargetGVKR?: { group: string; version: string; kind: string; resource: string };
  originalReplicaCount?: number;
  lastActiveTime?: string;
  externalMetricNames?: string[];
  resourceMetricNames?: string[];
  compositeScalerName?: string;
  health?: Record<string, HealthStatus>;
  triggersActivity?: Record<string, { isActive: boolean }>;
  pausedReplicaCount?: number;
  hpaName?: string;
  triggersTypes?: string;
  authenticationsTypes?: string;
  conditions?: Condition[];
  /** scalepass: HPA recommendation history (stabilization windows) */
  recommendations?: Recommendation[];
  /** scalepass: recent scale-up/scale-down changes (rate policies) */
  scaleEvents?: ScaleChange[];
}

/** What one trigger read produced in this pass (after the scaler ran, before fallback). */
export interface TriggerMeasurement {
  index: number;
  name?: string;
  type: string;
  /** KEDA external metric name, e.g. `s0-metric-api-value` */
  metricName: string;
  metricType: MetricType;
  /** the scaler's target (threshold / value / targetValue ...) */
  target: number;
  /** activation threshold; active iff value > activationTarget (cron/external decide on their own) */
  activationTarget: number;
  /** present when the read succeeded */
  value?: number;
  /** present when the read succeeded */
  active?: boolean;
  /** present when the read failed: a message safe to show (no secrets) */
  error?: string;
  /**
   * cpu/memory: what the HPA's Resource metric reads (the target's pods and their metrics.k8s.io
   * samples). Present unless the trigger's own configuration failed (then `error` says why); a failed
   * read of pods or metrics is inside it, and fails only the replica formula, as it fails only the HPA.
   */
  resource?: ResourceMetricInput;
}

/**
 * What the scale target's pod template declares for cpu and memory, for KEDA's missing-requests
 * check. Only read for apps/v1 Deployments and StatefulSets, as KEDA's webhook checks only those.
 */
export interface PodTemplateResources {
  /** spec.template.spec.containers: whether each sets a request or a limit above 0 */
  containers: { name: string; cpu: boolean; memory: boolean }[];
  /** a LimitRange in the namespace defaults containers' request or limit above 0 (looked up only when a container lacks one) */
  namespaceDefaults: { cpu: boolean; memory: boolean };
}

/** The scale target as read through /scale plus the ready-pod count the HPA would use. */
export interface TargetState {
  /** /scale spec.replicas */
  specReplicas: number;
  /** /scale status.replicas */
  statusReplicas: number;
  /** Running+Ready pods matching the /scale status selector (used by Value targets) */
  readyReplicas: number;
  /** `group/version.Kind`, for event texts */
  kind: string;
  namespace: string;
  name: string;
  /** present for a Deployment or StatefulSet targeted by cpu/memory triggers */
  podTemplate?: PodTemplateResources;
}

export interface DecideInput {
  name: string;
  namespace: string;
  spec: ScaledObjectSpec;
  annotations: Record<string, string>;
  creationTimestamp: string;
  status: ScaledObjectStatus;
  measurements: TriggerMeasurement[];
  target: TargetState;
  /** ms since epoch: this pass's time */
  now: number;
  /**
   * this object's previous evaluation (ms since epoch): the latest earlier pass in which it was due,
   * never earlier than the real one; undefined when the shard has no record (see last-active.ts)
   */
  previousEvaluation?: number;
  /**
   * apply every HPA sync (15 s) that fell since previousEvaluation, and one right after an activation,
   * instead of one per evaluation (a run in `period` mode; see hpa-catch-up.ts)
   */
  hpaCatchUp?: boolean;
}

export interface DecisionEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  /** replicas to set on /scale; equal to target.specReplicas when nothing changes */
  replicas: number;
  /** why, in one human line: 'scale-up limited by policy Pods/4 per 15s' */
  reason: string;
  active: boolean;
  paused: boolean;
  /** complete new status (caller diffs it against the old one and writes only on change) */
  status: ScaledObjectStatus;
  events: DecisionEvent[];
  /** metric values after fallback, per metric name, for reporting */
  metricValues: Record<string, number>;
  /** with scalingModifiers: the composite metric this pass (value absent when it could not be computed) */
  composite?: { value?: number; active: boolean; target: number };
}
