import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore, pool } from '../../src/limit.ts';

describe('bounds on a pass', () => {
  it('a semaphore of 3 never runs more than 3 tasks at once, and runs them all', async () => {
    const s = new Semaphore(3);
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) => s.run(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return i;
    }));
    // open the gates one at a time, as tasks arrive
    for (let opened = 0; opened < 10; opened++) {
      while (gates.length === 0) await new Promise((r) => setImmediate(r));
      gates.shift()!();
    }
    assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(most, 3);
  });

  it('a failing task gives its slot back', async () => {
    const s = new Semaphore(1);
    await assert.rejects(s.run(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await s.run(async () => 'next'), 'next');
  });

  it('pool keeps the order of its items', async () => {
    assert.deepEqual(await pool([3, 1, 2], 2, async (x) => x * 10), [30, 10, 20]);
  });
});
