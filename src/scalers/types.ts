// The scaler contract: one file per trigger type implements it; the registry maps type -> factory.

import type { MetricType, TriggerSpec } from '../scaling/types.ts';
import type { ClientRegistry } from './clients.ts';

export interface ScalerContext {
  namespace: string;
  scaledObjectName: string;
  triggerIndex: number;
  trigger: TriggerSpec;
  /** resolved auth parameters from TriggerAuthentication (secret values: never log them) */
  authParams: Record<string, string>;
  /** env of the scale target's container, resolved (for `...FromEnv` metadata) */
  resolvedEnv: Record<string, string>;
  /** ms since epoch; scalers that depend on time (cron) use this, never Date.now() */
  now: number;
  /** aborts when the per-trigger timeout or the pass deadline is reached */
  signal: AbortSignal;
  /**
   * true when the ScaledObject has a scalingModifiers formula: its triggers are then metric sources for the
   * formula and may omit their own target (KEDA's AsMetricSource)
   */
  asMetricSource?: boolean;
  /**
   * the pass's backend connections, shared by the triggers that name the same server and credentials; without
   * it (tests, scripts) a scaler keeps connections of its own and its close() ends them
   */
  clients?: ClientRegistry;
  /** where a scaler reports its HTTP requests and empty answers (KEDA's per-request instruments); absent outside a pass */
  telemetry?: ScalerTelemetry;
  /** cluster access for scalers that need it (kubernetes-workload) */
  kube?: {
    /** pods in `namespace` matching the selector whose phase is not Succeeded/Failed (Pending, Running, Unknown count) */
    countPods(namespace: string, labelSelector: string, signal: AbortSignal): Promise<number>;
    /** distinct spec.nodeName among the pods countPods counts, unscheduled ones excluded (groupByNode) */
    countPodNodes(namespace: string, labelSelector: string, signal: AbortSignal): Promise<number>;
  };
}

/** What a scaler reports about its own reads; the pass turns it into KEDA's instruments for this trigger. */
export interface ScalerTelemetry {
  /** one HTTP request of a metric read: seconds until the response headers (or the failure); status undefined = no response */
  httpRequest(seconds: number, status: number | undefined): void;
  /** the source answered with no value at all (prometheus: an empty result vector or value list) */
  emptyResponse(ignoreNullValues: boolean): void;
}

export interface MetricSpec {
  /** KEDA metric name, `s<index>-<suffix>` */
  metricName: string;
  metricType: MetricType;
  target: number;
  activationTarget: number;
}

export interface MetricReading {
  value: number;
  active: boolean;
}

export interface Scaler {
  readonly spec: MetricSpec;
  /**
   * Learns the metric name and target from the source, for a scaler whose metadata does not say them
   * (external's GetMetricSpec); `spec` holds them once it resolves. Its own step, before every measure():
   * a failed read then still carries what was learned, and the source may change them at any time (KEDA
   * asks on every poll). Absent when the metadata says everything.
   */
  learnSpec?(ctx: ScalerContext): Promise<void>;
  measure(ctx: ScalerContext): Promise<MetricReading>;
  close(): Promise<void>;
}

/** Parses and validates metadata; throws ScalerConfigError naming the field on bad input. */
export type ScalerFactory = (ctx: Omit<ScalerContext, 'signal' | 'now'>) => Scaler;

export class ScalerConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'ScalerConfigError';
    this.field = field;
  }
}
