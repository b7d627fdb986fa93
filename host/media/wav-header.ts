/**
 * The WAV (RIFF WAVE) container as bytes: which of our sample types a WAV can hold, the header
 * a writer puts in front of the samples, and a parser that finds the format and the samples in a
 * file's bytes. No file IO here (wav.ts does that), so the parser can be fed hostile bytes in
 * tests.
 *
 * Headers follow Microsoft's WAVEFORMATEX / WAVEFORMATEXTENSIBLE rules: a plain header
 * (`WAVE_FORMAT_PCM` or `WAVE_FORMAT_IEEE_FLOAT`) when it can describe the data, and
 * `WAVE_FORMAT_EXTENSIBLE` when it cannot: more than 2 channels, or integer samples of more than
 * 16 bits. Float data also gets the `fact` chunk (frame count) that non-PCM formats require.
 */

import type { Format, SampleType } from "../../shared/format.js";

/** What a WAV header says about the samples: the parts of our {@link Format} a file can hold. */
export type WavFormat = Pick<Format, "sampleRate" | "channelCount" | "sampleType">;

/** A file that is not a WAV we can read, or a format a WAV cannot hold. */
export class WavError extends Error {
  override readonly name = "WavError";
}

/** `wFormatTag` of integer PCM. */
export const WAVE_FORMAT_PCM = 0x0001;
/** `wFormatTag` of IEEE float samples. */
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
/** `wFormatTag` of the extensible header (the real tag is in the sub-format GUID). */
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** How a sample type is stored: format tag and bits per sample. */
export interface WavEncoding {
  readonly tag: number;
  readonly bits: number;
}

const ENCODINGS: Readonly<Partial<Record<SampleType, WavEncoding>>> = {
  U8: { tag: WAVE_FORMAT_PCM, bits: 8 },
  I16: { tag: WAVE_FORMAT_PCM, bits: 16 },
  I24: { tag: WAVE_FORMAT_PCM, bits: 24 },
  I32: { tag: WAVE_FORMAT_PCM, bits: 32 },
  IEEF32: { tag: WAVE_FORMAT_IEEE_FLOAT, bits: 32 },
  IEEF64: { tag: WAVE_FORMAT_IEEE_FLOAT, bits: 64 },
};

const WAV_TYPES = "U8, I16, I24, I32, IEEF32 and IEEF64";

/**
 * The WAV encoding of a sample type. WAV integer PCM is unsigned at 8 bits and signed above, so
 * only U8, I16, I24, I32 and the two float types fit; anything else throws a {@link WavError}.
 */
export function wavEncoding(t: SampleType): WavEncoding {
  const e = ENCODINGS[t];
  if (e === undefined) {
    throw new WavError(`sample type ${t} cannot be stored in a WAV file (WAV holds ${WAV_TYPES})`);
  }
  return e;
}

/** True when a WAV can hold samples of type `t`. */
export function isWavSampleType(t: SampleType): boolean {
  return ENCODINGS[t] !== undefined;
}

/** The sample type of a stored encoding, or undefined. */
function sampleTypeOf(tag: number, bits: number): SampleType | undefined {
  if (tag === WAVE_FORMAT_PCM) {
    if (bits === 8) return "U8";
    if (bits === 16) return "I16";
    if (bits === 24) return "I24";
    if (bits === 32) return "I32";
  } else if (tag === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits === 32) return "IEEF32";
    if (bits === 64) return "IEEF64";
  }
  return undefined;
}

/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID (bytes 0..1 hold the format tag, little-endian). */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** Where the fields a writer updates sit in a header, and the header's size. */
export interface WavLayout {
  /** Header bytes, i.e. the file offset of the first sample byte. */
  readonly headerBytes: number;
  /** Offset of the `fact` chunk's frame count, or -1 when there is no `fact` chunk. */
  readonly factOffset: number;
  /** Bytes per frame (`nBlockAlign`). */
  readonly frameBytes: number;
  /** The `nSamplesPerSec` stored (the format's rate rounded to an integer, Hz). */
  readonly sampleRate: number;
  /** Largest data size in bytes (whole frames) whose RIFF sizes fit in 32 bits. */
  readonly maxDataBytes: number;
  /** True when the header is WAVE_FORMAT_EXTENSIBLE. */
  readonly extensible: boolean;
  /** Size of the `fmt ` chunk's body: 16 (PCM), 18 (float) or 40 (extensible). */
  readonly fmtBytes: number;
}

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

/**
 * Checks that a format can be written and says where its header's fields go. Throws a
 * {@link WavError} naming the problem: a sample type a WAV cannot hold, a channel count or frame
 * size beyond the header's 16-bit fields, a rate that does not round to an integer in
 * [1, 2^32-1] Hz (WAV stores integer Hz), or a byte rate beyond 32 bits.
 */
