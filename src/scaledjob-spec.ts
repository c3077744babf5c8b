// The ScaledJob spec check: the CRD's schema (schemas/scaledjob.schema.json), applied by ajv.
// Defaults are not filled in here (KEDA's own CRD has none): the decision applies them.
import schema from '../schemas/scaledjob.schema.json' with { type: 'json' };
import { specChecker } from './spec-check.ts';

/** undefined when valid, else one line naming the field and the rule */
export const scaledJobSpecError = specChecker(schema.properties.spec);
