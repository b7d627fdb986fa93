/**
 * The independent account of one stress session's audio: which datagram of which stream was seen
 * where. Two taps (host/transport/tap.ts) sit on each side of the impairment layer: the "wire" tap
 * sees what the client's UDP socket sent and received, the "app" tap what the client engine sent
 * and was handed. From them, for every stream byte the client reports lost, the ledger says why:
 * never sent, dropped by the layer on the way out, not echoed by the board, dropped by the layer
 * on the way in, or arrived outside the IO window. And from the order in which the engine was
 * handed the audio, it says how many bytes a receiver must pad (BEHAVIOUR.md: reordered messages
 * are dropped, so a late message's bytes are padding too). None of this uses the client's code:
 * the client's figures are checked against it.
 *
 * Memory is fixed: one byte per audio message slot (index = byte_idx / payload bytes), sized from
 * the session's planned length, so a 30-minute soak holds a few megabytes and its heap stays flat.
 */

import { hostCodec } from "../host/wire/codecs.js";
import type { AudioHeader, ServerMessage } from "../shared/message.js";
import { u64ToNumber } from "../shared/u64.js";
import { detectCodec } from "../shared/wire/codec.js";

/** Bits of a slot: where a message was seen. */
const APP_SENT = 1;
const WIRE_SENT = 2;
const WIRE_RECEIVED = 4;
const APP_RECEIVED = 8;
const APP_IN_WINDOW = 16;

/** Why a byte the client counted lost did not arrive. */
export interface LossCauses {
  /** The client never sent it (its sender fell behind and skipped it). */
  notSent: number;
  /** Dropped by the impairment layer on the way to the board. */
  droppedOut: number;
  /** Sent on the wire but never came back from the board (its queue, its loopback). */
  notEchoed: number;
  /** Never reached the client's socket (a board stream: skipped by a late sender, or dropped by the kernel). */
  notAtSocket: number;
  /** Dropped by the impairment layer on the way to the client. */
  droppedIn: number;
  /** Reached the client engine only before Start(Ok) or after Stop(Ok) (reordered past them). */
  outsideWindow: number;
  /**
   * Of `notAtSocket`, messages in runs shorter than {@link MIN_SKIP_MESSAGES}: a sender that
   * fell behind skips longer runs (firmware/main.ts skips beyond 4 messages of lag and keeps the
   * last), so these must be the kernel's drops.
   */
  isolatedNotAtSocket: number;
}

/** Shortest run of messages a late firmware sender skips (lag above 4 messages, the last one kept). */
export const MIN_SKIP_MESSAGES = 3;

/** The ledger of one input stream (server to client) and, for loopback, its output stream. */
export class StreamLedger {
  /** Payload bytes per message, learnt from the first message (0 before). */
  payload = 0;
  /** Messages whose size differed from `payload` (the accounting assumes one size). */
  oddSized = 0;
  /** Messages whose slot lay beyond the capacity (not accounted). */
  overflow = 0;
  /** End of the furthest message handed to the engine in the IO window (bytes). */
  furthest = 0;
  /** Next byte a receiver expects, following the in-order rule over the engine's arrivals. */
  private next = 0;
  /** Bytes a receiver pads: gaps it saw; late messages are dropped, their bytes stay padding. */
  padded = 0;
  private slots: Uint8Array | undefined;

  constructor(
    readonly stream: number,
    /** Whether the input stream echoes the client's output stream of the same index. */
    readonly loopback: boolean,
    private readonly capacity: number,
  ) {}

  mark(byteIdx: number, n: number, bit: number): void {
    if (this.payload === 0) {
      this.payload = n;
      this.slots = new Uint8Array(this.capacity);
    }
    if (n !== this.payload || byteIdx % this.payload !== 0) {
      this.oddSized++;
      return;
    }
    const slot = byteIdx / this.payload;
    const slots = this.slots as Uint8Array;
    if (slot >= slots.length) {
      this.overflow++;
      return;
    }
    slots[slot] = (slots[slot] as number) | bit;
    if (bit === APP_IN_WINDOW) {
      if (byteIdx >= this.next) {
        this.padded += byteIdx - this.next;
        this.next = byteIdx + n;
      }
      if (byteIdx + n > this.furthest) this.furthest = byteIdx + n;
    }
  }

