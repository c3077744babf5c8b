// The Dockerfile says what scripts/image/spec.ts says (npm run image builds from the latter): the
// same staging step, the same layers in the same order, entrypoint, user, working directory, env and
// labels. It cannot be built where the tests run (no container engine); this keeps it from drifting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENTRYPOINT, ENV, LABEL, LAYERS, USER, WORKDIR } from '../../scripts/image/spec.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string; license: string; name: string };

/** The Dockerfile's instructions of the final stage, continuation lines joined. */
function finalStage(): { op: string; rest: string }[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const from = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  return lines.slice(from).map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), rest: rest.join(' ') };
  });
}

/** LABEL k="v" k2="v2" ... */
function labels(rest: string): Record<string, string> {
  return Object.fromEntries([...rest.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('Dockerfile', () => {
  const stage = finalStage();
  const one = (op: string) => {
    const hits = stage.filter((i) => i.op === op);
    assert.equal(hits.length, 1, `one ${op} in the final stage`);
    return hits[0]!.rest;
  };

  it('builds from scratch with the layers npm run image stages, in its order', () => {
    assert.equal(stage[0]!.rest, 'scratch');
    const copies = stage.filter((i) => i.op === 'COPY').map((i) => i.rest);
    assert.deepEqual(copies, LAYERS.map((l) => `--from=build /stage/${l}/ /`));
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(text, /node_modules\/\.bin\/node scripts\/image\.ts --stage-only \/stage/, 'the build stage runs the same staging code');
  });

  it('sets the entrypoint, user, working directory and env of scripts/image/spec.ts', () => {
    assert.deepEqual(JSON.parse(one('ENTRYPOINT')), [...ENTRYPOINT]);
    assert.equal(one('USER'), `${USER.uid}:${USER.gid}`);
    assert.equal(one('WORKDIR'), WORKDIR);
    assert.deepEqual(stage.filter((i) => i.op === 'ENV').map((i) => i.rest), [...ENV]);
    assert.equal(stage.filter((i) => i.op === 'CMD').length, 0, 'no CMD: the pod gives the arguments');
  });

  it('labels the image as npm run image does: every OCI key, the package\'s values', () => {
    const l = labels(one('LABEL'));
    assert.deepEqual(Object.keys(l).sort(), Object.values(LABEL).sort());
    assert.equal(l[LABEL.title], pkg.name);
    assert.equal(l[LABEL.description], pkg.description);
    assert.equal(l[LABEL.licenses], pkg.license);
    assert.equal(l[LABEL.version], '${VERSION}');
    const args = stage.filter((i) => i.op === 'ARG').map((i) => i.rest);
    assert.ok(args.includes(`VERSION=${pkg.version}`), `ARG VERSION=${pkg.version} (package.json), found: ${args.join(', ')}`);
  });
});
