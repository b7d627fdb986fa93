/**
 * The session report as text (what `syfala session` and the demo print) and as JSON (numbers
 * that are NaN, e.g. a round trip never measured, become null), and the live one-line status.
 */

import { describeContent } from "./content.js";
import { describeFormats, describeRtt, describeStreamFormat, ms } from "./describe.js";
import { describeVerdict } from "./loopback.js";
import type { SessionReport, SessionStatus } from "./session.js";

/** The report as readable lines. `checkLoopback`: show the loopback verdicts even when they failed. */
export function reportLines(r: SessionReport, checkLoopback: boolean): string[] {
  const lines: string[] = [];
  lines.push(`server ${r.server} (${r.codec}), IO ${(r.ioMs / 1000).toFixed(2)} s`);
  if (r.formats === undefined) return lines;
  for (const i of r.inputs) {
    lines.push(`in ${i.stream}   ${describeStreamFormat(i.format)}`);
    lines.push(
      `       ${i.packets} packets, ${i.bytes} bytes; lost ${i.lostBytes} bytes (${i.lostPercent.toFixed(2)} %)` +
        `; reordered ${i.reordered}, duplicates ${i.duplicates}; jitter ${ms(i.jitterMs)} ms`,
    );
    lines.push(
      `       playout: late ${i.lateBytes} bytes, underruns ${i.underruns} (${i.underrunFrames} frames)` +
        (i.overflowBytes > 0 ? `, overflow ${i.overflowBytes} bytes` : ""),
    );
    if (i.latency.count > 0) {
      lines.push(
        `       latency (first sample due -> arrival): p50 ${ms(i.latency.p50Ms)} ms, p99 ${ms(i.latency.p99Ms)} ms, ` +
          `max ${ms(i.latency.maxMs)} ms (a packet holds ${ms(i.latency.packetMs)} ms` +
          // Under a millisecond is the Start(Ok)'s own transit; more means its first copy was lost.
          (i.latency.anchorShiftMs >= 1
            ? `; stream clock anchored ${ms(i.latency.anchorShiftMs)} ms before Start(Ok) arrived: audio came earlier)`
            : ")"),
      );
    }
    if (i.recording !== undefined) {
      lines.push(`       recorded ${i.recording.frames} frames to ${i.recording.path}`);
    }
  }
  for (const o of r.outputs) {
    lines.push(`out ${o.stream}  ${describeStreamFormat(o.format)}`);
    lines.push(
      `       sent ${o.source}: ${o.packets} packets, ${o.bytes} bytes` +
        (o.skippedBytes > 0 ? ` (${o.skippedBytes} bytes skipped: the host fell behind)` : ""),
    );
  }
  lines.push(`rtt    control (Start/Stop): ${describeRtt(r.rtt.control)}`);
  if (r.rtt.loopback.count > 0 || checkLoopback) {
    lines.push(`rtt    loopback audio: ${describeRtt(r.rtt.loopback)}`);
  }
  for (const v of r.content) lines.push(`content ${describeContent(v)}${v.ok ? ": ok" : ": FAILED"}`);
  for (const v of r.loopback) {
    if (!checkLoopback && !v.ok) continue;
    lines.push(`loopback ${describeVerdict(v)}${v.ok ? ": ok" : ": FAILED"}`);
  }
  return lines;
}

/** The formats of a report's server, for a header line. */
export function formatLines(r: SessionReport): string[] {
  return r.formats === undefined ? [] : describeFormats(r.formats);
}

/** JSON text of any report object: NaN and infinities become null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v));
}

/** The live status in one line: "3.2 s  in0 62 pkt/s 0.0 % lost jitter 0.41 ms, 0 underruns  rtt 1.20 ms". */
export function statusLine(s: SessionStatus, durationMs: number): string {
  const parts = [
    durationMs === Infinity
      ? `${s.seconds.toFixed(1)} s (until Ctrl-C)`
      : `${s.seconds.toFixed(1)}/${(durationMs / 1000).toFixed(0)} s`,
  ];
  s.inputs.forEach((i, k) => {
    parts.push(
      `in${k} ${i.packetsPerSecond.toFixed(0)} pkt/s ${i.lostPercent.toFixed(1)} % lost, jitter ${ms(i.jitterMs)} ms, ${i.underruns} underruns`,
    );
  });
  parts.push(`rtt ${ms(s.rttMs)} ms`);
  return parts.join("  ");
}
