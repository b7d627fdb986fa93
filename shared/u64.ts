/**
 * Unsigned 64-bit integers as two u32 halves, for byte indices.
 *
 * The wire carries byte_idx as a full u64 and values above 2^53 must round-trip exactly.
 * JavaScript numbers cannot hold them and Espruino has no BigInt, so the model keeps the two
 * halves. Arithmetic here only ever adds small (< 2^32) amounts, which is all a byte stream needs.
 */

/** A u64 as `hi * 2^32 + lo`, both halves integers in [0, 2^32). */
export interface U64 {
  hi: number;
  lo: number;
}

/** 2^32, as a literal (Espruino's Math.pow is inexact for large exponents). */
export const TWO_POW_32 = 4294967296;
/** 2^53: below it a number holds the value exactly. */
const TWO_POW_53 = 9007199254740992;

/** A new U64 from a non-negative integer below 2^53. */
export function u64(n: number): U64 {
  const hi = Math.floor(n / TWO_POW_32);
  return { hi: hi, lo: n - hi * TWO_POW_32 };
}

/** The value as a number: exact below 2^53, rounded above. */
export function u64ToNumber(v: U64): number {
  return v.hi * TWO_POW_32 + v.lo;
}

/** -1, 0 or 1 as a < b, a = b, a > b. */
export function u64Compare(a: U64, b: U64): number {
  if (a.hi !== b.hi) return a.hi < b.hi ? -1 : 1;
  if (a.lo !== b.lo) return a.lo < b.lo ? -1 : 1;
  return 0;
}

/** True when both halves are equal. */
export function u64Equal(a: U64, b: U64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

/** Sets `v` to `v + n` in place (n a non-negative integer below 2^32), wrapping at 2^64. */
export function u64AddInPlace(v: U64, n: number): void {
  const lo = v.lo + n;
  if (lo >= TWO_POW_32) {
    v.lo = lo - TWO_POW_32;
    v.hi = (v.hi + 1) >>> 0;
  } else {
    v.lo = lo;
  }
}

/**
 * `a - b` as a number when a >= b and the difference is below 2^53; -1 when a < b;
 * Infinity when the difference is 2^53 or more.
 */
export function u64Distance(a: U64, b: U64): number {
  if (u64Compare(a, b) < 0) return -1;
  const d = (a.hi - b.hi) * TWO_POW_32 + (a.lo - b.lo);
  return d >= TWO_POW_53 ? Infinity : d;
}

/**
 * Exact decimal text of a u64, without BigInt and without printing any number of 2^31 or more
 * (Espruino prints large doubles with about 12 significant digits). Works on four 16-bit limbs
 * divided by 10000 at a time.
 */
export function u64ToString(v: U64): string {
  if (v.hi === 0) return "" + v.lo;
  const limbs = [v.hi >>> 16, v.hi & 0xffff, v.lo >>> 16, v.lo & 0xffff];
  let out = "";
  for (;;) {
    let rem = 0;
    let nonZero = false;
    for (let i = 0; i < 4; i++) {
      const cur = rem * 65536 + (limbs[i] as number);
      const q = Math.floor(cur / 10000);
      rem = cur - q * 10000;
      limbs[i] = q;
      if (q !== 0) nonZero = true;
    }
    if (!nonZero) return rem + out;
    out = ("000" + rem).slice(-4) + out;
  }
}

/**
 * Parses the decimal text of a u64 (digits only, no sign, no exponent). Returns undefined for
 * anything else, including values of 2^64 or more.
 */
export function u64Parse(text: string): U64 | undefined {
  if (text.length === 0 || text.length > 20) return undefined;
  const limbs = [0, 0, 0, 0];
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    let carry = d;
    for (let j = 3; j >= 0; j--) {
      const cur = (limbs[j] as number) * 10 + carry;
      limbs[j] = cur & 0xffff;
      carry = Math.floor(cur / 65536);
    }
    if (carry !== 0) return undefined;
  }
  return {
    hi: (limbs[0] as number) * 65536 + (limbs[1] as number),
    lo: (limbs[2] as number) * 65536 + (limbs[3] as number),
  };
}
