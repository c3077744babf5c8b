// A ScaledObject's spec is checked against the same JSON Schema the CRD is generated from, so a
// manifest the apiserver accepted under another CRD (e.g. an older one) still gets a clear message
// naming the field instead of a crash later in the pass.
import { Ajv, type ErrorObject } from 'ajv';
import schema from '../schemas/scaledobject.schema.json' with { type: 'json' };
import type { ScaledObjectSpec } from './scaling/types.ts';

const ajv = new Ajv({ allErrors: false, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
const validate = ajv.compile<ScaledObjectSpec>(schema.properties.spec);

function where(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  if (e.keyword === 'required') return `spec${path}.${(e.params as { missingProperty: string }).missingProperty}`;
  return `spec${path}`;
}

/** undefined when valid, else one line naming the field and the rule */
export function specSchemaError(spec: unknown): string | undefined {
  if (validate(spec)) return undefined;
  const e = validate.errors![0]!;
  const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
  const rule = e.keyword === 'required' ? 'is required' : allowed ? `must be one of ${allowed.join(', ')}` : e.message;
  return `${where(e)} ${rule}`;
}
