// Credentials out of every message: a backend's error body may echo what it was sent (the
// Authorization header, the URL with its query), so a credential is hidden in each form it travels or
// is echoed in, not only as the raw value: base64 of `user:password` (basic auth) and of the value
// alone (a Secret's data), percent-encoding (URL user info, query-string api keys, form bodies),
// JSON and HTML escaping (an echoed request dumped as JSON or as an error page). A bearer token is a
// raw value: hiding it hides "Bearer <token>" too.
//
// Length rule, so that a trivial secret cannot mangle every message: a value shorter than
// MIN_SECRET_LENGTH characters is not hidden on its own (a 1-3 character secret protects nothing, and
// hiding "a" or "1" would blank letters and digits everywhere; an empty one would match between every
// two characters); base64 of `user:pw` is still hidden, the pair being long enough. A form shorter than
// ANYWHERE_LENGTH is hidden only as a whole token (not touching a letter or digit on either side), so
// "guest" goes from `guest:guest@host` but "guesthouse" stays; longer forms are hidden wherever they
// appear.
import type { TriggerSpec } from './scaling/types.ts';

/** A credential: a value, or a user and password that travel together as basic auth. */
export type Secret = string | { user: string; password: string };

export const MIN_SECRET_LENGTH = 4;
export const ANYWHERE_LENGTH = 8;
const MASK = '***';

/** Replaces every form of every secret by `***`. */
export function redact(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const hide of patterns(secrets)) out = hide(out);
  return out;
}

/** One replacement per plain text or base64 form to hide, longest first so a secret inside another goes with it. */
function patterns(secrets: readonly Secret[]): Array<(text: string) => string> {
  const plain = new Set<string>();
  const encoded = new Set<string>();
  const addValue = (v: string): void => {
    for (const s of new Set([v, v.trim()])) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      plain.add(s);
      for (const b of base64Forms(s)) encoded.add(b);
    }
  };
  for (const s of secrets) {
    if (typeof s === 'string') addValue(s);
    else if (s.password && s.user.length + 1 + s.password.length >= MIN_SECRET_LENGTH) {
      addValue(s.password);
      // the Authorization header's value
      for (const b of base64Forms(`${s.user}:${s.password}`)) encoded.add(b);
    }
  }
  const forms = [...[...plain].map((text) => ({ text, padded: false })), ...[...encoded].map((text) => ({ text, padded: true }))];
  return forms
    .sort((a, b) => b.text.length - a.text.length)
    .map(({ text, padded }) => {
      // a PEM key or a CA bundle would make a regex of megabytes (V8 refuses one past about 50,000
      // characters, and the error would carry the value): long values only as written and as a JSON
      // string, replaced as plain text; base64 padding left after them hides nothing
      if (text.length > LONG_LENGTH) {
        const written = [text, JSON.stringify(text).slice(1, -1)];
        return (s: string) => written.reduce((acc, w) => acc.split(w).join(MASK), s);
      }
      let body = [...text].map(charForms).join('');
      // base64 padding, as written or percent-encoded, goes with the value
      if (padded) body += '(?:=|%3[dD]){0,2}';
      const re = new RegExp(text.length < ANYWHERE_LENGTH ? `(?<![A-Za-z0-9])${body}(?![A-Za-z0-9])` : body, 'g');
      return (s: string) => s.replace(re, MASK);
    });
}

const LONG_LENGTH = 256;

