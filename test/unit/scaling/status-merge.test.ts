import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeOwnChanges, statusChanged } from '../../../src/scaling/status-merge.ts';
import type { ScaledObjectStatus } from '../../../src/scaling/types.ts';

const ready = (status: 'True' | 'False', message = '') => ({ type: 'Ready', status, reason: status === 'True' ? 'ScaledObjectReady' : 'ScaledObjectCheckFailed', message });
const active = (status: 'True' | 'False') => ({ type: 'Active', status, reason: 'ScalerActive', message: '' });

describe('a status write that met another writer keeps the other writer\'s fields', () => {
  const cases: { name: string; read: ScaledObjectStatus; next: ScaledObjectStatus; fresh: ScaledObjectStatus; want: ScaledObjectStatus }[] = [
    {
      name: 'a field only the other writer set survives next to the pass\'s change',
      read: { lastActiveTime: 't1' },
      next: { lastActiveTime: 't2' },
      fresh: { lastActiveTime: 't1', hpaName: 'keda-hpa-x' },
      want: { lastActiveTime: 't2', hpaName: 'keda-hpa-x' },
    },
    {
      name: 'a field the pass did not change keeps the other writer\'s new value',
      read: { originalReplicaCount: 1, lastActiveTime: 't1' },
      next: { originalReplicaCount: 1, lastActiveTime: 't2' },
      fresh: { originalReplicaCount: 7, lastActiveTime: 't1' },
      want: { originalReplicaCount: 7, lastActiveTime: 't2' },
    },
    {
      name: 'a field the pass removed is removed from the fresh status',
      read: { pausedReplicaCount: 2 },
      next: {},
      fresh: { pausedReplicaCount: 2, hpaName: 'h' },
      want: { hpaName: 'h' },
    },
    {
      name: 'the pass wins a field both changed',
      read: { lastActiveTime: 't1' },
      next: { lastActiveTime: 't2' },
      fresh: { lastActiveTime: 't3' },
      want: { lastActiveTime: 't2' },
    },
    {
      name: 'conditions merge per type: the other writer\'s own condition stays, the pass\'s changes apply',
      read: { conditions: [ready('True'), active('False')] },
      next: { conditions: [ready('True'), active('True')] },
      fresh: { conditions: [ready('True'), active('False'), { type: 'ExternalCheck', status: 'True' }] },
      want: { conditions: [ready('True'), active('True'), { type: 'ExternalCheck', status: 'True' }] },
    },
    {
      name: 'a condition the pass left as it was keeps the other writer\'s version',
      read: { conditions: [ready('True'), active('False')] },
      next: { conditions: [ready('True'), active('True')] },
      fresh: { conditions: [ready('False', 'set by someone else'), active('False')] },
      want: { conditions: [ready('False', 'set by someone else'), active('True')] },
    },
    {
      name: 'an untouched nested map (health) keeps the fresh value',
      read: { health: { m: { numberOfFailures: 0, status: 'Happy' } }, lastActiveTime: 'a' },
      next: { health: { m: { numberOfFailures: 0, status: 'Happy' } }, lastActiveTime: 'b' },
      fresh: { health: { m: { numberOfFailures: 3, status: 'Failing' } }, lastActiveTime: 'a' },
      want: { health: { m: { numberOfFailures: 3, status: 'Failing' } }, lastActiveTime: 'b' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(mergeOwnChanges(c.read, c.next, c.fresh), c.want));
  }
});

describe('a status is written only when it changed as JSON', () => {
  it('key order and undefined fields are no change', () => {
    assert.equal(statusChanged<ScaledObjectStatus>({ lastActiveTime: 't', conditions: [ready('True')] }, { conditions: [ready('True')], lastActiveTime: 't', hpaName: undefined }), false);
    assert.equal(statusChanged<ScaledObjectStatus>(undefined, {}), false);
  });
  it('a changed, added or removed field is a change, nested ones too', () => {
    assert.equal(statusChanged<ScaledObjectStatus>({ lastActiveTime: 't1' }, { lastActiveTime: 't2' }), true);
    assert.equal(statusChanged<ScaledObjectStatus>({}, { originalReplicaCount: 0 }), true);
    assert.equal(statusChanged<ScaledObjectStatus>({ originalReplicaCount: 0 }, {}), true);
    assert.equal(statusChanged<ScaledObjectStatus>({ conditions: [ready('True')] }, { conditions: [ready('False')] }), true);
    assert.equal(statusChanged<ScaledObjectStatus>({ conditions: [ready('True')] }, { conditions: [ready('True'), active('True')] }), true);
    assert.equal(statusChanged<ScaledObjectStatus>({ triggersActivity: { a: { isActive: true } } }, { triggersActivity: { a: { isActive: false } } }), true);
  });
});
