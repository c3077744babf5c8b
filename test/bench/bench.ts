// npm run bench: what a pass costs and how fast scalepass reacts, on a fresh control plane of the
// bench's own (objects and controller work left by tests would skew the numbers). Sections, selectable
// with BENCH_ONLY=passes,shards,idle,reaction (default: all): the pass table per size (passes.ts), the
// sharded run (shards.ts), the idle cost per hour (idle.ts) and the reaction to real Redis work next to
// a model of KEDA's loops (reaction.ts). Prints markdown for the README on stdout, progress on stderr.
// Not part of `npm test`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.SCALEPASS_HARNESS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'scalepass-bench-'));
// the collector's Prometheus side is not what is measured, and 10,000s of series take longer than 1 s to scrape
process.env.SCALEPASS_HARNESS_SCRAPE_INTERVAL ??= '5m';
const { harness } = await import('../helpers/harness.ts');
const { down } = await import('../harness/src/harness.ts');
const { asScalepass } = await import('../helpers/install.ts');
const { DIST } = await import('../helpers/run.ts');
const { log, machine, table } = await import('./common.ts');

const SECTIONS = {
  passes: async () => (await import('./passes.ts')).passes,
  idle: async () => (await import('./idle.ts')).idle,
  reaction: async () => (await import('./reaction.ts')).reaction,
  // last: its objects are by far the most, and every later section would pay for them
  shards: async () => (await import('./shards.ts')).shards,
} as const;
type Section = keyof typeof SECTIONS;

const only = (process.env.BENCH_ONLY ?? Object.keys(SECTIONS).join(',')).split(',').map((x) => x.trim()).filter(Boolean);
const unknown = only.filter((x) => !(x in SECTIONS));
if (unknown.length) {
  process.stderr.write(`bench: BENCH_ONLY: unknown section ${unknown.join(', ')} (sections: ${Object.keys(SECTIONS).join(', ')})\n`);
  process.exit(2);
}

const t0 = Date.now();
const h = await harness();
// the ServiceAccount's token lasts an hour and a full bench runs longer: a new one every 20 minutes
let token = { file: await asScalepass(h), at: Date.now() };
const kubeconfig = async () => {
  if (Date.now() - token.at > 20 * 60_000) token = { file: await asScalepass(h), at: Date.now() };
  return token.file;
};
log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(0)} s (${h.state.dir})`);
const took: [string, number][] = [];
const out: string[] = [];
let failed = false;
try {
  for (const name of (Object.keys(SECTIONS) as Section[]).filter((k) => only.includes(k))) {
    const start = Date.now();
    log(`section ${name}`);
    try {
      const md = await (await SECTIONS[name]())({ h, kubeconfig, dist: DIST });
      out.push(md);
      process.stdout.write(md + '\n');
    } catch (e) {
      failed = true;
      const md = `### ${name}: failed\n\n\`\`\`\n${(e as Error).stack ?? String(e)}\n\`\`\`\n`;
      out.push(md);
      process.stdout.write(md + '\n');
    }
    took.push([name, (Date.now() - start) / 1000]);
  }
} finally {
  await down(() => undefined);
  fs.rmSync(process.env.SCALEPASS_HARNESS_DIR!, { recursive: true, force: true });
}
process.stdout.write(`### Bench sections (${machine()})\n\n${table(['section', 'took'], took.map(([n, t]) => [n, `${t.toFixed(0)} s`]))}\n`);
process.exit(failed ? 1 : 0);
