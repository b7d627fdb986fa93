/**
 * Durations in messages, in one style: milliseconds below a second ("500 ms"), seconds from
 * there ("3 s", "1.5 s"), whatever unit the option was given in.
 */

/** `ms` as text: "300 ms", "4 s", "1.5 s". */
export function formatDuration(ms: number): string {
  const r = Math.round(ms);
  if (r < 1000) return `${r} ms`;
  const s = r / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
