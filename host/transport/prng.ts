/**
 * A small seeded pseudo-random generator for fault injection: the same seed gives the same
 * decisions on every machine and Node version, which `Math.random` cannot promise. xoshiro128**
 * (Blackman and Vigna), seeded through splitmix32 so that nearby seeds (1, 2, 3...) give
 * unrelated streams. Not for cryptography.
 */

/** One splitmix32 step: returns the next state's output and is used only to expand seeds. */
function splitmix32(state: Uint32Array): number {
  state[0] = (state[0]! + 0x9e3779b9) >>> 0;
  let z = state[0]!;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes several integers into one 32-bit seed (used to derive one stream per decision kind). */
export function mixSeed(seed: number, stream: number): number {
  const state = new Uint32Array([seed >>> 0]);
  const a = splitmix32(state);
  state[0] = (a ^ Math.imul(stream >>> 0, 0x27d4eb2f)) >>> 0;
  return splitmix32(state);
}

/** xoshiro128**: 128 bits of state, period 2^128 - 1, 32-bit outputs. */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  /** `seed` is any number; only its low 32 bits count. */
  constructor(seed: number) {
    const state = new Uint32Array([seed >>> 0]);
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(state);
    // splitmix32 never yields four zero words in a row from one seed, but the all-zero state is the
    // one xoshiro must avoid, so make sure.
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /**
   * A generator with its four state words given directly (not all zero), for checking against
   * the reference implementation's published outputs.
   */
  static fromState(a: number, b: number, c: number, d: number): Xoshiro128 {
    const g = new Xoshiro128(0);
    g.s[0] = a;
    g.s[1] = b;
    g.s[2] = c;
    g.s[3] = d;
    if ((a | b | c | d) === 0) throw new RangeError("xoshiro128** state must not be all zero");
    return g;
  }

  /** The next 32 random bits as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const mul5 = Math.imul(s1, 5);
    const rotl7 = (mul5 << 7) | (mul5 >>> 25);
    const result = Math.imul(rotl7, 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  /** A uniform number in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform number in (0, 1]: safe to take the logarithm or a negative power of. */
  nextOpen(): number {
    return (this.nextUint32() + 1) / 4294967296;
  }

  /** True with probability `p` (p <= 0: never; p >= 1: always). Always draws one number. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
