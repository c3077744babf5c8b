import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryAfterMs } from '../../../src/kube/rest.ts';

describe('Retry-After of a 429', () => {
  it('waits the whole seconds the apiserver asks for, at most 10 s', () => {
    assert.equal(retryAfterMs('1'), 1000);
    assert.equal(retryAfterMs(' 3 '), 3000);
    assert.equal(retryAfterMs('0'), 0);
    assert.equal(retryAfterMs('120'), 10_000);
  });
  it('does not retry without a usable Retry-After, as client-go', () => {
    assert.equal(retryAfterMs(undefined), undefined);
    assert.equal(retryAfterMs(''), undefined);
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT'), undefined);
    assert.equal(retryAfterMs('-1'), undefined);
    assert.equal(retryAfterMs('1.5'), undefined);
  });
});
