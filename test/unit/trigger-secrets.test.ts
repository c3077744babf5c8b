// The pass's last line of defence: whatever a scaler left in its error message, the message a user
// reads has lost every credential the trigger was given (TriggerAuthentication parameters, env named
// by `…FromEnv`, passwords inside URLs and connection strings), while switches, hosts and user names
// stay readable.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactTriggerSecrets } from '../../src/secrets.ts';
import type { TriggerSpec } from '../../src/scaling/types.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const trigger = (metadata: Record<string, string>): TriggerSpec => ({ type: 'prometheus', metadata });

describe("a trigger's error message as the pass reports it", () => {
  it('loses every authentication parameter, in every form, and keeps the switches and the user name', () => {
    const authParams = { authModes: 'basic', username: 'alice', password: 'hunter2-pw', customAuthValue: 'abc-123-xyz', unsafeSsl: 'true' };
    const msg = `authModes basic as alice: GET /q?x=${encodeURIComponent('hunter2-pw')} echoed Basic ${b64('alice:hunter2-pw')} and abc-123-xyz (unsafeSsl true)`;
    assert.equal(redactTriggerSecrets(msg, trigger({}), { authParams, resolvedEnv: {} }),
      'authModes basic as alice: GET /q?x=*** echoed Basic *** and *** (unsafeSsl true)');
  });

  it('loses the env values named by …FromEnv keys, and only those', () => {
    const resolvedEnv = { PG_PASSWORD: 'env-secret-1', OTHER: 'unrelated-value' };
    const msg = 'password authentication failed: env-secret-1; unrelated-value';
    assert.equal(redactTriggerSecrets(msg, trigger({ passwordFromEnv: 'PG_PASSWORD' }), { authParams: {}, resolvedEnv }),
      'password authentication failed: ***; unrelated-value');
  });

  it('loses the password of a URL or connection string, in the metadata too, and keeps the host', () => {
    const t = trigger({ host: 'amqp://bob:inline%2Fpw@rabbit:5672/vhost' });
    const authParams = { connection: 'host=db port=5432 user=app password=kw-pass-99 sslmode=disable' };
    const msg = 'dial amqp://bob:inline/pw@rabbit:5672/vhost; pq: kw-pass-99; Basic ' + b64('bob:inline/pw');
    assert.equal(redactTriggerSecrets(msg, t, { authParams, resolvedEnv: {} }), 'dial amqp://bob:***@rabbit:5672/vhost; pq: ***; Basic ***');
  });

  it("loses a MySQL DSN's raw password, slashes, spaces and quotes included, whichever field holds the DSN", () => {
    const t = trigger({ addresses: 'app:p/w "x" y@tcp(127.0.0.1:3306)/db' });
    assert.equal(redactTriggerSecrets('dial app:p/w "x" y@tcp(127.0.0.1:3306)/db: refused', t, { authParams: {}, resolvedEnv: {} }), 'dial app:***@tcp(127.0.0.1:3306)/db: refused');
  });

  it('without resolved inputs (the TriggerAuthentication could not be read) the message is kept as it was', () => {
    assert.equal(redactTriggerSecrets('TriggerAuthentication ns/x not found', trigger({}), undefined), 'TriggerAuthentication ns/x not found');
  });
});
