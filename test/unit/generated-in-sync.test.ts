// What is generated from schemas/ must match what is committed: the CRDs users install (with kustomize
// or the Helm chart), the chart's values schema and the configuration reference they read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CRD_DIRS, renderCrds } from '../../scripts/crds.ts';
import { CHART_SCHEMA, renderChartSchema } from '../../scripts/chart-schema.ts';
import { renderConfigReference, readmeReference } from '../../scripts/config-reference.ts';
import { ROOT } from '../helpers/install.ts';

describe('generated files', () => {
  for (const dir of CRD_DIRS) {
    for (const [file, text] of Object.entries(renderCrds())) {
      it(`${dir}/${file} matches schemas/ (run: node scripts/crds.ts)`, () => {
        assert.equal(fs.readFileSync(path.join(ROOT, dir, file), 'utf8'), text);
      });
    }
    it(`${dir} holds no CRD that schemas/ does not generate`, () => {
      assert.deepEqual(fs.readdirSync(path.join(ROOT, dir)).sort(), Object.keys(renderCrds()).sort());
    });
  }
  it(`${CHART_SCHEMA} matches schemas/config.schema.json (run: node scripts/chart-schema.ts)`, () => {
    assert.equal(fs.readFileSync(path.join(ROOT, CHART_SCHEMA), 'utf8'), renderChartSchema());
  });
  it('the README configuration reference matches schemas/config.schema.json (run: node scripts/config-reference.ts)', () => {
    assert.equal(readmeReference(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')), renderConfigReference());
  });
});
