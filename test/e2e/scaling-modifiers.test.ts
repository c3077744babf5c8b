// advanced.scalingModifiers end to end: a Redis list and a PostgreSQL query, both real servers, combined
// by a formula scale a Deployment to the count worked out by hand; a formula that gives no number
// leaves the Deployment as it is with Ready=False.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { harness, type Harness } from '../helpers/harness.ts';
import { asScalepass } from '../helpers/install.ts';
import { create, deployment, scaledObject, specReplicas, pass, getSO } from '../helpers/fixtures.ts';

const id = crypto.randomBytes(4).toString('hex');
const WIDE_OPEN = { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 15 }] } } } };

describe('scalingModifiers end to end', () => {
  let h: Harness;
  let kubeconfig: string;
  let redis: Redis;
  const list = `scalepass:modifiers:${id}`;

  before(async () => {
    h = await harness();
    kubeconfig = await asScalepass(h);
    redis = new Redis(h.state.services.redis!);
    await redis.rpush(list, ...Array.from({ length: 13 }, (_, i) => `job-${i}`));
  });
  after(async () => {
    await redis.del(list);
    redis.disconnect();
  });

  const triggers = [
    { type: 'redis', name: 'queue', metadata: { address: '127.0.0.1:6379', listName: list } },
    { type: 'postgresql', name: 'db', metadata: { connectionFromEnv: 'PG_URL', query: 'SELECT 10' } },
  ];

  it('13 queued items + 10 from PostgreSQL, formula queue + db, target 5: 1 -> ceil(23 / 5) = 5', async () => {
    const ns = await h.namespace('e2e-modifiers');
    await create(h, ns, deployment('worker', 1, [{ name: 'PG_URL', value: h.state.services.postgresql! }]));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, triggers,
      advanced: { ...WIDE_OPEN, scalingModifiers: { formula: 'queue + db', target: '5' } } }));
    const r = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/worker`), 5, r.stderr);
    const so = await getSO(h, ns, 'worker');
    assert.equal(so.status?.compositeScalerName, 'composite-metric');
    assert.equal(so.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  it('a formula that divides by zero (db - 10 is 0) gives Ready=False and leaves the Deployment at 3', async () => {
    const ns = await h.namespace('e2e-modifiers-err');
    await create(h, ns, deployment('worker', 3, [{ name: 'PG_URL', value: h.state.services.postgresql! }]));
    await create(h, ns, scaledObject('worker', { scaleTargetRef: { name: 'worker' }, pollingInterval: 1, cooldownPeriod: 0, triggers,
      advanced: { scalingModifiers: { formula: 'queue / (db - 10)', target: '5' } } }));
    const r = await pass(h, { kubeconfig, namespaces: [ns] });
    assert.equal(r.code, 1, 'the object failed this pass');
    assert.equal(await specReplicas(h, `/apis/apps/v1/namespaces/${ns}/deployments/worker`), 3);
    const ready = (await getSO(h, ns, 'worker')).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ScalingModifiersFormulaFailed');
    assert.match(ready?.message ?? '', /advanced\.scalingModifiers\.formula: .*Infinity/);
  });
});
