// The run's configuration: config file, environment and flags merged (flags > env > file > defaults),
// then validated by ajv against schemas/config.schema.json. Every field remembers where its value
// came from, so a mistake is reported as the field, the rule and the source, in one line:
//   config: "concurrency" must be >= 1, got 0 (from --concurrency)

import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { load as loadYaml } from 'js-yaml';
import { CronExpressionParser } from 'cron-parser';
import schema from '../../schemas/config.schema.json' with { type: 'json' };
import { CONFIG_FIELDS, ConfigError, flagOf, type CliArgs, type FieldSchema, type FlagValues } from './args.ts';

export { ConfigError };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  /** empty: all namespaces */
  namespaces: string[];
  labelSelector?: string;
  concurrency: number;
  triggerTimeoutMs: number;
  /** once: one pass; period: rounds at the objects' pollingInterval ticks until shortly before the next scheduled run */
  mode: 'once' | 'period';
  passDeadlineMs: number;
  flushTimeoutMs: number;
  schedule: string;
  logLevel: LogLevel;
  dryRun: boolean;
  output: 'table' | 'json';
  shardIndex: number;
  shardCount: number;
  leaseNamespace?: string;
  leaseDurationSeconds: number;
  cpuInitializationPeriodSeconds: number;
  initialReadinessDelaySeconds: number;
  emitCurrentKedaNames: boolean;
  jobName?: string;
  jobNamespace?: string;
}

export type ConfigField = keyof Config;

export interface LoadedConfig {
  config: Config;
  /** per field: `default`, `file PATH`, `env NAME`, `--flag`, or `derived from FIELD` */
  sources: Record<ConfigField, string>;
  /** the config file read, if any */
  file?: string;
}

export type Env = Record<string, string | undefined>;

export interface ConfigLayers {
  file?: { path: string; data: unknown };
  env: Env;
  flags: FlagValues;
}

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: false, coerceTypes: true, useDefaults: true, strict: true });
    ajv.addVocabulary(['x-env', 'x-flag', 'x-short', 'x-placeholder', 'x-rule']);
    validator = ajv.compile(schema);
  }
  return validator;
}

function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function fromEnv(field: FieldSchema, env: Env): { value: unknown; name: string } | undefined {
  for (const name of field['x-env'] ?? []) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    if (field.type === 'array') return { value: splitList([raw]), name };
    if (field.type === 'boolean') return { value: raw.toLowerCase(), name };
    return { value: raw, name };
  }
  return undefined;
}

