import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FIELDS, ConfigError, parseCliArgs, usage, versionText, type CliArgs } from '../../src/config/args.ts';
import { loadConfig, mergeConfig, parseConfigText, type Config, type ConfigLayers, type LoadedConfig } from '../../src/config/load.ts';

function args(argv: string[]): CliArgs {
  const a = parseCliArgs(argv);
  assert.ok(!(a instanceof ConfigError), a instanceof ConfigError ? a.message : '');
  return a;
}

function merged(layers: Partial<ConfigLayers>): LoadedConfig {
  const r = mergeConfig({ env: {}, flags: {}, ...layers });
  assert.ok(!(r instanceof ConfigError), r instanceof ConfigError ? r.message : '');
  return r;
}

function failure(layers: Partial<ConfigLayers>): ConfigError {
  const r = mergeConfig({ env: {}, flags: {}, ...layers });
  assert.ok(r instanceof ConfigError, `expected a ConfigError, got ${JSON.stringify(r)}`);
  return r;
}

describe('config schema', () => {
  it('declares exactly the fields of Config, each with a description', () => {
    const keys: Record<keyof Config, true> = {
      namespaces: true, labelSelector: true, concurrency: true, triggerTimeoutMs: true, mode: true, passDeadlineMs: true,
      flushTimeoutMs: true, schedule: true, logLevel: true, dryRun: true, output: true, shardIndex: true,
      shardCount: true, leaseNamespace: true, leaseDurationSeconds: true, cpuInitializationPeriodSeconds: true, initialReadinessDelaySeconds: true,
      emitCurrentKedaNames: true, jobName: true, jobNamespace: true,
    };
    assert.deepEqual(Object.keys(CONFIG_FIELDS).sort(), Object.keys(keys).sort());
    for (const [name, f] of Object.entries(CONFIG_FIELDS)) {
      assert.ok(f.description.length > 10, `${name} has a description`);
      assert.ok(f['x-flag'], `${name} has a flag`);
      assert.ok(f['x-env']?.length, `${name} has an environment variable`);
    }
  });
});

describe('config defaults', () => {
  it('fills every default when nothing is given', () => {
    const { config, sources } = merged({});
    assert.deepEqual(config, {
      namespaces: [], concurrency: 16, triggerTimeoutMs: 5000, mode: 'once', passDeadlineMs: 50000, flushTimeoutMs: 5000,
      schedule: '* * * * *', logLevel: 'info', dryRun: false, output: 'table', shardIndex: 0, shardCount: 1,
      leaseDurationSeconds: 15, cpuInitializationPeriodSeconds: 300, initialReadinessDelaySeconds: 30, emitCurrentKedaNames: false,
    });
    assert.equal(sources.concurrency, 'default');
  });

  it('derives the Lease namespace from the Job namespace when not set', () => {
    const { config, sources } = merged({ env: { POD_NAMESPACE: 'autoscaling' } });
    assert.equal(config.jobNamespace, 'autoscaling');
    assert.equal(config.leaseNamespace, 'autoscaling');
    assert.equal(sources.leaseNamespace, 'derived from jobNamespace');
  });
});

