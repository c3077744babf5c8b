// OAuth2 client credentials (RFC 6749 §4.4), as KEDA obtains them through golang.org/x/oauth2's
// clientcredentials package: a form POST of grant_type=client_credentials, the scopes joined by spaces
// and the endpoint parameters added; the client id and secret go as basic auth first and, if that
// request fails in any way, in the form (the library's auth-style probe), and the way that worked is
// kept. The token is reused until 10 s before it expires (for ever without expires_in), so a scaler
// that measures twice asks once.
//
// Not a library: the ones on npm use fetch (which refuses ports Go's client accepts) and none probes
// the auth style; this goes through the scaler's HttpClient, so the token endpoint gets the same TLS
// settings, client certificate and timeout as the API it unlocks, as in KEDA.

import { STATUS_CODES } from 'node:http';
import { HttpClient, describeUrl, redactedExcerpt, type Secret } from './http.ts';
import { ScalerConfigError } from './types.ts';

export interface ClientCredentials {
  tokenUrl: URL;
  clientId: string;
  clientSecret: string;
  /** sent space-separated as `scope` when not empty */
  scopes: readonly string[];
  /** extra form parameters; they may replace grant_type but not scope */
  endpointParams: ReadonlyMap<string, readonly string[]>;
}

type AuthStyle = 'header' | 'params';

interface Token {
  authorization: string;
  /** ms since the epoch; undefined: never expires */
  expiresAt?: number;
}

// x/oauth2 reads at most 1 MiB of a token response and treats a token as expired 10 s early
const MAX_TOKEN_RESPONSE_BYTES = 1 << 20;
const EXPIRY_DELTA_MS = 10_000;

export class ClientCredentialsTokens {
  readonly #cfg: ClientCredentials;
  readonly #client: HttpClient;
  readonly #secrets: Secret[];
  readonly #now: () => number;
  #style: AuthStyle | undefined;
  #token: Token | undefined;

  /**
   * `secrets` is the scaler's list of values to hide: the client secret goes in now (also as sent in
   * the basic-auth header, query-escaped) and each access token once it is known.
   */
  constructor(cfg: ClientCredentials, client: HttpClient, secrets: Secret[], now: () => number = Date.now) {
    this.#cfg = cfg;
    this.#client = client;
    this.#secrets = secrets;
    this.#now = now;
    secrets.push(cfg.clientSecret, goQueryEscape(cfg.clientSecret), { user: goQueryEscape(cfg.clientId), password: goQueryEscape(cfg.clientSecret) });
  }