/** Standard and URL-safe base64 without padding (the regex adds it back as optional). */
function base64Forms(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  return [b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
}

/**
 * A regex matching one character as written or as any encoder writes it, so a value matches even when
 * encoders mix (`p%40ss word` from one, `p@ss+word` from another): percent-encoding of its UTF-8 bytes
 * in either case of hex, `+` for a space (forms, Go's QueryEscape), JSON escapes (`\"`, `\\`, `\/`,
 * `\u003c` as Go writes <, > and &) and HTML entities.
 */
function charForms(c: string): string {
  const alts = [escapeRegex(c)];
  const bytes = [...Buffer.from(c, 'utf8')];
  alts.push(bytes.map((x) => `%${hexAnyCase(x.toString(16).padStart(2, '0'))}`).join(''));
  if (c === ' ') alts.push('\\+');
  const cp = c.codePointAt(0)!;
  if (cp <= 0xffff) alts.push(`\\\\u${hexAnyCase(cp.toString(16).padStart(4, '0'))}`);
  const json = JSON.stringify(c).slice(1, -1);
  if (json !== c) alts.push(escapeRegex(json));
  if (c === '/') alts.push('\\\\/');
  const html = HTML[c];
  if (html) alts.push(...html);
  alts.push(`&#${cp};`, `&#[xX]${hexAnyCase(cp.toString(16))};`);
  return `(?:${alts.join('|')})`;
}

const HTML: Record<string, string[]> = { '&': ['&amp;'], '<': ['&lt;'], '>': ['&gt;'], '"': ['&quot;'], "'": ['&apos;'] };

function hexAnyCase(hex: string): string {
  return [...hex].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------
// The pass's defence in depth: whatever a scaler forgot to hide, a trigger's error message loses the
// values the trigger was given through a TriggerAuthentication or `…FromEnv`.

/**
 * Parameters that name a switch, an endpoint or a user, never a credential: hiding them would turn
 * "connection to redis at 10.0.0.7:6379 failed" into "connection to *** failed" and "authModes
 * basic" into "authModes ***" without protecting anything. A credential inside such a value
 * (`amqp://user:password@host`) is still found and hidden by credentialsIn.
 */
const NOT_SECRET = new Set(
  ['authModes', 'authMode', 'method', 'keyParamName', 'username', 'userName', 'user', 'host', 'hosts', 'address', 'addresses', 'port',
    'unsafeSsl', 'tls', 'enableTLS', 'protocol', 'vhostName', 'database', 'dbName', 'sslmode'].map((k) => k.toLowerCase()),
);

export interface TriggerInputsLike {
  authParams: Record<string, string>;
  resolvedEnv: Record<string, string>;
}

/**
 * `message` without any value of the trigger's authentication parameters, of the container env its
 * `…FromEnv` keys named, or of a password inside a URL or connection string in those or its metadata.
 * `inputs` is undefined when they could not be resolved (the metadata is then all there is).
 */
export function redactTriggerSecrets(message: string, trigger: TriggerSpec, inputs: TriggerInputsLike | undefined): string {
  return redact(message, triggerSecrets(trigger, inputs));
}

export function triggerSecrets(trigger: TriggerSpec, inputs: TriggerInputsLike | undefined): Secret[] {
  const metadata = trigger.metadata ?? {};
  const params: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(inputs?.authParams ?? {})) params.push([k, v]);
  for (const [k, envName] of Object.entries(metadata)) {
    const env = inputs?.resolvedEnv;
    const v = k.endsWith('FromEnv') && env && Object.hasOwn(env, envName.trim()) ? env[envName.trim()] : undefined;
    if (typeof v === 'string') params.push([k.slice(0, -'FromEnv'.length), v]);
  }
  const out: Secret[] = [];
  const users: string[] = [];
  const passwords: string[] = [];
  for (const [k, v] of params) {
    const key = k.toLowerCase();
    if (!NOT_SECRET.has(key)) out.push(v);
    if (/^user(name)?$/.test(key)) users.push(v.trim());
    if (key.includes('password')) passwords.push(v.trim());
  }
  for (const u of users) for (const p of passwords) out.push({ user: u, password: p });
  for (const [, v] of [...params, ...Object.entries(metadata)]) out.push(...credentialsIn(v));
  return out;
}

/**
 * Passwords written inside a value: URL or DSN user info (`scheme://user:pw@`, MySQL's
 * `user:pw@tcp(...)`), as written and unescaped, and `password=` in keyword connection strings
 * (PostgreSQL's `host=... password=pw`, ADO's `Password=pw;`).
 */
export function credentialsIn(value: string): Secret[] {
  const out: Secret[] = [];
  for (const m of value.matchAll(/(?:^|[/\s])([^\s:/@]*):([^\s@/]*)@/g)) {
    const user = unescapeOr(m[1]!);
    const password = unescapeOr(m[2]!);
    out.push(m[2]!, { user, password });
  }
  // MySQL's DSN: the password is written raw and runs to the last '@' before `net(address)`
  for (const m of value.matchAll(/(?:^|\s)([^\s:/@]*):(.+)@[a-z0-9]*\(/gi)) out.push(m[2]!, { user: m[1]!, password: m[2]! });
  for (const m of value.matchAll(/(?:^|[\s;?&])\w*password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)"|([^\s;&]+))/gi)) {
    out.push((m[1] ?? m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  return out;
}

function unescapeOr(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
