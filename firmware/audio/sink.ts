/**
 * Output stream sinks (client to server audio) and the loopback reflector's decisions.
 *
 * Loopback (BEHAVIOUR.md "Audio"): each audio message received on output stream i is sent back at
 * once on input stream i, with the same byte index and payload, to the client that sent it; input
 * stream i's own pacer is not used. config.ts guarantees that loopback is set on both sides of a
 * pair with matching formats, so the decisions below read one side only.
 */

import type { U64 } from "../../shared/u64.js";
import type { FirmwareConfig, OutputConfig } from "../config.js";

/** Takes the payloads received on one output stream. */
export interface Sink {
  /**
   * One message's payload and the byte index of its first byte, both valid only during the call
   * (the payload views the received datagram; the index may be a reused header object).
   */
  write(payload: Uint8Array, byteIdx: U64): void;
}

/** Sends `payload` back on input stream `inputIdx` with byte index `byteIdx`, during the call. */
export type Reflect = (inputIdx: number, byteIdx: U64, payload: Uint8Array) => void;

/** Counts messages and bytes, then drops them (`discard`) or reflects them (`loopback`). */
export class CountingSink implements Sink {
  messages = 0;
  /** Payload bytes received. */
  bytes = 0;
  /** The stream reflected on (the output stream's index). */
  readonly inputIdx: number;
  /** Undefined for `discard`. */
  private readonly reflect: Reflect | undefined;

  constructor(inputIdx: number, reflect: Reflect | undefined) {
    this.inputIdx = inputIdx;
    this.reflect = reflect;
  }

  write(payload: Uint8Array, byteIdx: U64): void {
    this.messages++;
    this.bytes += payload.length;
    if (this.reflect !== undefined) this.reflect(this.inputIdx, byteIdx, payload);
  }
}

/**
 * The sink of output stream `streamIdx`. `reflect` sends to the client that owns this sink: make
 * one set of sinks per streaming client at IO start (a closure per client, none per packet).
 */
export function createSink(output: OutputConfig, streamIdx: number, reflect: Reflect): CountingSink {
  return new CountingSink(streamIdx, output.sink === "loopback" ? reflect : undefined);
}

/** The input stream that output stream `outputIdx` is reflected on, or -1 when it is not looped back. */
export function reflectedInput(config: FirmwareConfig, outputIdx: number): number {
  const o = config.outputs[outputIdx];
  return o !== undefined && o.sink === "loopback" ? outputIdx : -1;
}

/** True when input stream `inputIdx` is fed by loopback: its pacer must not send on it. */
export function isReflected(config: FirmwareConfig, inputIdx: number): boolean {
  const i = config.inputs[inputIdx];
  return i !== undefined && i.source === "loopback";
}