describe('config merge order: flags > env > file > defaults', () => {
  const file = { path: '/etc/scalepass/config.yaml', data: { concurrency: 4, logLevel: 'warn', namespaces: ['a'], dryRun: true } };

  it('takes the file over the defaults', () => {
    const { config, sources } = merged({ file });
    assert.deepEqual([config.concurrency, config.logLevel, config.namespaces, config.dryRun], [4, 'warn', ['a'], true]);
    assert.equal(sources.concurrency, 'file /etc/scalepass/config.yaml');
  });

  it('takes the environment over the file', () => {
    const { config, sources } = merged({ file, env: { SCALEPASS_CONCURRENCY: '8', SCALEPASS_NAMESPACES: 'b, c', SCALEPASS_DRY_RUN: 'FALSE' } });
    assert.deepEqual([config.concurrency, config.namespaces, config.dryRun, config.logLevel], [8, ['b', 'c'], false, 'warn']);
    assert.equal(sources.concurrency, 'env SCALEPASS_CONCURRENCY');
  });

  it('takes flags over the environment', () => {
    const flags = args(['--concurrency', '32', '--namespaces', 'x', '--namespaces', 'y,z', '--no-dry-run']).values;
    const { config, sources } = merged({ file, env: { SCALEPASS_CONCURRENCY: '8', SCALEPASS_DRY_RUN: 'true' }, flags });
    assert.deepEqual([config.concurrency, config.namespaces, config.dryRun], [32, ['x', 'y', 'z'], false]);
    assert.equal(sources.concurrency, '--concurrency');
    assert.equal(sources.dryRun, '--dry-run');
  });

  it('ignores environment variables set to an empty string', () => {
    const { config } = merged({ file, env: { SCALEPASS_CONCURRENCY: '  ', SCALEPASS_LOG_LEVEL: '' } });
    assert.deepEqual([config.concurrency, config.logLevel], [4, 'warn']);
  });

  it('takes the shard index from JOB_COMPLETION_INDEX, below SCALEPASS_SHARD_INDEX and the flag', () => {
    assert.equal(merged({ env: { JOB_COMPLETION_INDEX: '2', SCALEPASS_SHARD_COUNT: '4' } }).config.shardIndex, 2);
    assert.equal(merged({ env: { JOB_COMPLETION_INDEX: '2', SCALEPASS_SHARD_INDEX: '3', SCALEPASS_SHARD_COUNT: '4' } }).config.shardIndex, 3);
    assert.equal(merged({ env: { JOB_COMPLETION_INDEX: '2', SCALEPASS_SHARD_COUNT: '4' }, flags: args(['--shard-index', '1']).values }).config.shardIndex, 1);
  });

  it('reads the Job name and namespace from the downward-API variables', () => {
    const { config } = merged({ env: { SCALEPASS_JOB_NAME: 'scalepass-29547120', POD_NAMESPACE: 'keda' } });
    assert.deepEqual([config.jobName, config.jobNamespace], ['scalepass-29547120', 'keda']);
  });

  it('takes the mode from --mode over SCALEPASS_MODE over the file', () => {
    assert.equal(merged({ file: { path: 'c.yaml', data: { mode: 'period' } } }).config.mode, 'period');
    assert.equal(merged({ file: { path: 'c.yaml', data: { mode: 'period' } }, env: { SCALEPASS_MODE: 'once' } }).config.mode, 'once');
    assert.equal(merged({ env: { SCALEPASS_MODE: 'once' }, flags: args(['--mode', 'period']).values }).config.mode, 'period');
  });

  it('accepts short flags and every boolean spelling of the flags', () => {
    const { config } = merged({ flags: args(['-o', 'json', '-l', 'team=shop', '--dry-run', '--emit-current-keda-names']).values });
    assert.deepEqual([config.output, config.labelSelector, config.dryRun, config.emitCurrentKedaNames], ['json', 'team=shop', true, true]);
  });
});

