// The rabbitmq trigger with OAuth2 client credentials, against a real RabbitMQ that accepts nothing
// but OAuth 2.0 tokens: a private node of the machine's RabbitMQ 3.10 with its oauth2 auth backend
// (test/helpers/rabbitmq-oauth-node.ts), so every count read here was let through by RabbitMQ checking
// the token's signature, audience, expiry and scopes.
//
// The token endpoint is a node:http server in this file: no authorization server (UAA, Keycloak) runs
// on this machine. It does what one does for the client-credentials grant: checks grant_type, the
// client's id and secret (as basic auth or in the form, or only in the form for a client registered
// so), the requested scopes and the audience parameter, and issues an RS256 JWT signed with the key
// the node trusts. One client's refusal echoes the secret it was sent, as a careless server might.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { rejection, scalerFactory } from '../helpers/scalers.ts';
import { startOAuthNode, type OAuthNode } from '../helpers/rabbitmq-oauth-node.ts';
import { until } from '../helpers/until.ts';
import { ScalerConfigError, type Scaler } from '../../src/scalers/types.ts';

const run = randomBytes(3).toString('hex');
const SECRET = `s3cret/${run}+&= x`;
const FORM_SECRET = `f0rm-s3cret-${run}`;
const QUEUE = `orders-${run}`;
const RSID = 'scalepass';
const READ = `${RSID}.read:*/*`;
const MONITORING = `${RSID}.tag:monitoring`;

interface TokenRequest {
  clientId: string;
  style: 'header' | 'params';
  form: Record<string, string>;
}

const clients: Record<string, { secret: string; formOnly?: boolean }> = {
  keda: { secret: SECRET },
  'form-only': { secret: FORM_SECRET, formOnly: true },
  oversize: { secret: SECRET },
};
const allowedScopes = new Set([READ, MONITORING]);
const allowedAudiences = new Set([RSID, 'billing']);

let node: OAuthNode;
let tokenServer: http.Server;
let tokenUrl = '';
let expiresIn = 300;
const requests: TokenRequest[] = [];
const silent: net.Socket[] = [];
let silentServer: net.Server;
let silentUrl = '';

const factory = scalerFactory('rabbitmq', { scaledObjectName: 'orders-worker' });
const { read, open } = factory;

function scaler(authParams: Record<string, string>, metadata: Record<string, string> = {}): Scaler {
  return factory.scaler({ queueName: QUEUE, host: node.managementUrl, protocol: 'http', mode: 'QueueLength', value: '5', ...metadata }, { authParams });
}

const auth = (over: Record<string, string> = {}): Record<string, string> => ({
  oauthTokenURI: tokenUrl, clientID: 'keda', clientSecret: SECRET, scopes: `${READ}, ${MONITORING}`, endpointParams: `audience=${RSID}`, ...over,
});

function tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const json = (status: number, doc: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  };
  if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
    return json(400, { error: 'invalid_request', error_description: 'POST a form' });
  }
  const form = Object.fromEntries(new URLSearchParams(body));
  let clientId: string | undefined;
  let secret: string | undefined;
  let style: TokenRequest['style'] = 'params';
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (basic) {
    // RFC 6749 §2.3.1: both parts form-encoded before base64
    const [id, pw] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    const unform = (s = ''): string => decodeURIComponent(s.replace(/\+/g, ' '));
    [clientId, secret, style] = [unform(id), unform(pw), 'header'];
  } else {
    [clientId, secret] = [form.client_id, form.client_secret];
  }
  requests.push({ clientId: clientId ?? '', style, form });
  const client = clientId ? clients[clientId] : undefined;
  if (!client || (client.formOnly && style === 'header')) return json(401, { error: 'invalid_client', error_description: 'unknown client or client authentication not allowed' });
  if (secret !== client.secret) return json(401, { error: 'invalid_client', error_description: `wrong secret "${secret}"` });
  if (form.grant_type !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
  const scope = (form.scope ?? '').split(' ').filter(Boolean);
  if (scope.some((s) => !allowedScopes.has(s))) return json(400, { error: 'invalid_scope' });
  if (!form.audience || !allowedAudiences.has(form.audience)) return json(400, { error: 'invalid_request', error_description: 'audience required' });
  const token = node.sign({ scope, aud: [form.audience], expiresInSeconds: Math.max(expiresIn, 30), sub: clientId });
  if (clientId === 'oversize') return json(200, { access_token: token, token_type: 'bearer', expires_in: expiresIn, padding: 'x'.repeat(1 << 20) });
  json(200, { access_token: token, token_type: 'bearer', expires_in: expiresIn });
}

