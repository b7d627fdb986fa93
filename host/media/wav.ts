/**
 * WAV recordings of audio streams, and reading WAV files.
 *
 * {@link WavWriter} streams to disk: it holds at most one small buffer (64 KiB by default), never
 * the recording. Writes are positioned by output byte offset (a {@link StreamReceiver}'s output),
 * so frame n of the file is frame n of the stream: a gap is written as silence, never skipped
 * (BEHAVIOUR.md, "A recording is aligned to byte indices").
 *
 * **A recording is a valid file at every moment**: the header is written at `open`, and rewritten
 * with the sizes of the data already on disk every `headerIntervalBytes` (one second of audio by
 * default), so a crash leaves a file whose header describes a prefix of what was recorded. All IO
 * is synchronous (`fs.writeSync` of whole buffers, microseconds on a local disk), which is what
 * lets {@link WavWriter.closeSync} finalise from a SIGINT/SIGTERM handler.
 *
 * Why hand code rather than a library: `wavefile` (the best-kept WAV package on npm) builds a
 * whole file in memory (`fromScratch` / `toBuffer`), and `wav` streams but writes the sizes only
 * when the stream ends, asynchronously, with an unmaintained dependency tree. Neither can keep a
 * long recording valid while it is being written, nor close from a signal handler.
 */

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import type { StreamSink } from "../../shared/audio/receiver.js";
import { fillSilence } from "../../shared/format.js";
import {
  parseWav,
  setWavSizes,
  type WavData,
  type WavFormat,
  type WavLayout,
  wavHeader,
  wavLayout,
} from "./wav-header.js";

export {
  isWavSampleType,
  parseWav,
  type WavData,
  WavError,
  type WavFormat,
  wavEncoding,
  wavHeader,
  wavLayout,
} from "./wav-header.js";

/** Options of {@link WavWriter.open}. */
export interface WavWriterOptions {
  /**
   * Data bytes between header rewrites: the most audio a crash (SIGKILL, power loss) can leave
   * undescribed by the header. Rounded down to whole frames, at least one frame. Defaults to one
   * second of audio.
   */
  headerIntervalBytes: number;
  /** Size in bytes of the write buffer. Defaults to 65536. */
  bufferBytes: number;
  /**
   * Most data bytes the file takes (rounded down to whole frames); later bytes are dropped and
   * counted in `droppedBytes`, and `full` becomes true. Defaults to, and is capped at, the
   * largest size RIFF's 32-bit sizes allow (about 4 GiB; start a new file before then).
   */
  maxDataBytes: number;
}

/**
 * A WAV file being recorded. Create with {@link WavWriter.open}; feed it in output byte order
 * with {@link write} and {@link writeSilence}, or through {@link wavSink}; finish with
 * {@link close} (synchronous, idempotent).
 */
export class WavWriter {
  /** The file's path. */
  readonly path: string;
  /** The stream format recorded. */
  readonly format: WavFormat;
  /** Where the header's fields are; `layout.headerBytes` is the offset of data byte 0. */
  readonly layout: WavLayout;
  /** Bytes per frame. */
  readonly frameBytes: number;
  /** Data bytes between header rewrites (whole frames). */
  readonly headerIntervalBytes: number;
  /** Most data bytes the file takes (whole frames). */
  readonly maxDataBytes: number;
  /** Data bytes in the file so far (data and silence, buffered or on disk). */
  dataBytes = 0;
  /**
   * The next output byte expected: equal to `dataBytes` until the file is full, then it goes on
   * counting the output bytes that were refused.
   */
  position = 0;
  /** Bytes refused because the file reached `maxDataBytes`. */
  droppedBytes = 0;
  /** True once the file reached `maxDataBytes`. */
  full = false;
  /** Header rewrites so far (not counting the one at open). */
  headerWrites = 0;

