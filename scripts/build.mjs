// Bundles src/run.ts into dist/ with esbuild. The entry stays tiny: --help/--version never load the
// Kubernetes client, the OpenTelemetry SDK or the scalers; those live in chunks loaded on first use.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.SCALEPASS_GIT_COMMIT ?? '';
if (!commit) {
  try {
    const { execSync } = await import('node:child_process');
    commit = execSync('git rev-parse --short=12 HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = 'unknown';
  }
}

// @opentelemetry/otlp-grpc-exporter-base's ES build reaches @grpc/grpc-js through
// createRequire(import.meta.url) (its rolldown runtime's __require), which a bundler cannot follow:
// dist/ would then need node_modules at run time. Point that __require at the bundled grpc-js.
// The build fails if the shape changes, rather than shipping a bundle that breaks on grpc.
const grpcRequire = {
  name: 'otlp-grpc-require',
  setup(b) {
    b.onLoad({ filter: /otlp-grpc-exporter-base[\\/]dist[\\/]_virtual[\\/]_rolldown[\\/]runtime\.mjs$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const createRequire = /var __require = \/\* #__PURE__ \*\/ \(\(\) => createRequire\(import\.meta\.url\)\)\(\);/;
      if (!createRequire.test(src)) throw new Error(`${args.path}: __require no longer has the expected form; update scripts/build.mjs`);
      const contents = src.replace(createRequire, [
        'import * as __bundledGrpc from "@grpc/grpc-js";',
        'var __require = (id) => { if (id === "@grpc/grpc-js") return __bundledGrpc; throw new Error(`not bundled: ${id}`); };',
      ].join('\n'));
      return { contents, loader: 'js' };
    });
  },
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const result = await build({
  entryPoints: { run: 'src/run.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  // optional native add-ons some clients probe for; never installed
  external: ['pg-native', 'cloudflare:sockets'],
  define: {
    SCALEPASS_VERSION: JSON.stringify(pkg.version),
    SCALEPASS_GIT_COMMIT: JSON.stringify(commit),
  },
  // CommonJS dependencies call require() on Node built-ins; an ES module has no require of its own
  banner: { js: "import { createRequire as __scalepassCreateRequire } from 'node:module'; const require = __scalepassCreateRequire(import.meta.url);" },
  plugins: [grpcRequire],
  logLevel: 'warning',
});
// dist/ run on its own (an image, a copy without the repo) is ES modules by this, not by detection
writeFileSync(new URL('../dist/package.json', import.meta.url), JSON.stringify({ type: 'module' }) + '\n');
const outs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
const total = outs.reduce((n, [, o]) => n + o.bytes, 0);
console.log(`dist/run.js + ${outs.length - 1} chunks, ${(total / 1024).toFixed(0)} KiB (version ${pkg.version}, commit ${commit})`);
