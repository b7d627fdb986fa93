/**
 * Encoding one sample value into a stream's bytes: what the firmware's tone tables and the
 * host's generated sources both need, written once. Espruino-safe (no Math.pow above 2^9, whose
 * results Espruino rounds; no BigInt).
 */

import { type SampleType, sampleSize, sampleTypeIndex } from "../format.js";

/**
 * Writes `x` (-1..1, full scale) as one little-endian sample of type `t` at `view[offset]`:
 * floats as they are; integers as `round(x * (2^(bits-1) - 1))`, 64-bit ones with 32 bits of
 * precision (that value in the high half, zeros below); unsigned integers as the signed value
 * with the top bit flipped (offset binary: silence is the mid value). `x` is not clamped: a
 * float beyond full scale is written as it is. Setup-time work only (firmware tables, host sources).
 */
export function encodeSample(view: DataView, offset: number, t: SampleType, x: number): void {
  const i = sampleTypeIndex(t);
  const size = sampleSize(t);
  if (i === 10) view.setFloat32(offset, x, true);
  else if (i === 11) view.setFloat64(offset, x, true);
  else {
    const n = Math.min(size, 4);
    // -1 >>> (33 - bits) is 2^(bits-1) - 1, exact (Espruino's Math.pow is not, above 2^9).
    const v = Math.round(x * (-1 >>> (33 - 8 * n))) ^ (i < 5 ? 1 << (8 * n - 1) : 0);
    for (let b = 0; b < size; b++)
      view.setUint8(offset + b, b < size - n ? 0 : (v >> (8 * (b - size + n))) & 255);
  }
}