before(async () => {
  node = await startOAuthNode(RSID);
  // it adds to CI time: say how much
  process.stderr.write(`rabbitmq-oauth-node: private OAuth2 RabbitMQ node answered after ${node.startMs} ms\n`);
  tokenServer = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => tokenEndpoint(req, res, body));
  });
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as net.AddressInfo).port}/token`;
  // a peer that accepts connections and never answers: no real token endpoint hangs on demand
  silentServer = net.createServer((s) => silent.push(s));
  await new Promise<void>((r) => silentServer.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silentServer.address() as net.AddressInfo).port}/token`;

  await node.admin('PUT', `/api/queues/%2F/${QUEUE}`, { durable: false });
  for (let i = 0; i < 7; i++) {
    await node.admin('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: QUEUE, payload: `m${i}`, payload_encoding: 'string' });
  }
  await until('the management API reports the 7 messages published', async () => {
    const q = (await (await node.admin('GET', `/api/queues/%2F/${QUEUE}`)).json()) as { messages?: number };
    return q.messages === 7 ? q : undefined;
  }, 30_000);
});

after(async () => {
  await Promise.all(open.map((s) => s.close()));
  for (const s of silent) s.destroy();
  await new Promise((r) => silentServer?.close(r));
  await new Promise((r) => tokenServer?.close(r));
  await node?.stop();
});

function since(n: number): TokenRequest[] {
  return requests.slice(n);
}

