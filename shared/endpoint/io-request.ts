/**
 * The client's pending IO request to one server (BEHAVIOUR.md "IO start and stop"): when to send
 * it again, when to give up, and the backoff after a Failure reply. Plain numbers, no clock: the
 * engine passes `nowMs` and the timing in.
 *
 * Schedule, with the default timing: an attempt sends the request at once and then every
 * `retransmitMs` (100 ms) while unanswered, at most `maxRequestSends` (10) sends; 100 ms after
 * the last send it is "no answer". A Failure reply ends the attempt; the next one starts after
 * `failureBackoffMs[k]` for the k-th failure (200, 400, 800, 1600 ms); a Failure beyond the list
 * is "failure exhausted". A Failure arriving while waiting out a backoff answers a send of the
 * attempt already failed (a duplicate or a late copy) and is stale.
 */

import type { IOState, Outcome } from "../message.js";
import type { Timing } from "./constants.js";

/** `due` result: nothing to do now. */
export const REQUEST_IDLE = 0;
/** `due` result: send the request now (then call {@link IoRequest.sent}). */
export const REQUEST_SEND = 1;
/** `due` result: the attempt got no answer to its last send: give up. */
export const REQUEST_NO_ANSWER = 2;

/** One server's pending IO request (at most one at a time). */
export class IoRequest {
  /** The state asked for, or undefined when no request is pending. */
  state: IOState | undefined = undefined;
  /** Sends of the current attempt (0 while waiting out a backoff). */
  sends = 0;
  /** Failure replies so far. */
  failures = 0;
  /** When the request is next due (ms), or Infinity. */
  nextMs = Infinity;
  /** When the current attempt's first send left (ms), for the round-trip time. */
  firstMs = 0;

  /** Starts a request for `state` (replacing any pending one); due at once. */
  begin(state: IOState, nowMs: number): void {
    this.state = state;
    this.sends = 0;
    this.failures = 0;
    this.nextMs = nowMs;
  }

  /** No request pending. */
  clear(): void {
    this.state = undefined;
    this.sends = 0;
    this.failures = 0;
    this.nextMs = Infinity;
  }

  /** What to do at `nowMs`: REQUEST_IDLE, REQUEST_SEND or REQUEST_NO_ANSWER. */
  due(nowMs: number, timing: Timing): number {
    if (this.state === undefined || nowMs < this.nextMs) return REQUEST_IDLE;
    return this.sends >= timing.maxRequestSends ? REQUEST_NO_ANSWER : REQUEST_SEND;
  }

  /** Records a send at `nowMs`; the next is due `retransmitMs` later. */
  sent(nowMs: number, timing: Timing): void {
    this.sends++;
    if (this.sends === 1) this.firstMs = nowMs;
    this.nextMs = nowMs + timing.retransmitMs;
  }

  /** True when a reply for `state` with `result` answers this request (not a stale or duplicate one). */
  answers(state: IOState, result: Outcome): boolean {
    return this.state === state && !(result === "failure" && this.sends === 0);
  }

  /**
   * Records a Failure reply at `nowMs`: schedules the next attempt after the backoff and returns
   * true, or returns false when the backoff schedule is exhausted.
   */
  failed(nowMs: number, timing: Timing): boolean {
    const backoff = timing.failureBackoffMs;
    this.failures++;
    if (this.failures > backoff.length) return false;
    this.sends = 0;
    this.nextMs = nowMs + (backoff[this.failures - 1] as number);
    return true;
  }

  /** Round-trip time of an answer at `nowMs` when the attempt was sent once (Karn's rule), else undefined. */
  rttMs(nowMs: number): number | undefined {
    return this.sends === 1 ? nowMs - this.firstMs : undefined;
  }
}
