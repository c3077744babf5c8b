// Command-line flags. Kept light on purpose: `--help` and `--version` are answered from here
// without loading the Kubernetes client, OpenTelemetry or ajv. The flags, their help text and their
// environment variables come from the config schema, so the help, the loader and the README
// reference cannot drift apart.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import schema from '../../schemas/config.schema.json' with { type: 'json' };
import pkg from '../../package.json' with { type: 'json' };

/** A configuration mistake, formatted once: the entry point prints `message` and exits with `exitCode`. */
export class ConfigError extends Error {
  readonly field: string | undefined;
  /** where the bad value came from: `--flag`, `env NAME`, `file PATH` */
  readonly source: string | undefined;
  readonly exitCode = 2;
  constructor(message: string, field?: string, source?: string) {
    super(message);
    this.name = 'ConfigError';
    this.field = field;
    this.source = source;
  }
}

export interface FieldSchema {
  description: string;
  type: 'string' | 'integer' | 'boolean' | 'array';
  default?: unknown;
  enum?: readonly string[];
  'x-env'?: readonly string[];
  'x-flag'?: string;
  'x-short'?: string;
  'x-placeholder'?: string;
  'x-rule'?: string;
  items?: { 'x-rule'?: string };
  [k: string]: unknown;
}

export const CONFIG_FIELDS = schema.properties as unknown as Record<string, FieldSchema>;

/** Raw flag values by config field: strings as typed, lists as given, booleans parsed. */
export type FlagValues = Record<string, string | string[] | boolean>;

export interface CliArgs {
  help: boolean;
  version: boolean;
  /** --config */
  configPath?: string;
  values: FlagValues;
}

function optionsFromSchema(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const field of Object.values(CONFIG_FIELDS)) {
    const flag = field['x-flag'];
    if (!flag) continue;
    options[flag] = {
      type: field.type === 'boolean' ? 'boolean' : 'string',
      ...(field.type === 'array' ? { multiple: true } : {}),
      ...(field['x-short'] ? { short: field['x-short'] } : {}),
    };
  }
  return options;
}

/** The flag of a config field, as typed on the command line. */
export function flagOf(field: string): string | undefined {
  const flag = CONFIG_FIELDS[field]?.['x-flag'];
  return flag ? `--${flag}` : undefined;
}

function flagError(e: unknown): ConfigError {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError(`config: unknown flag ${quoted ?? ''} (see --help)`.replace('  ', ' '));
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(`config: unexpected argument ${quoted ? `"${quoted}"` : ''}: every setting is a --flag (see --help)`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted?.split(' ')[0] ?? 'a flag';
      return /does not take an argument/.test(err.message ?? '')
        ? new ConfigError(`config: flag ${flag} takes no value (use ${flag} or ${flag.replace(/^--/, '--no-')})`)
        : new ConfigError(`config: flag ${flag} needs a value`);
    }
    default:
      return new ConfigError(`config: ${err.message ?? String(e)}`);
  }
}

/** Parses argv (without node and script). Never throws: a mistake comes back as a ConfigError. */
export function parseCliArgs(argv: readonly string[]): CliArgs | ConfigError {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: optionsFromSchema(), strict: true, allowPositionals: false, allowNegative: true });
  } catch (e) {
    return flagError(e);
  }
  const raw = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  const values: FlagValues = {};
  for (const [name, field] of Object.entries(CONFIG_FIELDS)) {
    const flag = field['x-flag'];
    const v = flag ? raw[flag] : undefined;
    if (v === undefined) continue;
    values[name] = Array.isArray(v) ? v.map(String) : v;
  }
  const configPath = raw['config'];
  return {
    help: raw['help'] === true,
    version: raw['version'] === true,
    ...(typeof configPath === 'string' ? { configPath } : {}),
    values,
  };
}

export function versionText(): string {
  return `${pkg.name} ${pkg.version}`;
}

function defaultText(field: FieldSchema): string {
  const d = field.default;
  if (d === undefined) return '';
  if (Array.isArray(d)) return d.length === 0 ? '' : ` (default ${d.join(',')})`;
  if (d === false) return '';
  return typeof d === 'string' ? ` (default "${d}")` : ` (default ${String(d)})`;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  // a quoted value such as "* * * * *" stays on one line
  for (const word of text.match(/\S*"[^"]*"\S*|\S+/g) ?? []) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export function usage(): string {
  const col = 34;
  const indent = ' '.repeat(col);
  const row = (left: string, text: string): string => {
    const pad = left.length >= col - 1 ? `${left}\n${indent}` : left.padEnd(col);
    return `${pad}${wrap(text, 100 - col, indent)}`;
  };
  const rows: string[] = [
    row('  -c, --config <path>', 'Config file, YAML or JSON, with the fields below in camelCase. [SCALEPASS_CONFIG]'),
  ];
  for (const [name, field] of Object.entries(CONFIG_FIELDS)) {
    const flag = field['x-flag'];
    if (!flag) continue;
    const short = field['x-short'] ? `-${field['x-short']}, ` : '    ';
    const arg = field.type === 'boolean' ? '' : ` <${field['x-placeholder'] ?? 'value'}>`;
    const choices = field.enum ? ` One of: ${field.enum.join(', ')}.` : '';
    const env = field['x-env']?.length ? ` [${field['x-env'].join(', ')}]` : '';
    rows.push(row(`  ${short}--${flag}${arg}`, `${field.description}${choices}${defaultText(field)}${env} (${name})`));
  }
  rows.push(row('  -h, --help', 'Print this help and exit.'));
  rows.push(row('      --version', 'Print the version and exit.'));
  return [
    `Usage: ${pkg.name} [flags]`,
    '',
    wrap('Runs one pass of KEDA-compatible autoscaling: reads the ScaledObjects and ScaledJobs, measures their triggers, scales their targets and creates their Jobs, records status and events, exports metrics, and exits.', 100, ''),
    '',
    wrap('Flags override environment variables [in brackets], which override the config file, which overrides the defaults. Boolean flags take --no-<flag> to switch off.', 100, ''),
    '',
    ...rows,
    '',
    wrap('Metrics go out over OTLP as configured by the standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_PROTOCOL or OTEL_EXPORTER_OTLP_METRICS_PROTOCOL (http/protobuf, the default; http/json; grpc), OTEL_EXPORTER_OTLP_ENDPOINT (http: base URL, /v1/metrics is appended; grpc: used as is, default http://localhost:4317), OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used as is), OTEL_EXPORTER_OTLP_INSECURE (grpc without a scheme), OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (default delta).', 100, ''),
    '',
    'An invalid configuration exits with status 2.',
    '',
  ].join('\n');
}