describe('rabbitmq over the management API with OAuth2 client credentials (an OAuth-only RabbitMQ)', () => {
  it('reads 7 messages with a token it fetched: id and secret as basic auth, scopes space-separated, audience from endpointParams', async () => {
    expiresIn = 300;
    const n = requests.length;
    assert.deepEqual(await read(scaler(auth())), { value: 7, active: true });
    const got = since(n);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.style, 'header');
    assert.deepEqual(got[0]!.form, { audience: RSID, grant_type: 'client_credentials', scope: `${READ} ${MONITORING}` });
  });

  it('takes the scopes from scope (the alias) when scopes is absent', async () => {
    const n = requests.length;
    const a = auth();
    delete a.scopes;
    assert.equal((await read(scaler({ ...a, scope: `${READ},${MONITORING}` }))).value, 7);
    assert.equal(since(n)[0]!.form.scope, `${READ} ${MONITORING}`);
  });

  it('reuses its token for the next measurement; another trigger fetches its own', async () => {
    expiresIn = 300;
    const n = requests.length;
    const s = scaler(auth());
    assert.equal((await read(s)).value, 7);
    assert.equal((await read(s)).value, 7);
    assert.equal(since(n).length, 1, 'one token for two measurements');
    assert.equal((await read(scaler(auth()))).value, 7);
    assert.equal(since(n).length, 2);
  });

  it('fetches a new token when the one it holds expires within 10 s (expires_in 5)', async () => {
    expiresIn = 5;
    try {
      const n = requests.length;
      const s = scaler(auth());
      assert.equal((await read(s)).value, 7);
      assert.equal((await read(s)).value, 7);
      assert.equal(since(n).length, 2);
    } finally {
      expiresIn = 300;
    }
  });

  it('sends id and secret in the form when the endpoint refuses basic auth, and keeps to the form for the next token', async () => {
    expiresIn = 5;
    try {
      const n = requests.length;
      const s = scaler(auth({ clientID: 'form-only', clientSecret: FORM_SECRET }));
      assert.equal((await read(s)).value, 7);
      assert.equal((await read(s)).value, 7);
      assert.deepEqual(since(n).map((r) => r.style), ['header', 'params', 'params']);
      assert.equal(since(n)[1]!.form.client_id, 'form-only');
    } finally {
      expiresIn = 300;
    }
  });

  it('a wrong client secret fails with the endpoint\'s refusal, never the secret, even when the endpoint echoes it', async () => {
    const wrong = `wr0ng-${run}-secret`;
    const { message } = await rejection(read(scaler(auth({ clientSecret: wrong }))));
    assert.match(message, /^error inspecting RabbitMQ: token request to http:\/\/127\.0\.0\.1:\d+\/token: refused: "invalid_client" "wrong secret \\"\*\*\*\\"" \(HTTP 401\)$/);
    assert.ok(!message.includes(wrong) && !message.includes(SECRET), message);
  });

  it('RabbitMQ refuses a token without the management tag scope: the error carries its 401', async () => {
    const { message } = await rejection(read(scaler(auth({ scopes: READ }))));
    assert.match(message, /error requesting RabbitMQ API status: 401, response: .*Not management user.*, from: http:\/\/127\.0\.0\.1:\d+\/api\/queues\/%2F\//);
  });

  it('RabbitMQ refuses a token issued for another audience (endpointParams audience=billing)', async () => {
    const { message } = await rejection(read(scaler(auth({ endpointParams: 'audience=billing' }))));
    assert.match(message, /error requesting RabbitMQ API status: 401/);
  });

  it('a token endpoint that never answers fails within the trigger timeout (1s), naming it', async () => {
    const { message, ms } = await rejection(() => read(scaler(auth({ oauthTokenURI: silentUrl }), { timeout: '1s' })));
    assert.match(message, /^error inspecting RabbitMQ: POST http:\/\/127\.0\.0\.1:\d+\/token: .*1000 ms/);
    assert.ok(ms >= 900 && ms < 2500, `took ${ms} ms`);
  });

  it('a token response over 1 MiB is refused, not read whole', async () => {
    const { message } = await rejection(read(scaler(auth({ clientID: 'oversize' }))));
    assert.match(message, /POST http:\/\/127\.0\.0\.1:\d+\/token: response larger than 1048576 bytes/);
  });
});

describe('rabbitmq OAuth2 parameters that are refused when the trigger is built', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, string, RegExp]> = [
    ['no clientSecret', { clientSecret: '' }, {}, 'clientSecret', /needs oauthTokenURI, clientID and clientSecret in the TriggerAuthentication: "clientSecret" is missing/],
    ['the AMQP protocol', {}, { host: 'amqp://127.0.0.1:5672/', protocol: 'auto' }, 'oauthTokenURI', /only with the HTTP protocol/],
    ['username and password too', { username: 'guest', password: 'guest' }, {}, 'username', /cannot be combined with username and password/],
    ['a token URI that is not http(s)', { oauthTokenURI: 'ftp://idp/token' }, {}, 'oauthTokenURI', /must be an http:\/\/ or https:\/\/ URL/],
    ['endpointParams with a bad escape', { endpointParams: 'audience=%zz' }, {}, 'endpointParams', /must be URL-encoded parameters/],
    ['endpointParams setting scope next to scopes', { endpointParams: `audience=${RSID}&scope=x` }, {}, 'endpointParams', /cannot set "scope"/],
  ];
  for (const [name, over, metadata, field, message] of cases) {
    it(`refuses ${name}, naming ${field}`, () => {
      assert.throws(() => scaler(auth(over), metadata), (e: unknown) => {
        assert.ok(e instanceof ScalerConfigError, String(e));
        assert.equal(e.field, field, e.message);
        assert.match(e.message, message);
        assert.ok(!e.message.includes(SECRET));
        return true;
      });
    });
  }
});