function fromFlag(field: FieldSchema, raw: string | string[] | boolean): unknown {
  if (field.type === 'array') return splitList(Array.isArray(raw) ? raw : [String(raw)]);
  return typeof raw === 'string' ? raw.trim() : raw;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  string: 'text',
  array: 'a list',
  object: 'a mapping',
};

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function describeError(e: ErrorObject, data: Record<string, unknown>, sources: Record<string, string>): ConfigError {
  const path = e.instancePath.split('/').slice(1);
  if (e.keyword === 'additionalProperties') {
    const unknown = String((e.params as { additionalProperty: string }).additionalProperty);
    const hint = closest(unknown, Object.keys(CONFIG_FIELDS));
    const source = sources[unknown] ?? 'file';
    return new ConfigError(`config: unknown field "${unknown}" (from ${source})${hint ? `; did you mean "${hint}"?` : ''}`, unknown, source);
  }
  const field = path[0] ?? '(config)';
  const item = path[1];
  const name = item === undefined ? field : `${field}[${item}]`;
  const spec = CONFIG_FIELDS[field];
  let value: unknown = data[field];
  if (item !== undefined && Array.isArray(value)) value = value[Number(item)];
  let rule: string;
  switch (e.keyword) {
    case 'type': {
      const t = String((e.params as { type: string }).type);
      rule = `must be ${TYPE_WORDS[t] ?? t}`;
      break;
    }
    case 'enum':
      rule = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).join(', ')}`;
      break;
    case 'pattern':
      rule = (item === undefined ? spec?.['x-rule'] : spec?.items?.['x-rule']) ?? e.message ?? 'is invalid';
      break;
    case 'minLength':
      rule = (e.params as { limit: number }).limit === 1 ? 'must not be empty' : `must have at least ${(e.params as { limit: number }).limit} characters`;
      break;
    case 'maxLength':
      rule = `must have at most ${(e.params as { limit: number }).limit} characters`;
      break;
    case 'uniqueItems':
      rule = 'must not list the same value twice';
      break;
    default:
      rule = e.message ?? 'is invalid';
  }
  const source = sources[field] ?? 'default';
  return new ConfigError(`config: "${name}" ${rule}, got ${shown(value)} (from ${source})`, field, source);
}

/** Merges the layers and validates the result. Pure: no file or environment access of its own. */
export function mergeConfig(layers: ConfigLayers): LoadedConfig | ConfigError {
  // no prototype: a file key such as "__proto__" must stay a key, for ajv to reject as unknown
  const data: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const sources: Record<string, string> = Object.create(null) as Record<string, string>;

  if (layers.file) {
    const fileData = layers.file.data ?? {};
    if (typeof fileData !== 'object' || Array.isArray(fileData)) {
      return new ConfigError(`config: file ${layers.file.path} must hold a mapping of fields, not ${Array.isArray(fileData) ? 'a list' : shown(fileData)}`, undefined, `file ${layers.file.path}`);
    }
    for (const [key, value] of Object.entries(fileData)) {
      data[key] = value;
      sources[key] = `file ${layers.file.path}`;
    }
  }
  for (const [name, field] of Object.entries(CONFIG_FIELDS)) {
    const fromE = fromEnv(field, layers.env);
    if (fromE) {
      data[name] = fromE.value;
      sources[name] = `env ${fromE.name}`;
    }
    const flagValue = layers.flags[name];
    if (flagValue !== undefined) {
      data[name] = fromFlag(field, flagValue);
      sources[name] = flagOf(name) ?? name;
    }
  }
  for (const name of Object.keys(CONFIG_FIELDS)) sources[name] ??= 'default';

  const check = validate();
  if (!check(data)) return describeError(check.errors![0]!, data, sources);
  const config = { ...data } as unknown as Config;

  try {
    CronExpressionParser.parse(config.schedule, { strict: false });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return new ConfigError(`config: "schedule" must be a valid cron expression (${why}), got ${shown(config.schedule)} (from ${sources['schedule']})`, 'schedule', sources['schedule']);
  }
  config.schedule = config.schedule.trim();
  if (config.shardIndex >= config.shardCount) {
    return new ConfigError(
      `config: "shardIndex" must be less than shardCount (${config.shardCount}, from ${sources['shardCount']}), got ${config.shardIndex} (from ${sources['shardIndex']})`,
      'shardIndex', sources['shardIndex'],
    );
  }
  if (config.leaseNamespace === undefined && config.jobNamespace !== undefined) {
    config.leaseNamespace = config.jobNamespace;
    sources['leaseNamespace'] = 'derived from jobNamespace';
  }

  return {
    config,
    sources: { ...sources } as Record<ConfigField, string>,
    ...(layers.file ? { file: layers.file.path } : {}),
  };
}

/** Parses config file text: JSON for `.json`, YAML otherwise. */
export function parseConfigText(text: string, path: string, source: string): { data: unknown } | ConfigError {
  // a file of comments only is an empty configuration, not a YAML error
  if (text.replace(/^\s*#.*$/gm, '').trim() === '') return { data: {} };
  try {
    if (/\.json$/i.test(path)) return { data: JSON.parse(text) as unknown };
    return { data: loadYaml(text, { filename: path }) };
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number }; message?: string };
    const why = err.reason && err.mark ? `${err.reason} at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : (err.message ?? String(e)).split('\n')[0];
    return new ConfigError(`config: cannot parse config file ${path} (from ${source}): ${why}`, undefined, source);
  }
}

/** Reads the whole configuration of this run. Never throws for a user mistake. */
export async function loadConfig(args: CliArgs, env: Env): Promise<LoadedConfig | ConfigError> {
  const pathSource = args.configPath !== undefined ? '--config' : 'env SCALEPASS_CONFIG';
  const path = args.configPath !== undefined ? args.configPath.trim() : env['SCALEPASS_CONFIG']?.trim() || undefined;
  if (path === '') return new ConfigError('config: the config file path is empty (from --config)', undefined, pathSource);
  let file: ConfigLayers['file'];
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
      return new ConfigError(`config: cannot read config file ${path} (from ${pathSource}): ${why}`, undefined, pathSource);
    }
    const parsed = parseConfigText(text, path, pathSource);
    if (parsed instanceof ConfigError) return parsed;
    file = { path, data: parsed.data };
  }
  return mergeConfig({ ...(file ? { file } : {}), env, flags: args.values });
}
