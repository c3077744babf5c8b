import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HPA_HISTORY_ANNOTATION as KEY, hpaHistoryPatch, hpaHistoryValue, kedaStatus, readHpaHistory } from '../../../src/scaling/hpa-history.ts';

const recs = [{ time: '2026-12-02T10:00:00Z', replicas: 5 }, { time: '2026-12-02T10:01:00Z', replicas: 2 }];
const changes = [{ time: '2026-12-02T10:00:00Z', change: 3 }];

describe('HPA history annotation', () => {
  it('reads what it writes', () => {
    const value = hpaHistoryValue({ recommendations: recs, scaleEvents: changes })!;
    assert.deepEqual(readHpaHistory({ [KEY]: value }, {}), { recommendations: recs, scaleEvents: changes });
  });

  it('prefers the annotation over status fields, and reads status fields an earlier scalepass left when there is no annotation', () => {
    const legacy = { recommendations: [{ time: '2026-12-02T09:00:00Z', replicas: 9 }] };
    assert.deepEqual(readHpaHistory({ [KEY]: hpaHistoryValue({ recommendations: recs })! }, legacy), { recommendations: recs, scaleEvents: undefined });
    assert.deepEqual(readHpaHistory({}, legacy), { recommendations: legacy.recommendations, scaleEvents: undefined });
  });

  it('counts an annotation it cannot read as no history, keeping the entries it can read', () => {
    assert.deepEqual(readHpaHistory({ [KEY]: 'not json' }, { recommendations: recs }), {});
    assert.deepEqual(readHpaHistory({ [KEY]: '[1,2]' }, {}), { recommendations: undefined, scaleEvents: undefined });
    const mixed = JSON.stringify({ recommendations: [recs[0], { time: 'yesterday', replicas: 3 }, { time: recs[1]!.time, replicas: -1 }, null], scaleEvents: [{ time: changes[0]!.time, change: 1.5 }] });
    assert.deepEqual(readHpaHistory({ [KEY]: mixed }, {}), { recommendations: [recs[0]], scaleEvents: undefined });
  });

  it('patches only a change: none for the same history, null to remove it, the value otherwise', () => {
    const value = hpaHistoryValue({ recommendations: recs })!;
    assert.equal(hpaHistoryPatch({ [KEY]: value }, { recommendations: recs }), undefined);
    // the same history with its keys in another order is not rewritten
    const reordered = JSON.stringify({ recommendations: recs.map((r) => ({ replicas: r.replicas, time: r.time })) });
    assert.equal(hpaHistoryPatch({ [KEY]: reordered }, { recommendations: recs }), undefined);
    assert.equal(hpaHistoryPatch({}, {}), undefined);
    assert.equal(hpaHistoryPatch(undefined, { recommendations: [], scaleEvents: [] }), undefined);
    assert.deepEqual(hpaHistoryPatch({ [KEY]: value }, {}), { metadata: { annotations: { [KEY]: null } } });
    assert.deepEqual(hpaHistoryPatch({}, { scaleEvents: changes }), { metadata: { annotations: { [KEY]: JSON.stringify({ scaleEvents: changes }) } } });
  });

  it('leaves KEDA\'s status fields as they are and removes only the history', () => {
    const status = { lastActiveTime: '2026-12-02T10:00:00Z', conditions: [{ type: 'Ready', status: 'True' as const }], recommendations: recs, scaleEvents: changes };
    assert.deepEqual(kedaStatus(status), { lastActiveTime: status.lastActiveTime, conditions: status.conditions });
  });
});
