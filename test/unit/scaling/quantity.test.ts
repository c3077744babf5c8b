// Kubernetes quantities as the HPA reads them (Quantity.MilliValue: thousandths, rounded up), exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpuMemoryMilli, formatMilli, quantityMilli } from '../../../src/scaling/quantity.ts';

describe('quantities in milli-units', () => {
  const cases: [string, bigint | undefined][] = [
    ['500m', 500n], ['1', 1000n], ['1.5', 1500n], ['0.1', 100n], ['.5', 500n], ['2.', 2000n], ['+3', 3000n], ['-1', -1000n],
    ['256Mi', 256n * 2n ** 20n * 1000n], ['2Gi', 2n * 2n ** 30n * 1000n], ['1.5Gi', 1610612736000n], ['1Ki', 1024000n], ['1Pi', 2n ** 50n * 1000n],
    ['1k', 1_000_000n], ['2M', 2_000_000_000n], ['1e3', 1_000_000n], ['1E3', 1_000_000n], ['1.5e-3', 2n], ['1P', 10n ** 18n],
    // metrics-server reports cpu in nanocores: rounded up to the next millicore, as MilliValue does
    ['12345678n', 13n], ['1000000n', 1n], ['1n', 1n], ['0n', 0n], ['250u', 1n], ['0', 0n],
    ['', undefined], ['abc', undefined], ['1e', undefined], ['1 Mi', undefined], ['1mi', undefined], ['1KiB', undefined], ['.', undefined], ['1.2.3', undefined], ['1e3m', undefined],
    // past int64 milli-units
    ['1E', undefined], ['10Ei', undefined], ['1e100', undefined],
  ];
  for (const [text, want] of cases) {
    it(`"${text}" is ${want === undefined ? 'not a quantity' : `${want} milli`}`, () => assert.equal(quantityMilli(text), want));
  }
});

describe('quantities for a person', () => {
  it('cpu in cores when whole, else millicores', () => {
    assert.equal(formatMilli('cpu', 2000n), '2');
    assert.equal(formatMilli('cpu', 250n), '250m');
  });
  it('memory in the largest binary unit, one decimal', () => {
    assert.equal(formatMilli('memory', quantityMilli('340Mi')!), '340Mi');
    assert.equal(formatMilli('memory', quantityMilli('1.5Gi')!), '1.5Gi');
    assert.equal(formatMilli('memory', 512_000n), '512');
  });
});

describe('a ResourceList', () => {
  it('keeps cpu and memory, leaves other resources and unreadable values out', () => {
    assert.deepEqual(cpuMemoryMilli({ cpu: '100m', memory: '1Ki', 'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi' }), { cpu: 100n, memory: 1024000n });
    assert.deepEqual(cpuMemoryMilli({ cpu: 'x' }), {});
    assert.deepEqual(cpuMemoryMilli(undefined), {});
  });
});