export function wavLayout(format: WavFormat): WavLayout {
  const enc = wavEncoding(format.sampleType);
  const ch = format.channelCount;
  if (!(Number.isInteger(ch) && ch >= 1 && ch <= U16_MAX)) {
    throw new WavError(`channel count ${ch} does not fit a WAV header (1 to 65535)`);
  }
  const frameBytes = (ch * enc.bits) / 8;
  if (frameBytes > U16_MAX) {
    throw new WavError(`a frame of ${frameBytes} bytes does not fit a WAV header (at most 65535)`);
  }
  const rate = Math.round(format.sampleRate);
  if (!(rate >= 1 && rate <= U32_MAX)) {
    throw new WavError(`sample rate ${format.sampleRate} Hz does not fit a WAV header (1 to 2^32-1 Hz)`);
  }
  if (rate * frameBytes > U32_MAX) {
    throw new WavError(`byte rate ${rate * frameBytes} B/s does not fit a WAV header (at most 2^32-1)`);
  }
  const extensible = ch > 2 || (enc.tag === WAVE_FORMAT_PCM && enc.bits > 16);
  const fmtBody = extensible ? 40 : enc.tag === WAVE_FORMAT_PCM ? 16 : 18;
  const hasFact = enc.tag !== WAVE_FORMAT_PCM;
  const factAt = 12 + 8 + fmtBody;
  const headerBytes = factAt + (hasFact ? 12 : 0) + 8;
  // RIFF size = headerBytes - 8 + data + pad byte must fit in 32 bits.
  const room = U32_MAX - (headerBytes - 8) - 1;
  return {
    headerBytes,
    factOffset: hasFact ? factAt + 8 : -1,
    frameBytes,
    sampleRate: rate,
    maxDataBytes: Math.floor(room / frameBytes) * frameBytes,
    extensible,
    fmtBytes: fmtBody,
  };
}

/** Speaker mask of an extensible header: mono is front centre, stereo front left + right, else none. */
function channelMask(ch: number): number {
  if (ch === 1) return 0x4;
  if (ch === 2) return 0x3;
  return 0;
}

function ascii(buf: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
}

/**
 * The header of a WAV file holding `dataBytes` bytes of samples (the caller keeps it to whole
 * frames). The sizes in it are the ones {@link setWavSizes} rewrites. Throws like {@link wavLayout}.
 */
export function wavHeader(format: WavFormat, dataBytes: number): Uint8Array {
  const layout = wavLayout(format);
  const enc = wavEncoding(format.sampleType);
  const ch = format.channelCount;
  const buf = new Uint8Array(layout.headerBytes);
  const v = new DataView(buf.buffer);
  const extensible = layout.extensible;
  ascii(buf, 0, "RIFF");
  ascii(buf, 8, "WAVE");
  ascii(buf, 12, "fmt ");
  const fmtBody = layout.fmtBytes;
  v.setUint32(16, fmtBody, true);
  v.setUint16(20, extensible ? WAVE_FORMAT_EXTENSIBLE : enc.tag, true);
  v.setUint16(22, ch, true);
  v.setUint32(24, layout.sampleRate, true);
  v.setUint32(28, layout.sampleRate * layout.frameBytes, true);
  v.setUint16(32, layout.frameBytes, true);
  v.setUint16(34, enc.bits, true);
  if (fmtBody >= 18) v.setUint16(36, fmtBody - 18, true);
  if (extensible) {
    v.setUint16(38, enc.bits, true);
    v.setUint32(40, channelMask(ch), true);
    v.setUint16(44, enc.tag, true);
    buf.set(GUID_TAIL, 46);
  }
  if (layout.factOffset >= 0) {
    ascii(buf, layout.factOffset - 8, "fact");
    v.setUint32(layout.factOffset - 4, 4, true);
  }
  ascii(buf, layout.headerBytes - 8, "data");
  setWavSizes(buf, layout, dataBytes);
  return buf;
}

/**
 * Rewrites the three sizes of a header made by {@link wavHeader} for `dataBytes` bytes of
 * samples (whole frames): the RIFF size (counting the pad byte an odd data size needs), the
 * `fact` frame count, and the data size.
 */
export function setWavSizes(header: Uint8Array, layout: WavLayout, dataBytes: number): void {
  const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
  v.setUint32(4, layout.headerBytes - 8 + dataBytes + (dataBytes % 2), true);
  if (layout.factOffset >= 0) v.setUint32(layout.factOffset, dataBytes / layout.frameBytes, true);
  v.setUint32(layout.headerBytes - 4, dataBytes, true);
}

