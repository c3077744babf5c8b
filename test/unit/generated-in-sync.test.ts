// What is generated from schemas/ must match what is committed: the CRDs users install and the
// configuration reference they read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { renderCrds } from '../../scripts/crds.ts';
import { renderConfigReference, readmeReference } from '../../scripts/config-reference.ts';
import { ROOT } from '../helpers/install.ts';

describe('generated files', () => {
  for (const [file, text] of Object.entries(renderCrds())) {
    it(`kustomize/base/crds/${file} matches schemas/ (run: node scripts/crds.ts)`, () => {
      assert.equal(fs.readFileSync(path.join(ROOT, 'kustomize/base/crds', file), 'utf8'), text);
    });
  }
  it('the README configuration reference matches schemas/config.schema.json (run: node scripts/config-reference.ts)', () => {
    assert.equal(readmeReference(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')), renderConfigReference());
  });
});