describe('invalid config names the field, the rule and the source', () => {
  const cases: { name: string; layers: Partial<ConfigLayers>; message: string }[] = [
    { name: 'a number below its minimum, from a flag', layers: { flags: { concurrency: '0' } },
      message: 'config: "concurrency" must be >= 1, got 0 (from --concurrency)' },
    { name: 'a number above its maximum, from the environment', layers: { env: { SCALEPASS_SHARD_COUNT: '100000' } },
      message: 'config: "shardCount" must be <= 10000, got 100000 (from env SCALEPASS_SHARD_COUNT)' },
    { name: 'text where a whole number belongs', layers: { env: { SCALEPASS_TRIGGER_TIMEOUT_MS: '5s' } },
      message: 'config: "triggerTimeoutMs" must be a whole number, got "5s" (from env SCALEPASS_TRIGGER_TIMEOUT_MS)' },
    { name: 'a fraction where a whole number belongs', layers: { file: { path: 'c.yaml', data: { flushTimeoutMs: 2.5 } } },
      message: 'config: "flushTimeoutMs" must be a whole number, got 2.5 (from file c.yaml)' },
    { name: 'a mode that does not exist', layers: { flags: { mode: 'forever' } },
      message: 'config: "mode" must be one of once, period, got "forever" (from --mode)' },
    { name: 'a value outside the enum', layers: { env: { SCALEPASS_LOG_LEVEL: 'verbose' } },
      message: 'config: "logLevel" must be one of debug, info, warn, error, got "verbose" (from env SCALEPASS_LOG_LEVEL)' },
    { name: 'a boolean that is not true or false', layers: { env: { SCALEPASS_DRY_RUN: 'yes' } },
      message: 'config: "dryRun" must be true or false, got "yes" (from env SCALEPASS_DRY_RUN)' },
    { name: 'a bad list item, by index', layers: { flags: { namespaces: ['shop,Billing'] } },
      message: `config: "namespaces[1]" must be a namespace name (lowercase letters, digits and '-', at most 63 characters), got "Billing" (from --namespaces)` },
    { name: 'a list given as a single value in the file', layers: { file: { path: 'c.yaml', data: { namespaces: 'shop' } } },
      message: 'config: "namespaces" must be a list, got "shop" (from file c.yaml)' },
    { name: 'a repeated list item', layers: { env: { SCALEPASS_NAMESPACES: 'a,a' } },
      message: 'config: "namespaces" must not list the same value twice, got ["a","a"] (from env SCALEPASS_NAMESPACES)' },
    { name: 'a malformed Job namespace from the downward API', layers: { env: { POD_NAMESPACE: 'Kube_System' } },
      message: `config: "jobNamespace" must be a namespace name (lowercase letters, digits and '-', at most 63 characters), got "Kube_System" (from env POD_NAMESPACE)` },
    { name: 'a cron schedule with the wrong number of fields', layers: { flags: { schedule: '* * *' } },
      message: 'config: "schedule" must be a cron expression of 5 fields or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, got "* * *" (from --schedule)' },
    { name: 'a cron schedule with an out-of-range field', layers: { flags: { schedule: '61 * * * *' } },
      message: 'config: "schedule" must be a valid cron expression (Constraint error, got value 61 expected range 0-59), got "61 * * * *" (from --schedule)' },
    { name: 'a shard index not below the shard count', layers: { env: { JOB_COMPLETION_INDEX: '3', SCALEPASS_SHARD_COUNT: '3' } },
      message: 'config: "shardIndex" must be less than shardCount (3, from env SCALEPASS_SHARD_COUNT), got 3 (from env JOB_COMPLETION_INDEX)' },
    { name: 'an unknown field in the file, with a suggestion', layers: { file: { path: 'c.yaml', data: { concurency: 3 } } },
      message: 'config: unknown field "concurency" (from file c.yaml); did you mean "concurrency"?' },
    { name: 'a file that is not a mapping', layers: { file: { path: 'c.yaml', data: ['a'] } },
      message: 'config: file c.yaml must hold a mapping of fields, not a list' },
    { name: 'a prototype key in a JSON file', layers: { file: { path: 'c.json', data: JSON.parse('{"__proto__": {"dryRun": true}}') as unknown } },
      message: 'config: unknown field "__proto__" (from file c.json)' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = failure(c.layers);
      assert.equal(e.message, c.message);
      assert.equal(e.exitCode, 2);
      assert.ok(!e.message.includes('\n'), 'one line');
    });
  }

  it('reports the field and source on the error value', () => {
    const e = failure({ flags: { concurrency: '-1' } });
    assert.deepEqual([e.field, e.source], ['concurrency', '--concurrency']);
  });
});