  /** The `Authorization` header value: the cached token while valid, else a new one. */
  async authorization(signal: AbortSignal): Promise<string> {
    const t = this.#token;
    if (t && (t.expiresAt === undefined || t.expiresAt - EXPIRY_DELTA_MS > this.#now())) return t.authorization;
    const form = tokenForm(this.#cfg);
    let token: Token;
    if (this.#style) {
      token = await this.#request(this.#style, form, signal);
    } else {
      try {
        token = await this.#request('header', form, signal);
        this.#style = 'header';
      } catch {
        token = await this.#request('params', form, signal);
        this.#style = 'params';
      }
    }
    this.#token = token;
    return token.authorization;
  }

  async #request(style: AuthStyle, form: Map<string, string[]>, signal: AbortSignal): Promise<Token> {
    const { tokenUrl, clientId, clientSecret } = this.#cfg;
    const headers: Record<string, string> = {};
    const fields = new Map(form);
    if (style === 'params') {
      if (clientId) fields.set('client_id', [clientId]);
      if (clientSecret) fields.set('client_secret', [clientSecret]);
    } else {
      headers.Authorization = `Basic ${Buffer.from(`${goQueryEscape(clientId)}:${goQueryEscape(clientSecret)}`).toString('base64')}`;
    }
    const res = await this.#client.postForm(tokenUrl, headers, encodeForm(fields), signal, this.#secrets, MAX_TOKEN_RESPONSE_BYTES);
    const where = `token request to ${describeUrl(tokenUrl)}`;
    const failed = res.status < 200 || res.status > 299;
    const parsed = parseTokenResponse(res.body, res.contentType);
    if (!parsed.ok) {
      if (failed) throw new Error(this.#statusError(where, res.status, res.body));
      throw new Error(`${where}: cannot parse the response: ${parsed.why}`);
    }
    const r = parsed.fields;
    if (r.error) {
      const detail = [r.error, r.error_description, r.error_uri].filter(Boolean).map((s) => JSON.stringify(s)).join(' ');
      throw new Error(redactedExcerpt(`${where}: refused: ${detail} (HTTP ${res.status})`, this.#secrets, 500));
    }
    if (failed) throw new Error(this.#statusError(where, res.status, res.body));
    if (!r.access_token) throw new Error(`${where}: the response has no access_token`);
    this.#secrets.push(r.access_token);
    const seconds = r.expires_in ?? 0;
    return {
      authorization: `${tokenType(r.token_type ?? '')} ${r.access_token}`,
      ...(seconds !== 0 ? { expiresAt: this.#now() + seconds * 1000 } : {}),
    };
  }

  #statusError(where: string, status: number, body: string): string {
    const phrase = STATUS_CODES[status];
    return `${where}: cannot fetch token: ${status}${phrase ? ` ${phrase}` : ''}, response: ${redactedExcerpt(body, this.#secrets, 200)}`;
  }
}

// ---------------------------------------------------------------------------------------------------
// The request

function tokenForm(cfg: ClientCredentials): Map<string, string[]> {
  const form = new Map<string, string[]>([['grant_type', ['client_credentials']]]);
  if (cfg.scopes.length > 0) form.set('scope', [cfg.scopes.join(' ')]);
  for (const [k, v] of cfg.endpointParams) {
    // checked when the trigger is built (endpointParamsConflict): only grant_type may be replaced here
    form.set(k, [...v]);
  }
  return form;
}

/** The parameter endpointParams would overwrite, as x/oauth2 refuses it at every token request. */
export function endpointParamsConflict(scopes: readonly string[], params: ReadonlyMap<string, readonly string[]>): string | undefined {
  return scopes.length > 0 && params.has('scope') ? 'scope' : undefined;
}

/** Go's url.Values.Encode: keys sorted, each value query-escaped. */
function encodeForm(fields: Map<string, string[]>): string {
  return [...fields.keys()]
    .sort()
    .flatMap((k) => fields.get(k)!.map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');
}

/** Go's url.QueryEscape: only letters, digits and -_.~ stay; space becomes "+". */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** x/oauth2's Token.Type(): bearer, mac and basic in their canonical case, empty means Bearer. */
function tokenType(t: string): string {
  const lower = t.toLowerCase();
  if (lower === 'bearer' || t === '') return 'Bearer';
  if (lower === 'mac') return 'MAC';
  if (lower === 'basic') return 'Basic';
  return t;
}

// ---------------------------------------------------------------------------------------------------
// The response

interface TokenFields {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
  error_uri?: string;
}

type Parsed = { ok: true; fields: TokenFields } | { ok: false; why: string };

const STRING_FIELDS = ['access_token', 'token_type', 'error', 'error_description', 'error_uri'] as const;

/** JSON unless the server says form-encoded or text/plain, as x/oauth2 decides. */
function parseTokenResponse(body: string, contentType: string): Parsed {
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-www-form-urlencoded' || media === 'text/plain') {
    let q: Map<string, string[]>;
    try {
      q = parseQuery(body);
    } catch (e) {
      return { ok: false, why: (e as Error).message };
    }
    const first = (k: string): string | undefined => q.get(k)?.[0] || undefined;
    const fields: TokenFields = {};
    for (const k of STRING_FIELDS) {
      const v = first(k);
      if (v !== undefined) fields[k] = v;
    }
    // strconv.Atoi: anything but an integer counts as no expiry
    const e = first('expires_in');
    if (e !== undefined && /^[+-]?\d+$/.test(e)) fields.expires_in = Number(e);
    return { ok: true, fields };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { ok: false, why: 'not valid JSON' };
  }
  if (doc === null) return { ok: true, fields: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, why: 'the JSON is not an object' };
  const o = doc as Record<string, unknown>;
  const fields: TokenFields = {};
  for (const k of STRING_FIELDS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return { ok: false, why: `"${k}" is not a string` };
    if (v) fields[k] = v;
  }
  // a number, or a string holding one (some servers send "3600"); capped as Go's int32 is
  const e = o.expires_in;
  if (e !== undefined && e !== null) {
    const n = typeof e === 'number' ? e : typeof e === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(e) ? Number(e) : NaN;
    if (!Number.isInteger(n)) return { ok: false, why: '"expires_in" is not a whole number of seconds' };
    fields.expires_in = Math.min(n, 2 ** 31 - 1);
  }
  return { ok: true, fields };
}

// ---------------------------------------------------------------------------------------------------
// endpointParams

/**
 * Go's url.ParseQuery, which KEDA applies to endpointParams: `&`-separated `key=value` pairs, `+` and
 * %XX escapes decoded, a key may repeat; a `;` or a bad escape is an error.
 */
export function parseQuery(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair.includes(';')) throw new Error('invalid semicolon separator');
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

function queryUnescape(s: string): string {
  // the offending text is not shown: a parameter may be a credential (client_assertion)
  if (/%(?![0-9a-fA-F]{2})/.test(s)) throw new Error('a "%" not followed by two hex digits');
  const bytes: number[] = [];
  const plus = s.replace(/\+/g, ' ');
  for (let i = 0; i < plus.length; ) {
    if (plus[i] === '%') {
      bytes.push(parseInt(plus.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = plus.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** endpointParams as ScalerConfigError-checked parameters (the value is never echoed). */
export function endpointParams(text: string | undefined): Map<string, string[]> {
  if (text === undefined) return new Map();
  try {
    return parseQuery(text);
  } catch (e) {
    throw new ScalerConfigError('endpointParams', `parameter "endpointParams" must be URL-encoded parameters such as "audience=rabbitmq&resource=api": ${(e as Error).message} (value hidden)`);
  }
}

/** KEDA's scopes: a comma list, each entry trimmed (an empty entry stays, as in KEDA). */
export function scopeList(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(',').map((s) => s.trim());
}
