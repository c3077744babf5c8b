// Trigger parameters are declared once, as a JSON Schema per scaler (schemas/scalers/<type>.schema.json).
// Each property may carry `x-order`: the maps it may come from, in order, as KEDA's typed config does
// ("M" trigger metadata, "A" TriggerAuthentication params, "E" container env named by `<key>FromEnv`).
// The first map holding a non-empty trimmed value wins; ajv then applies defaults, coerces types and
// checks the rules, so a scaler receives a typed object and never re-parses strings.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ScalerConfigError } from './types.ts';

export interface ParamSources {
  metadata: Record<string, string>;
  authParams: Record<string, string>;
  resolvedEnv: Record<string, string>;
}

interface PropertySchema {
  type?: string | string[];
  'x-order'?: string;
  'x-secret'?: boolean;
  [k: string]: unknown;
}

export interface ParamSchema {
  $id: string;
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
  [k: string]: unknown;
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: true });
ajv.addVocabulary(['x-order', 'x-secret', 'x-description']);
const compiled = new Map<string, ValidateFunction>();

/** `map[key]` when the map itself holds it: `valueOf`, `constructor` or `__proto__` never reach Object.prototype */
function own(map: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function pick(key: string, order: string, src: ParamSources): string | undefined {
  for (const from of order) {
    let raw: string | undefined;
    if (from === 'M') raw = own(src.metadata, key);
    else if (from === 'A') raw = own(src.authParams, key);
    else if (from === 'E') {
      const envName = own(src.metadata, `${key}FromEnv`)?.trim();
      raw = envName ? own(src.resolvedEnv, envName) : undefined;
    }
    const v = typeof raw === 'string' ? raw.trim() : undefined;
    if (v) return v;
  }
  return undefined;
}

function describe(e: ErrorObject, schema: ParamSchema): { field: string; message: string } {
  if (e.keyword === 'required') {
    const field = String((e.params as { missingProperty: string }).missingProperty);
    const order = schema.properties[field]?.['x-order'] ?? 'M';
    const where = [...order].map((o) => (o === 'M' ? 'metadata' : o === 'A' ? 'authentication' : `${field}FromEnv`));
    return { field, message: `missing required parameter "${field}" in [${where.join(', ')}]` };
  }
  const field = e.instancePath.replace(/^\//, '').split('/')[0] || '(metadata)';
  const secret = schema.properties[field]?.['x-secret'];
  const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
  const rule = allowed ? `must be one of ${allowed.join(', ')}` : e.message ?? 'is invalid';
  // a secret's value is never echoed, only which field broke which rule
  return { field, message: `parameter "${field}" ${rule}${secret ? ' (value hidden)' : ''}` };
}

/** Resolve and validate a scaler's parameters. Throws ScalerConfigError naming the first bad field. */
export function parseParams<T>(schema: ParamSchema, src: ParamSources): T {
  let validate = compiled.get(schema.$id);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema.$id, validate);
  }
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    const v = pick(key, prop['x-order'] ?? 'M', src);
    if (v !== undefined) out[key] = v;
  }
  if (!validate(out)) {
    const first = describe(validate.errors![0]!, schema);
    throw new ScalerConfigError(first.field, first.message);
  }
  // ajv's coercion turns "Infinity" and "1e309" into numbers that pass `number` and even `integer`;
  // no target, threshold or count means anything at infinity (Go's ParseInt refuses them too)
  for (const [key, v] of Object.entries(out)) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new ScalerConfigError(key, `parameter "${key}" must be a finite number`);
  }
  return out as T;
}

/** KEDA's NormalizeString: each of / . : % ( ) becomes '-'. */
export function normalizeMetricName(s: string): string {
  return s.replace(/[/.:%()]/g, '-');
}

/** `s<index>-<suffix>` */
export function metricName(index: number, suffix: string): string {
  return `s${index}-${suffix}`;
}