describe('command-line flags', () => {
  const cases: { name: string; argv: string[]; message: string }[] = [
    { name: 'an unknown flag', argv: ['--concurency', '3'], message: 'config: unknown flag --concurency (see --help)' },
    { name: 'a positional argument', argv: ['run'], message: 'config: unexpected argument "run": every setting is a --flag (see --help)' },
    { name: 'a flag without its value', argv: ['--concurrency'], message: 'config: flag --concurrency needs a value' },
    { name: 'a value given to a boolean flag', argv: ['--dry-run=false'], message: 'config: flag --dry-run takes no value (use --dry-run or --no-dry-run)' },
  ];
  for (const c of cases) {
    it(`rejects ${c.name} with one line and exit code 2`, () => {
      const r = parseCliArgs(c.argv);
      assert.ok(r instanceof ConfigError);
      assert.equal(r.message, c.message);
      assert.equal(r.exitCode, 2);
    });
  }

  it('recognises --help, --version and --config', () => {
    const a = args(['--help', '--version', '-c', '/tmp/x.yaml']);
    assert.deepEqual([a.help, a.version, a.configPath], [true, true, '/tmp/x.yaml']);
  });

  it('has a help text listing every flag with its environment variable', () => {
    const text = usage();
    for (const f of Object.values(CONFIG_FIELDS)) {
      assert.ok(text.includes(`--${f['x-flag']}`), `--${f['x-flag']}`);
      for (const env of f['x-env'] ?? []) assert.ok(text.includes(env), env);
    }
    assert.match(versionText(), /^scalepass \d+\.\d+\.\d+/);
  });

  it('answers --help and --version without loading the Kubernetes client, OpenTelemetry or ajv', () => {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(s, c, next) { seen.push(s); return next(s, c); } });
      const m = await import(${JSON.stringify(new URL('../../src/config/args.ts', import.meta.url).href)});
      m.usage(); m.versionText();
      process.stdout.write(JSON.stringify(seen));`;
    const seen = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
    assert.ok(seen.includes('node:util'), `the resolve hook saw the imports: ${seen.join(', ')}`);
    const heavy = seen.filter((s) => /@kubernetes|@opentelemetry|^ajv|js-yaml|cron-parser/.test(s));
    assert.deepEqual(heavy, []);
  });
});

describe('config files', () => {
  it('parses YAML and JSON, and treats an empty or comment-only file as no settings', () => {
    assert.deepEqual(parseConfigText('concurrency: 4\nnamespaces: [a, b]\n', 'c.yaml', '--config'), { data: { concurrency: 4, namespaces: ['a', 'b'] } });
    assert.deepEqual(parseConfigText('{"concurrency": 4}', 'c.json', '--config'), { data: { concurrency: 4 } });
    assert.deepEqual(parseConfigText('# nothing yet\n\n', 'c.yaml', '--config'), { data: {} });
  });

  it('reports a YAML syntax error with its position, in one line', () => {
    const r = parseConfigText('concurrency: 4\nnamespaces: [a, b\n', 'c.yaml', '--config');
    assert.ok(r instanceof ConfigError);
    assert.match(r.message, /^config: cannot parse config file c.yaml \(from --config\): .+ at line \d+, column \d+$/);
  });

  it('loads a file named by --config or SCALEPASS_CONFIG, with flags and env still on top', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalepass-config-'));
    try {
      const path = join(dir, 'config.yaml');
      writeFileSync(path, 'concurrency: 4\nlogLevel: debug\nschedule: "*/5 * * * *"\n');
      const viaFlag = await loadConfig(args(['--config', path, '--log-level', 'error']), { SCALEPASS_CONCURRENCY: '6' });
      assert.ok(!(viaFlag instanceof ConfigError), viaFlag instanceof ConfigError ? viaFlag.message : '');
      assert.deepEqual([viaFlag.config.concurrency, viaFlag.config.logLevel, viaFlag.config.schedule, viaFlag.file], [6, 'error', '*/5 * * * *', path]);
      const viaEnv = await loadConfig(args([]), { SCALEPASS_CONFIG: path });
      assert.ok(!(viaEnv instanceof ConfigError));
      assert.equal(viaEnv.config.concurrency, 4);
      const missing = await loadConfig(args(['--config', join(dir, 'nope.yaml')]), {});
      assert.ok(missing instanceof ConfigError);
      assert.equal(missing.message, `config: cannot read config file ${join(dir, 'nope.yaml')} (from --config): no such file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
