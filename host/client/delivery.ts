/**
 * The delivery check of a session: did each input stream bring what its server owed? A board
 * that cannot keep up skips audio (counted, its byte index advanced: the client pads it as
 * loss); a session that only reports "ok" because some bytes arrived hides that. So an input
 * stream fails when the bytes it delivered in time fall below a stated share of the bytes due.
 *
 * - Due: the stream's bytes for the IO time, less the playout latency and one packet (what can
 *   be in flight when IO stops is not owed yet): `floor((ioMs - latencyMs - packetMs) * rate /
 *   1000)` whole frames.
 * - Delivered: the stream bytes up to the furthest one received, less those lost (gaps, the
 *   server's skips among them) and those that arrived later than the playout latency. Bytes the
 *   server skipped at the very end, after its last packet, are missing from the furthest index,
 *   so they count too.
 */

import { frameSize } from "../../shared/format.js";
import type { InputReport } from "./session.js";

/** The default least share of due bytes an input must deliver (percent). */
export const DEFAULT_MIN_DELIVERED_PERCENT = 90;

/** One input stream's delivery. */
export interface Delivery {
  readonly stream: number;
  readonly dueBytes: number;
  readonly deliveredBytes: number;
  /** deliveredBytes / dueBytes in percent (100 when nothing was due). */
  readonly percent: number;
}

/** The delivery of `input` over `ioMs` of IO with the playout latency `latencyMs`. */
export function delivery(input: InputReport, ioMs: number, latencyMs: number): Delivery {
  const f = input.format;
  const packetMs = f.bufferSize > 0 ? (1000 * f.bufferSize) / f.sampleRate : 0;
  const owedMs = Math.max(0, ioMs - latencyMs - packetMs);
  const dueBytes = Math.floor((owedMs * f.sampleRate) / 1000) * frameSize(f);
  const deliveredBytes = Math.max(
    0,
    Math.min(dueBytes, input.streamBytes - input.lostBytes - input.lateBytes),
  );
  return {
    stream: input.stream,
    dueBytes,
    deliveredBytes,
    percent: dueBytes === 0 ? 100 : (100 * deliveredBytes) / dueBytes,
  };
}

/**
 * One line per input stream that delivered less than `minPercent` of its due bytes (none when
 * `minPercent` is 0), e.g. `in 0 delivered 41.3 % of the 96000 bytes due (lost 52800, late
 * 0), below the 90 % required`.
 */
export function deliveryProblems(
  inputs: readonly InputReport[],
  ioMs: number,
  latencyMs: number,
  minPercent: number,
): string[] {
  if (minPercent <= 0) return [];
  const out: string[] = [];
  for (const i of inputs) {
    const d = delivery(i, ioMs, latencyMs);
    if (d.percent >= minPercent) continue;
    out.push(
      `in ${i.stream} delivered ${d.percent.toFixed(1)} % of the ${d.dueBytes} bytes due ` +
        `(lost ${i.lostBytes}, late ${i.lateBytes}), below the ${minPercent} % required`,
    );
  }
  return out;
}