/** A parsed WAV file. */
export interface WavData {
  readonly format: WavFormat;
  /**
   * The samples, interleaved and little-endian as on the wire, whole frames only (a partial frame
   * at the end of the data chunk is left out). A view into the bytes that were parsed.
   */
  readonly data: Uint8Array;
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);
}

function hex4(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

/** The `fmt ` chunk's content, checked. */
function parseFmt(b: Uint8Array, v: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw new WavError(`"fmt " chunk of ${size} bytes at offset ${at - 8}: at least 16 needed`);
  let tag = v.getUint16(at, true);
  const ch = v.getUint16(at + 2, true);
  const rate = v.getUint32(at + 4, true);
  const blockAlign = v.getUint16(at + 12, true);
  const bits = v.getUint16(at + 14, true);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) {
      throw new WavError(`extensible "fmt " chunk of ${size} bytes at offset ${at - 8}: at least 40 needed`);
    }
    const valid = v.getUint16(at + 18, true);
    if (valid > bits) throw new WavError(`${valid} valid bits in a ${bits}-bit container`);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (b[at + 26 + i] !== GUID_TAIL[i]) throw new WavError("unknown sub-format GUID in extensible header");
    }
    tag = v.getUint16(at + 24, true);
  }
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new WavError(`unsupported WAV format tag ${hex4(tag)} (only PCM 0x0001 and IEEE float 0x0003)`);
  }
  const sampleType = sampleTypeOf(tag, bits);
  if (sampleType === undefined) {
    const kind = tag === WAVE_FORMAT_PCM ? "PCM (8, 16, 24 or 32)" : "IEEE float (32 or 64)";
    throw new WavError(`unsupported ${bits} bits per sample for ${kind}`);
  }
  if (ch === 0) throw new WavError("WAV header has 0 channels");
  if (rate === 0) throw new WavError("WAV header has a sample rate of 0 Hz");
  if (blockAlign !== (ch * bits) / 8) {
    throw new WavError(`block align ${blockAlign} is not ${ch} channels x ${bits / 8} bytes`);
  }
  return { sampleRate: rate, channelCount: ch, sampleType };
}

/**
 * Finds the format and the samples in a WAV file's bytes. Chunks other than `fmt ` and `data` are
 * skipped (odd sizes padded); bytes after the RIFF chunk are ignored, and so is a missing pad byte
 * at the very end. Never allocates more than a view: every length read from the file is checked
 * against the bytes present first. Throws a {@link WavError} saying what is wrong: not RIFF/WAVE,
 * RIFX or RF64, a chunk running past the end of the file, a missing or repeated `fmt `, no `data`,
 * an unknown format tag or sub-format, unsupported bits per sample, an inconsistent block align.
 */
export function parseWav(bytes: Uint8Array): WavData {
  const len = bytes.length;
  if (len < 12) throw new WavError(`truncated WAV file: ${len} bytes, a RIFF header needs 12`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = fourcc(bytes, 0);
  if (id === "RIFX" || id === "RF64") throw new WavError(`${id} files are not supported, only RIFF`);
  if (id !== "RIFF") throw new WavError("not a WAV file: no RIFF header");
  if (fourcc(bytes, 8) !== "WAVE") throw new WavError(`not a WAV file: RIFF form is "${fourcc(bytes, 8)}"`);
  const end = Math.min(len, 8 + v.getUint32(4, true));
  let format: WavFormat | undefined;
  let dataAt = -1;
  let dataSize = 0;
  let pos = 12;
  while (pos + 8 <= end && (format === undefined || dataAt < 0)) {
    const chunk = fourcc(bytes, pos);
    const size = v.getUint32(pos + 4, true);
    const body = pos + 8;
    if (size > len - body) {
      throw new WavError(
        `truncated "${chunk}" chunk at offset ${pos}: ${size} bytes declared, ${len - body} present`,
      );
    }
    if (chunk === "fmt ") {
      if (format !== undefined) throw new WavError(`second "fmt " chunk at offset ${pos}`);
      format = parseFmt(bytes, v, body, size);
    } else if (chunk === "data" && dataAt < 0) {
      dataAt = body;
      dataSize = size;
    }
    pos = body + size + (size % 2);
  }
  if (format === undefined) throw new WavError('no "fmt " chunk in WAV file');
  if (dataAt < 0) throw new WavError('no "data" chunk in WAV file');
  const frameBytes = format.channelCount * (wavEncoding(format.sampleType).bits / 8);
  const whole = dataSize - (dataSize % frameBytes);
  return { format, data: bytes.subarray(dataAt, dataAt + whole) };
}
