// KEDA's kubernetes-workload trigger: how many pods (or nodes hosting them) match a label selector in
// the ScaledObject's namespace.

import schema from '../../schemas/scalers/kubernetes-workload.schema.json' with { type: 'json' };
import { metricName, normalizeMetricName, parseParams, type ParamSchema } from './metadata.ts';
import { ScalerConfigError, type MetricReading, type Scaler, type ScalerContext, type ScalerFactory } from './types.ts';

interface WorkloadParams {
  podSelector: string;
  value: number;
  activationValue: number;
  groupByNode: boolean;
}

export const createKubernetesWorkloadScaler: ScalerFactory = (ctx) => {
  const p = parseParams<WorkloadParams>(schema as ParamSchema, {
    metadata: ctx.trigger.metadata ?? {},
    authParams: ctx.authParams,
    resolvedEnv: ctx.resolvedEnv,
  });
  const selectorError = checkLabelSelector(p.podSelector);
  if (selectorError) {
    throw new ScalerConfigError('podSelector', `parameter "podSelector" is not a valid label selector: ${selectorError}`);
  }
  if (p.value <= 0 && !ctx.asMetricSource) {
    throw new ScalerConfigError('value', 'parameter "value" must be a number greater than 0');
  }
  const namespace = ctx.namespace;

  return {
    spec: {
      metricName: metricName(ctx.triggerIndex, normalizeMetricName(`workload-${namespace}`)),
      metricType: ctx.trigger.metricType ?? 'AverageValue',
      target: p.value,
      activationTarget: p.activationValue,
    },
    async measure(m: ScalerContext): Promise<MetricReading> {
      const kube = m.kube;
      if (!kube) throw new Error('no cluster access was given to count pods');
      let count: number;
      if (p.groupByNode) {
        count = await kube.countPodNodes(namespace, p.podSelector, m.signal);
      } else {
        count = await kube.countPods(namespace, p.podSelector, m.signal);
      }
      return { value: count, active: count > p.activationValue };
    },
    async close(): Promise<void> {},
  } satisfies Scaler;
};

// ---------------------------------------------------------------------------------------------------
// KEDA parses podSelector with apimachinery's labels.Parse when the scaler is built, so a malformed
// selector is a configuration error rather than a failing measurement. Same grammar: comma-separated
// requirements `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`.

const NAME = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const SPECIAL = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' && s[i + 1] === '=') {
      out.push('==');
      i += 2;
    } else if (c === '!' && s[i + 1] === '=') {
      out.push('!=');
      i += 2;
    } else if (SPECIAL.has(c)) {
      out.push(c);
      i++;
    } else {
      let j = i;
      while (j < s.length && !/\s/.test(s[j]!) && !SPECIAL.has(s[j]!)) j++;
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

function keyError(key: string | undefined): string | undefined {
  if (key === undefined || SPECIAL.has(key) || key === '==' || key === '!=') return `expected a label key, found "${key ?? ''}"`;
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `invalid key prefix "${prefix}"`;
  if (name.length > 63 || !NAME.test(name)) return `invalid label key "${key}"`;
  return undefined;
}

function valueError(v: string | undefined): string | undefined {
  if (v === undefined || SPECIAL.has(v) || v === '==' || v === '!=') return `expected a label value, found "${v ?? ''}"`;
  if (v.length > 63 || !NAME.test(v)) return `invalid label value "${v}"`;
  return undefined;
}

/** undefined when `selector` parses, else why not. */
export function checkLabelSelector(selector: string): string | undefined {
  const t = tokenize(selector);
  let i = 0;
  while (i < t.length) {
    if (t[i] === '!') {
      const e = keyError(t[i + 1]);
      if (e) return e;
      i += 2;
    } else {
      const e = keyError(t[i]);
      if (e) return e;
      i++;
      const op = t[i];
      if (op === '=' || op === '==' || op === '!=') {
        // an empty value is allowed: `k=` selects pods whose label k is empty
        if (t[i + 1] === undefined || t[i + 1] === ',') {
          i++;
        } else {
          const ve = valueError(t[i + 1]);
          if (ve) return ve;
          i += 2;
        }
      } else if (op === 'in' || op === 'notin') {
        if (t[i + 1] !== '(') return `expected "(" after ${op}`;
        i += 2;
        for (;;) {
          if (t[i] === ')') break;
          if (t[i] !== ',') {
            const ve = valueError(t[i]);
            if (ve) return ve;
            i++;
          }
          if (t[i] === ',') i++;
          else if (t[i] !== ')') return `expected "," or ")" in the ${op} set`;
        }
        i++;
      } else if (op === '<' || op === '>') {
        if (!/^\d+$/.test(t[i + 1] ?? '')) return `expected an integer after "${op}"`;
        i += 2;
      } else if (op !== undefined && op !== ',') {
        return `unexpected "${op}"`;
      }
    }
    if (i < t.length) {
      if (t[i] !== ',') return `expected "," found "${t[i]}"`;
      i++;
      if (i >= t.length) return 'trailing ","';
    }
  }
  return undefined;
}
