// Kubernetes resource quantities ("500m", "256Mi", "1.5", "2Gi", "1e3") as the HPA reads them:
// Quantity.MilliValue(), an integer number of thousandths, rounded up. Exact (bigint arithmetic), so
// "0.1" is 100 milli and "1.5Gi" is 1610612736000, with no float rounding on the way.

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const GRAMMAR = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;
const MAX_INT64 = (1n << 63n) - 1n;

/** apimachinery's ErrFormatWrong text, so a bad value reads as it would in a kubectl error */
export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

function ceilDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d !== 0n && n > 0n ? q + 1n : q;
}

/** The quantity in milli-units rounded up, or undefined when the text is not a quantity or overflows int64. */
export function quantityMilli(text: string): bigint | undefined {
  const m = GRAMMAR.exec(text);
  if (!m) return undefined;
  const [, sign, number, exponent, suffix] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const [whole, fraction = ''] = number.split('.') as [string, string?];
  let numerator = BigInt((whole || '0') + fraction) * 1000n;
  let denominator = 10n ** BigInt(fraction.length);
  if (exponent !== undefined || (suffix !== undefined && suffix in DECIMAL)) {
    const e = exponent !== undefined ? Number(exponent) : DECIMAL[suffix ?? '']!;
    // beyond this the value overflows int64 (or is below one milli) whatever the digits
    if (Math.abs(e) > 40) return e > 0 && numerator !== 0n ? undefined : 0n;
    if (e >= 0) numerator *= 10n ** BigInt(e);
    else denominator *= 10n ** BigInt(-e);
  } else if (suffix !== undefined) {
    numerator *= BINARY[suffix]!;
  }
  const milli = ceilDiv(sign === '-' ? -numerator : numerator, denominator);
  if (milli > MAX_INT64 || milli < -MAX_INT64) return undefined;
  return milli;
}

/** A milli-value for a person: cpu in cores or millicores ("250m", "1.5"), memory in bytes with a binary unit. */
export function formatMilli(resource: 'cpu' | 'memory', milli: bigint): string {
  if (resource === 'cpu') return milli % 1000n === 0n ? String(milli / 1000n) : `${milli}m`;
  const bytes = Number(milli) / 1000;
  for (const [unit, size] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10}${unit}`;
  }
  return String(Math.round(bytes));
}

/** The cpu and memory of a Kubernetes ResourceList in milli-units; other resources and unreadable values are left out. */
export function cpuMemoryMilli(list: Readonly<Record<string, string>> | undefined): { cpu?: bigint; memory?: bigint } {
  const out: { cpu?: bigint; memory?: bigint } = {};
  for (const r of ['cpu', 'memory'] as const) {
    const v = list?.[r];
    const milli = v === undefined ? undefined : quantityMilli(v);
    if (milli !== undefined) out[r] = milli;
  }
  return out;
}
