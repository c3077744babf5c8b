// The pause and activation annotations, read the way KEDA reads them.

export const PAUSED_ANNOTATION = 'autoscaling.keda.sh/paused';
export const PAUSED_REPLICAS_ANNOTATION = 'autoscaling.keda.sh/paused-replicas';
export const PAUSED_SCALE_IN_ANNOTATION = 'autoscaling.keda.sh/paused-scale-in';
export const PAUSED_SCALE_OUT_ANNOTATION = 'autoscaling.keda.sh/paused-scale-out';
export const FORCE_ACTIVATION_ANNOTATION = 'autoscaling.keda.sh/force-activation';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool: undefined for anything it would reject */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

/** KEDA counts a value ParseBool rejects as true: someone who wrote "yes" meant it */
export function annotationIsTrue(annotations: Record<string, string>, key: string): boolean {
  const value = annotations[key];
  if (value === undefined) return false;
  return parseGoBool(value) ?? true;
}

const GO_INT = /^[+-]?[0-9]+$/;
const INT32_MAX = 2 ** 31 - 1;

/** Go's strconv.ParseInt(text, 10, 32), minus negative numbers, which no target accepts */
export function parseReplicaCount(text: string): number | undefined {
  if (!GO_INT.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || n > INT32_MAX) return undefined;
  return n;
}

export type FullPause =
  | { kind: 'replicas'; replicas: number }
  | { kind: 'frozen' }
  | { kind: 'invalid'; value: string };

export interface AnnotationState {
  /** the scale loop stops: paused-replicas (present at all) wins over paused */
  fullPause: FullPause | undefined;
  pausedScaleIn: boolean;
  pausedScaleOut: boolean;
  forceActivation: boolean;
}

export function readAnnotations(annotations: Record<string, string>): AnnotationState {
  return {
    fullPause: readFullPause(annotations),
    pausedScaleIn: annotationIsTrue(annotations, PAUSED_SCALE_IN_ANNOTATION),
    pausedScaleOut: annotationIsTrue(annotations, PAUSED_SCALE_OUT_ANNOTATION),
    forceActivation: annotationIsTrue(annotations, FORCE_ACTIVATION_ANNOTATION),
  };
}

function readFullPause(annotations: Record<string, string>): FullPause | undefined {
  const pausedReplicas = annotations[PAUSED_REPLICAS_ANNOTATION];
  if (pausedReplicas !== undefined) {
    const replicas = parseReplicaCount(pausedReplicas);
    return replicas === undefined ? { kind: 'invalid', value: pausedReplicas } : { kind: 'replicas', replicas };
  }
  return annotationIsTrue(annotations, PAUSED_ANNOTATION) ? { kind: 'frozen' } : undefined;
}
