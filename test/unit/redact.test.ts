// What a user reads in a log line, an Event or a status when a backend's error body echoes a
// credential in whatever form it was sent: the credential is gone, the rest of the message is not.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact } from '../../src/scalers/http.ts';

const user = 'scalepass';
const password = 'p@ss: wörd/"x"<&>+';
const token = 'eyJhbGciOiJIUzI1NiJ9.c2NhbGVwYXNz.tok-_en';
const apiKey = 'key with spaces&=?/+';
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const pair = { user, password };

const cases: Array<{ form: string; secrets: Parameters<typeof redact>[1]; text: string; expected: string }> = [
  { form: 'the raw password', secrets: [pair], text: `auth failed for ${password}`, expected: 'auth failed for ***' },
  { form: 'basic auth: base64 of user:password', secrets: [pair], text: `{"Authorization":"Basic ${b64(`${user}:${password}`)}"}`, expected: '{"Authorization":"Basic ***"}' },
  { form: 'base64 of user:password percent-encoded in a query string', secrets: [{ user, password: 'pw12345' }],
    text: `auth=Basic%20${encodeURIComponent(b64(`${user}:pw12345`))}&x=1`, expected: 'auth=Basic%20***&x=1' },
  { form: 'URL-safe base64 of user:password', secrets: [pair], text: `cookie=${b64url(`${user}:${password}`)};`, expected: 'cookie=***;' },
  { form: 'base64 of the password alone (a Secret dumped by a proxy)', secrets: [pair], text: `data: {password: ${b64(password)}}`, expected: 'data: {password: ***}' },
  { form: 'the password percent-encoded in URL user info', secrets: [pair],
    text: `dial amqp://${user}:${encodeURIComponent(password)}@10.0.0.7:5672/: refused`, expected: `dial amqp://${user}:***@10.0.0.7:5672/: refused` },
  { form: 'the password percent-encoded with lower-case hex', secrets: [pair],
    text: `u=${encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`, expected: 'u=***' },
  { form: 'a query-string api key, form-encoded (space as +)', secrets: [apiKey],
    text: `GET /metrics?${new URLSearchParams({ api_key: apiKey, a: '1' })}: 401`, expected: 'GET /metrics?api_key=***&a=1: 401' },
  { form: 'a query-string api key, encodeURIComponent', secrets: [apiKey],
    text: `url: /m?api_key=${encodeURIComponent(apiKey)}`, expected: 'url: /m?api_key=***' },
  { form: 'the password as a JSON string (an echoed request as JSON)', secrets: [pair],
    text: `response: ${JSON.stringify({ password })}`, expected: 'response: {"password":"***"}' },
  { form: 'the password as Go writes JSON (\\u003c for <, > and &)', secrets: [pair],
    text: `response: {"p":"${JSON.stringify(password).slice(1, -1).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}"}`,
    expected: 'response: {"p":"***"}' },
  { form: 'the password HTML-escaped (an error page)', secrets: [pair],
    text: `<pre>${password.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</pre>`, expected: '<pre>***</pre>' },
  { form: 'a bearer token in "Bearer <token>"', secrets: [token], text: `{"authorization":"Bearer ${token}"}`, expected: '{"authorization":"Bearer ***"}' },
  { form: 'a bearer token alone', secrets: [token], text: `invalid token ${token}.`, expected: 'invalid token ***.' },
  { form: 'a secret with surrounding whitespace, sent trimmed', secrets: ['s3cr3t-value\n'], text: 'got s3cr3t-value', expected: 'got ***' },
  { form: 'a secret inside another secret: the longer goes whole', secrets: ['abcdefgh', 'abcdefgh-ijkl'], text: 'x abcdefgh-ijkl y abcdefgh', expected: 'x *** y ***' },
  { form: 'a 5-character password as a whole token', secrets: [{ user: 'guest', password: 'guest' }],
    text: 'amqp://guest:guest@host refused; guesthouse stays', expected: 'amqp://***:***@host refused; guesthouse stays' },
  { form: 'base64 of user:password when the password is too short to hide alone', secrets: [{ user: 'admin', password: 'pw' }],
    text: `Basic ${b64('admin:pw')} for pw`, expected: 'Basic *** for pw' },
];

describe('a credential echoed by a backend is hidden in every derived form', () => {
  for (const c of cases) {
    it(`${c.form} => ***`, () => {
      assert.equal(redact(c.text, c.secrets), c.expected);
    });
  }
});

describe('redaction never blanks out ordinary text', () => {
  const text = 'GET http://10.0.0.1:9090/api/v1/query: status 500 response: a bad gateway';
  for (const s of ['', ' ', 'a', '1', 'ab', 'api']) {
    it(`a secret of ${s.length} characters (${JSON.stringify(s)}) leaves the message as it was`, () => {
      assert.equal(redact(text, [s, { user: '', password: s }]), text);
    });
  }
  it('a 4- to 7-character secret goes only as a whole token, never from inside a word', () => {
    assert.equal(redact('status 500: query failed; the query was "up"', ['query']), 'status 500: *** failed; the *** was "up"');
    assert.equal(redact('queryParameters and subquery stay', ['query']), 'queryParameters and subquery stay');
  });
});

describe('a very long credential (a CA bundle, a PEM chain)', () => {
  it('is hidden as written and JSON-escaped, and hiding it does not throw (a regex of it would be too large for V8)', () => {
    const bundle = `-----BEGIN CERTIFICATE-----\n${'QUJD'.repeat(50_000)}\n-----END CERTIFICATE-----`;
    const msg = `bad ca: ${bundle} / ${JSON.stringify(bundle)}`;
    assert.equal(redact(msg, [bundle]), 'bad ca: *** / "***"');
  });
});