  /** Bytes in [0, furthest) never handed to the engine in the window, by cause. */
  causes(): LossCauses & { total: number } {
    const c: LossCauses & { total: number } = {
      notSent: 0,
      droppedOut: 0,
      notEchoed: 0,
      notAtSocket: 0,
      droppedIn: 0,
      outsideWindow: 0,
      isolatedNotAtSocket: 0,
      total: 0,
    };
    const slots = this.slots;
    if (slots === undefined) return c;
    const n = this.payload;
    const end = Math.min(slots.length, Math.ceil(this.furthest / n));
    let run = 0;
    const endRun = (): void => {
      if (run > 0 && run < MIN_SKIP_MESSAGES) c.isolatedNotAtSocket += run;
      run = 0;
    };
    for (let i = 0; i < end; i++) {
      const s = slots[i] as number;
      const missing = !this.loopback && (s & (APP_IN_WINDOW | APP_RECEIVED | WIRE_RECEIVED)) === 0;
      if (missing) run++;
      else endRun();
      if ((s & APP_IN_WINDOW) !== 0) continue;
      c.total += n;
      if ((s & APP_RECEIVED) !== 0) c.outsideWindow += n;
      else if ((s & WIRE_RECEIVED) !== 0) c.droppedIn += n;
      else if (!this.loopback) c.notAtSocket += n;
      else if ((s & WIRE_SENT) !== 0) c.notEchoed += n;
      else if ((s & APP_SENT) !== 0) c.droppedOut += n;
      else c.notSent += n;
    }
    endRun();
    return c;
  }
}

/**
 * The taps' observers for one session with one server: decode each datagram (postcard, or
 * msgpack when detected) and mark its stream's ledger; track the IO window from the Start(Ok)
 * and Stop(Ok) the engine was handed.
 */
export class Ledger {
  readonly streams: StreamLedger[] = [];
  /** Datagrams (both taps) that did not decode: none are expected from a sane board. */
  undecodable = 0;
  private window: "before" | "in" | "after" = "before";

  /**
   * `loopbackStreams`: indices of input streams echoing the output stream of the same index;
   * `capacity`: message slots per stream (planned audio time x message rate, with a margin).
   */
  constructor(inputs: number, loopbackStreams: readonly number[], capacity: number) {
    for (let i = 0; i < inputs; i++)
      this.streams.push(new StreamLedger(i, loopbackStreams.indexOf(i) >= 0, capacity));
  }

  /** What the client's socket received (wire tap). */
  readonly wireReceived = (data: Uint8Array): void => {
    const m = this.decodeServer(data);
    if (m !== undefined && m.type === "audio") this.markAudio(m.header, WIRE_RECEIVED);
  };

  /** What the client engine was handed (app tap). */
  readonly appReceived = (data: Uint8Array): void => {
    const m = this.decodeServer(data);
    if (m === undefined) return;
    if (m.type === "ioResult" && m.result === "ok") {
      if (m.state === "start" && this.window === "before") this.window = "in";
      if (m.state === "stop" && this.window === "in") this.window = "after";
      return;
    }
    if (m.type !== "audio") return;
    this.markAudio(m.header, APP_RECEIVED);
    if (this.window === "in") this.markAudio(m.header, APP_IN_WINDOW);
  };

  /** What the client engine sent (app tap). */
  readonly appSent = (data: Uint8Array): void => this.sent(data, APP_SENT);

  /** What the client's socket sent (wire tap). */
  readonly wireSent = (data: Uint8Array): void => this.sent(data, WIRE_SENT);

  private sent(data: Uint8Array, bit: number): void {
    const d = hostCodec(detectCodec(data, 0)).client.decode(data, 0);
    if (!d.ok) {
      this.undecodable++;
      return;
    }
    const m = d.message;
    // Only the output streams a board echoes are accounted (the others are not received back).
    if (m.type === "audio" && this.streams[m.header.streamIdx]?.loopback === true)
      this.markAudio(m.header, bit);
  }

  private decodeServer(data: Uint8Array): ServerMessage | undefined {
    const d = hostCodec(detectCodec(data, 0)).server.decode(data, 0);
    if (d.ok) return d.message;
    this.undecodable++;
    return undefined;
  }

  private markAudio(h: AudioHeader, bit: number): void {
    const s = this.streams[h.streamIdx];
    if (s !== undefined) s.mark(u64ToNumber(h.byteIdx), h.nBytes, bit);
  }
}
