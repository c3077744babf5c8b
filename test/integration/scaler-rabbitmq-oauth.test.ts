// The rabbitmq trigger with OAuth 2.0 client credentials, against a real RabbitMQ that accepts nothing but
// OAuth 2.0 tokens: a private node of the machine's RabbitMQ with its rabbitmq_auth_backend_oauth2 plugin
// (test/helpers/rabbitmq-oauth-node.ts; the shared RabbitMQ is not touched). The authorization server is
// a token endpoint in this test — none can run here — that issues the JWTs the node trusts (RS256, with
// the node's signing key) only for the right client credentials, and records each token request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startOAuthNode, type OAuthNode } from '../helpers/rabbitmq-oauth-node.ts';
import { scalerFactory } from '../helpers/scalers.ts';

const run = randomBytes(3).toString('hex');
const CLIENT_ID = 'scalepass-reader';
const CLIENT_SECRET = `s3cret-${run}-value`;
const QUEUE = `orders-${run}`;
const MESSAGES = 7;

interface TokenRequest { auth?: string; form: URLSearchParams }

describe('rabbitmq trigger with OAuth 2.0 client credentials (management API)', () => {
  let node: OAuthNode;
  let tokenServer: http.Server;
  let tokenUrl = '';
  const requests: TokenRequest[] = [];
  const { scaler, read, open } = scalerFactory('rabbitmq', { scaledObjectName: 'orders-worker', now: () => Date.now() });

  before(async () => {
    node = await startOAuthNode();
    process.stderr.write(`private OAuth RabbitMQ node ready in ${node.startMs} ms\n`);
    tokenServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        requests.push({ auth: req.headers.authorization, form });
        const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : undefined;
        const [id, secret] = basic ? basic.split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
        res.setHeader('content-type', 'application/json');
        if (form.get('grant_type') !== 'client_credentials' || id !== CLIENT_ID || secret !== CLIENT_SECRET) {
          res.statusCode = 401;
          return res.end(JSON.stringify({ error: 'invalid_client' }));
        }
        // the scopes asked for, as the node reads them (prefixed with its resource server id)
        const scope = (form.get('scope') ?? '').split(' ').filter(Boolean).map((s) => `${node.resourceServerId}.${s}`);
        res.end(JSON.stringify({ access_token: node.sign({ scope, sub: CLIENT_ID }), token_type: 'Bearer', expires_in: 300 }));
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth/token`;
    await node.admin('PUT', `/api/queues/%2F/${QUEUE}`, { durable: false });
    for (let i = 0; i < MESSAGES; i++) {
      await node.admin('POST', '/api/exchanges/%2F/amq.default/publish', { properties: {}, routing_key: QUEUE, payload: `m${i}`, payload_encoding: 'string' });
    }
    // the management API's statistics catch up (collect_statistics_interval 500 ms on this node)
    const t0 = Date.now();
    for (;;) {
      const q = await (await node.admin('GET', `/api/queues/%2F/${QUEUE}`)).json() as { messages?: number };
      if (q.messages === MESSAGES) break;
      if (Date.now() - t0 > 30_000) throw new Error(`the queue shows ${q.messages} messages, not ${MESSAGES}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    await Promise.allSettled(open.map((s) => s.close()));
    tokenServer?.close();
    await node?.stop();
  });

  const auth = (extra: Record<string, string> = {}) => ({
    oauthTokenURI: tokenUrl, clientID: CLIENT_ID, clientSecret: CLIENT_SECRET,
    scopes: 'tag:monitoring,read:*/*', endpointParams: 'audience=scalepass&resource=queues', ...extra,
  });

  it('reads the queue length with a client-credentials token, asking with the scopes and endpoint params, and reuses the token', async () => {
    const before = requests.length;
    const s = scaler({ host: `${node.managementUrl}/%2F`, protocol: 'http', queueName: QUEUE, mode: 'QueueLength', value: '5' }, { authParams: auth() });
    assert.deepEqual(await read(s), { value: MESSAGES, active: true });
    assert.deepEqual(await read(s), { value: MESSAGES, active: true });
    const mine = requests.slice(before);
    assert.equal(mine.length, 1, 'one token for both measurements (it is valid for 300 s)');
    const f = mine[0]!.form;
    assert.equal(f.get('grant_type'), 'client_credentials');
    assert.equal(f.get('scope'), 'tag:monitoring read:*/*');
    assert.equal(f.get('audience'), 'scalepass');
    assert.equal(f.get('resource'), 'queues');
  });

  it('without a token the node refuses the management API (the trigger really depends on OAuth)', async () => {
    const r = await fetch(`${node.managementUrl}/api/queues/%2F/${QUEUE}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    assert.equal(r.status, 401);
  });

  it('a wrong client secret fails with a clear error that does not show it', async () => {
    const wrong = `wr0ng-${run}-secret`;
    const s = scaler({ host: `${node.managementUrl}/%2F`, protocol: 'http', queueName: QUEUE, mode: 'QueueLength', value: '5' }, { authParams: auth({ clientSecret: wrong }) });
    await assert.rejects(read(s), (e: Error) => {
      assert.match(e.message, /token|oauth/i);
      assert.match(e.message, /401/);
      assert.ok(!e.message.includes(wrong) && !e.message.includes(CLIENT_SECRET), `the error shows a secret: ${e.message}`);
      return true;
    });
  });
});
