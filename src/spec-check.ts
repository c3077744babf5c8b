// A scaled resource's spec is checked against the same JSON Schema its CRD is generated from, so a
// manifest the apiserver accepted under another CRD (e.g. an older one, or KEDA's own) still gets a
// clear message naming the field instead of a crash later in the pass. One ajv for every kind.
import { Ajv, type ErrorObject } from 'ajv';

const ajv = new Ajv({ allErrors: false, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });

function where(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  if (e.keyword === 'required') return `spec${path}.${(e.params as { missingProperty: string }).missingProperty}`;
  return `spec${path}`;
}

/** A check of `spec` against the schema of a CRD's spec: undefined when valid, else one line naming the field and the rule. */
export function specChecker(specSchema: object): (spec: unknown) => string | undefined {
  const validate = ajv.compile(specSchema);
  return (spec) => {
    if (validate(spec)) return undefined;
    const e = validate.errors![0]!;
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
    const rule = e.keyword === 'required' ? 'is required' : allowed ? `must be one of ${allowed.join(', ')}` : e.message;
    return `${where(e)} ${rule}`;
  };
}
