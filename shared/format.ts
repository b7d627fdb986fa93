/**
 * Stream formats: what a server advertises in `Connect`, **fixed for the lifetime of the
 * connection**. Mirrors syfala_proto's `format` module (SampleType, SampleRate, ChannelCount,
 * BufferSize, Format, StreamFormats).
 *
 * Espruino-safe: no Number statics, no Map/Set, no default parameters.
 */

/** The 12 sample types, named as on the wire (msgpack/JSON variant names). */
export type SampleType =
  | "U8"
  | "U16"
  | "U24"
  | "U32"
  | "U64"
  | "I8"
  | "I16"
  | "I24"
  | "I32"
  | "I64"
  | "IEEF32"
  | "IEEF64";

/** All sample types in wire order: the position is postcard's variant index (U8 = 0 ... IEEF64 = 11). */
export const SAMPLE_TYPES = "U8 U16 U24 U32 U64 I8 I16 I24 I32 I64 IEEF32 IEEF64".split(
  " ",
) as readonly SampleType[];

/** Bytes per sample, indexed like {@link SAMPLE_TYPES}. */
const SAMPLE_SIZES = [1, 2, 3, 4, 8, 1, 2, 3, 4, 8, 4, 8];

/** Postcard variant index of a sample type (0..11), or -1 for a string that is not one. */
export function sampleTypeIndex(t: string): number {
  return SAMPLE_TYPES.indexOf(t as SampleType);
}

/** True when `t` names one of the 12 sample types. */
export function isSampleType(t: unknown): t is SampleType {
  return SAMPLE_TYPES.indexOf(t as SampleType) >= 0;
}

/** Size of one sample in bytes (1, 2, 3, 4 or 8). */
export function sampleSize(t: SampleType): number {
  return SAMPLE_SIZES[sampleTypeIndex(t)] as number;
}

/** Unsigned integer types: their silence is the mid value (0x80, 0x8000, ...), not 0. */
export function isUnsigned(t: SampleType): boolean {
  return sampleTypeIndex(t) <= 4;
}

/**
 * Writes silence into `buf[offset .. offset+length)`, where `buf[offset]` is byte `streamByte`
 * of the stream (so partial samples at either end get the right bytes). Fills whole runs with
 * `fill` and touches one byte per sample only for unsigned types.
 */
export function fillSilence(
  buf: Uint8Array,
  offset: number,
  length: number,
  t: SampleType,
  streamByte: number,
): void {
  buf.fill(0, offset, offset + length);
  if (!isUnsigned(t)) return;
  const size = sampleSize(t);
  // First position in the range whose stream index is the last byte of a sample.
  const first = size - 1 - (streamByte % size);
  for (let i = offset + first; i < offset + length; i += size) buf[i] = 0x80;
}

const f64Scratch = new DataView(new ArrayBuffer(8));

/**
 * A valid sample rate is a positive *normal* f64 (Hz): 0, -0, negatives, NaN, infinities and
 * subnormals are invalid, as in the reference. Checked on the IEEE-754 bits so that it is exact
 * everywhere (Espruino parses long float literals approximately).
 */
export function isValidSampleRate(hz: number): boolean {
  if (typeof hz !== "number") return false;
  f64Scratch.setFloat64(0, hz, true);
  return isNormalPositiveF64Bits(f64Scratch.getUint32(4, true));
}

/** The f64 check on its high 32 bits (little-endian bytes 4..7): sign 0, exponent neither 0 nor all ones. */
export function isNormalPositiveF64Bits(hi: number): boolean {
  const exp = (hi >>> 20) & 0x7ff;
  return hi >>> 31 === 0 && exp !== 0 && exp !== 0x7ff;
}

/** True for an integer in [min, 0xffffffff]. */
function isU32From(n: unknown, min: number): boolean {
  return typeof n === "number" && n >= min && n <= 0xffffffff && Math.floor(n) === n;
}

/** A valid channel count is a non-zero u32. */
export function isValidChannelCount(n: unknown): boolean {
  return isU32From(n, 1);
}

/** A valid buffer size is any u32, in frames; 0 means "not given". */
export function isValidBufferSize(n: unknown): boolean {
  return isU32From(n, 0);
}

/** One stream's format. */
export interface Format {
  /** Frames per second (Hz), a positive normal f64. */
  readonly sampleRate: number;
  /** Interleaved channels per frame, a non-zero u32. */
  readonly channelCount: number;
  /** Preferred frames per audio message, a u32; 0 = not given. */
  readonly bufferSize: number;
  readonly sampleType: SampleType;
}

/**
 * What a server advertises: its input streams (server to client audio) and output streams
 * (client to server audio). **Fixed for the lifetime of the connection.**
 */
export interface StreamFormats {
  readonly inputs: readonly Format[];
  readonly outputs: readonly Format[];
}

/** The reference's standard format: 48 kHz, 2 channels, 32-frame buffers, IEEE f32. */
export const STANDARD_FORMAT: Format = {
  sampleRate: 48000,
  channelCount: 2,
  bufferSize: 32,
  sampleType: "IEEF32",
};

/**
 * Checks every field; returns the first bad one with its value (e.g. "bad sampleRate 0": a
 * positive normal f64 is needed, channelCount a non-zero u32, bufferSize a u32, sampleType one of
 * the 12), or undefined when the format is valid.
 */
export function formatProblem(f: Format): string | undefined {
  const k = !isValidSampleRate(f.sampleRate)
    ? "sampleRate"
    : !isU32From(f.channelCount, 1)
      ? "channelCount"
      : !isU32From(f.bufferSize, 0)
        ? "bufferSize"
        : isSampleType(f.sampleType)
          ? undefined
          : "sampleType";
  return k && "bad " + k + " " + f[k];
}

/** Bytes per frame: channels x sample size. */
export function frameSize(f: Format): number {
  return f.channelCount * sampleSize(f.sampleType);
}

/** Bytes per second of a stream (frames/s x frame size). */
export function byteRate(f: Format): number {
  return f.sampleRate * frameSize(f);
}

/** A short human description, e.g. "I16 16000 Hz x1 ch, 256-frame buffers". */
export function describeFormat(f: Format): string {
  return (
    f.sampleType +
    " " +
    f.sampleRate +
    " Hz x" +
    f.channelCount +
    " ch, " +
    (f.bufferSize === 0 ? "no buffer size" : f.bufferSize + "-frame buffers")
  );
}
