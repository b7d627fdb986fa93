/**
 * The client's decision on a server's offer, and format comparison. BEHAVIOUR.md: the client
 * checks every advertised format and refuses if even one is unsupported, because IO always runs
 * on all streams at once.
 */

import type { Format, StreamFormats } from "../format.js";
import type { Outcome } from "../message.js";

/** True when two formats are the same in every field. */
export function sameFormat(a: Format, b: Format): boolean {
  return (
    a.sampleRate === b.sampleRate &&
    a.channelCount === b.channelCount &&
    a.bufferSize === b.bufferSize &&
    a.sampleType === b.sampleType
  );
}

/** True when two lists hold the same formats in the same order. */
function sameFormatList(a: readonly Format[], b: readonly Format[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameFormat(a[i] as Format, b[i] as Format)) return false;
  return true;
}

/** True when two StreamFormats advertise the same streams (a repeated Connect from the same server). */
export function sameFormats(a: StreamFormats, b: StreamFormats): boolean {
  return sameFormatList(a.inputs, b.inputs) && sameFormatList(a.outputs, b.outputs);
}

/** True when `supports` accepts every format of `list`. */
function supportsAll(list: readonly Format[], supports: (format: Format) => boolean): boolean {
  for (let i = 0; i < list.length; i++) if (!supports(list[i] as Format)) return false;
  return true;
}

/** A `supports` that accepts every (valid) format: the codecs validated them already. */
export function supportAnything(): boolean {
  return true;
}

/** The default accept policy over `supports`: "refusal" if any advertised format is unsupported, else "ok". */
export function acceptSupported(supports: (format: Format) => boolean): (formats: StreamFormats) => Outcome {
  return (formats: StreamFormats): Outcome =>
    supportsAll(formats.inputs, supports) && supportsAll(formats.outputs, supports) ? "ok" : "refusal";
}
