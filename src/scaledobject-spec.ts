// The ScaledObject spec check: the CRD's schema (schemas/scaledobject.schema.json), applied by ajv.
import schema from '../schemas/scaledobject.schema.json' with { type: 'json' };
import { specChecker } from './spec-check.ts';

/** undefined when valid, else one line naming the field and the rule */
export const specSchemaError = specChecker(schema.properties.spec);