  private fd: number | undefined;
  private readonly header: Uint8Array;
  private readonly buf: Uint8Array;
  private bufLen = 0;
  /** Data bytes on disk. */
  private flushed = 0;
  /** Data size (whole frames) the header on disk claims. */
  private described = 0;

  private constructor(
    path: string,
    format: WavFormat,
    fd: number,
    options: Partial<Readonly<WavWriterOptions>>,
  ) {
    this.path = path;
    this.format = {
      sampleRate: format.sampleRate,
      channelCount: format.channelCount,
      sampleType: format.sampleType,
    };
    this.layout = wavLayout(format);
    this.frameBytes = this.layout.frameBytes;
    const fb = this.frameBytes;
    const interval = options.headerIntervalBytes ?? this.layout.sampleRate * fb;
    this.headerIntervalBytes = Math.max(fb, Math.floor(interval / fb) * fb);
    const max = Math.min(options.maxDataBytes ?? this.layout.maxDataBytes, this.layout.maxDataBytes);
    this.maxDataBytes = Math.max(0, Math.floor(max / fb) * fb);
    this.buf = new Uint8Array(Math.max(16, Math.floor(options.bufferBytes ?? 65536)));
    this.header = wavHeader(format, 0);
    this.fd = fd;
  }

  /**
   * Creates (or truncates) `path` and writes a header for zero frames, so the file is a valid
   * WAV from the start. Throws a {@link WavError} for a format a WAV cannot hold (before touching
   * the file), or the file system's error.
   */
  static open(path: string, format: WavFormat, options?: Partial<Readonly<WavWriterOptions>>): WavWriter {
    wavLayout(format);
    const fd = openSync(path, "w");
    let writer: WavWriter;
    try {
      writer = new WavWriter(path, format, fd, options ?? {});
      writeAll(fd, writer.header, 0, writer.header.length, 0);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return writer;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Whole frames taken so far. */
  get frames(): number {
    return Math.floor(this.dataBytes / this.frameBytes);
  }

  /**
   * Takes `bytes[start .. start+length)` as output bytes `[outByte, outByte+length)`. Bytes
   * between the last write and `outByte` are written as silence first. The bytes are copied (or
   * written) before returning. Throws when `outByte` lies before data already taken (writes must
   * arrive in order) or after `close`.
   */
  write(outByte: number, bytes: Uint8Array, start = 0, length = bytes.length - start): void {
    this.seek(outByte);
    let n = this.admit(length);
    this.position += length;
    let i = start;
    if (n >= this.buf.length) {
      this.flushBuffer();
      writeAll(this.fdOrThrow(), bytes, i, n, this.layout.headerBytes + this.flushed);
      this.flushed += n;
      this.dataBytes += n;
      n = 0;
    }
    while (n > 0) {
      const k = Math.min(n, this.buf.length - this.bufLen);
      this.buf.set(bytes.subarray(i, i + k), this.bufLen);
      this.bufLen += k;
      this.dataBytes += k;
      i += k;
      n -= k;
      if (this.bufLen === this.buf.length) this.flushBuffer();
    }
    this.maybeCheckpoint();
  }

  /**
   * Takes `length` bytes of silence as output bytes `[outByte, outByte+length)` (0 for signed and
   * float types, the mid value for U8). Same rules as {@link write}.
   */
  writeSilence(outByte: number, length: number): void {
    this.seek(outByte);
    this.appendSilence(this.admit(length));
    this.position += length;
    this.maybeCheckpoint();
  }

  /** Puts buffered data on disk and rewrites the header for the whole frames there. */
  flush(): void {
    this.flushBuffer();
    this.writeSizes();
  }

  /**
   * Finishes the file: completes a partial last frame with silence, writes the data, the pad byte
   * an odd data size needs, and the final header, then closes the file. Synchronous, so it can run
   * in a SIGINT/SIGTERM handler; calling it again does nothing.
   */
  closeSync(): void {
    if (this.fd === undefined) return;
    const partial = this.dataBytes % this.frameBytes;
    if (partial > 0) {
      this.appendSilence(this.frameBytes - partial);
      this.position = Math.max(this.position, this.dataBytes);
    }
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  /** Same as {@link closeSync}: every operation of the writer is synchronous. */
  close(): void {
    this.closeSync();
  }

  private fdOrThrow(): number {
    if (this.fd === undefined) throw new Error(`WAV file "${this.path}" is closed`);
    return this.fd;
  }

  /* Pads up to outByte with silence; refuses a position already passed. */
  private seek(outByte: number): void {
    this.fdOrThrow();
    if (outByte < this.position) {
      throw new Error(
        `WAV write at output byte ${outByte} but ${this.position} bytes are already written (writes must be in order)`,
      );
    }
    if (outByte > this.position) {
      this.appendSilence(this.admit(outByte - this.position));
      this.position = outByte;
    }
  }

  /* How many of `length` bytes still fit under maxDataBytes; counts the rest as dropped. */
  private admit(length: number): number {
    const room = this.maxDataBytes - this.dataBytes;
    if (length <= room) return length;
    this.droppedBytes += length - room;
    this.full = true;
    return room;
  }

  private appendSilence(n: number): void {
    while (n > 0) {
      const k = Math.min(n, this.buf.length - this.bufLen);
      fillSilence(this.buf, this.bufLen, k, this.format.sampleType, this.dataBytes);
      this.bufLen += k;
      this.dataBytes += k;
      n -= k;
      if (this.bufLen === this.buf.length) this.flushBuffer();
    }
  }

  private flushBuffer(): void {
    if (this.bufLen === 0) return;
    writeAll(this.fdOrThrow(), this.buf, 0, this.bufLen, this.layout.headerBytes + this.flushed);
    this.flushed += this.bufLen;
    this.bufLen = 0;
  }

  private maybeCheckpoint(): void {
    if (this.dataBytes - this.described >= this.headerIntervalBytes) this.flush();
  }

  /* Header for the whole frames on disk; the data is always on disk before the header says so. */
  private writeSizes(): void {
    const fd = this.fdOrThrow();
    const size = this.flushed - (this.flushed % this.frameBytes);
    if (size % 2 === 1 && size === this.flushed) {
      // The pad byte; a later write at this position replaces it.
      writeAll(fd, PAD, 0, 1, this.layout.headerBytes + size);
    }
    setWavSizes(this.header, this.layout, size);
    writeAll(fd, this.header, 0, this.header.length, 0);
    this.described = size;
    this.headerWrites++;
  }
}

const PAD = new Uint8Array(1);

function writeAll(fd: number, buf: Uint8Array, start: number, length: number, position: number): void {
  let done = 0;
  // writeSync on a regular file writes everything or throws; the loop guards short writes.
  for (let tries = 0; done < length && tries < 1000; tries++) {
    done += writeSync(fd, buf, start + done, length - done, position + done);
  }
  if (done < length) throw new Error(`short write: ${done} of ${length} bytes`);
}

/**
 * A {@link StreamSink} that records a {@link StreamReceiver}'s output into `writer`: data and
 * silence land at their output byte offsets.
 */
export function wavSink(writer: WavWriter): StreamSink {
  return {
    data(outByte: number, buf: Uint8Array, start: number, length: number): void {
      writer.write(outByte, buf, start, length);
    },
    silence(outByte: number, length: number): void {
      writer.writeSilence(outByte, length);
    },
  };
}

/**
 * Reads a WAV file: its format and its samples (interleaved, little-endian, as on the wire).
 * The file is read whole (its size, never a size read from its header); see {@link parseWav} for
 * what is accepted. Throws a {@link WavError} for a malformed or unsupported file, or the file
 * system's error.
 */
export function readWav(path: string): WavData {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    let done = 0;
    for (let tries = 0; done < size && tries < 1_000_000; tries++) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return parseWav(bytes.subarray(0, done));
  } finally {
    closeSync(fd);
  }
}
