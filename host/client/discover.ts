/**
 * Listing servers: Discovery to the targets (a broadcast address and/or known servers) every
 * 250 ms for a while, collecting every offer. We do not want to connect, so each offer is
 * answered `ConnectionResult(Err(Failure))` ("not now"): unlike a Refusal it does not stop the
 * server from offering to this address again, and no connection or server resources are taken.
 */

import type { DiscoveryTarget } from "../../shared/endpoint/client.js";
import type { StreamFormats } from "../../shared/format.js";
import type { CodecName } from "../../shared/wire/codec.js";
import { Client, type ClientRuntimeOptions } from "./client.js";

/** A server that answered. */
export interface DiscoveredServer {
  /** Its IPv4 address and UDP port, as it answered from. */
  readonly address: string;
  readonly port: number;
  /** The codec it answered in (the one of our Discovery). */
  readonly codec: CodecName;
  readonly formats: StreamFormats;
}

/** Options of {@link discover}. */
export interface DiscoverOptions
  extends Pick<ClientRuntimeOptions, "codec" | "bindAddress" | "impairment" | "transport" | "timing"> {
  /** Where Discovery goes (a broadcast address and the server port, and/or known servers). */
  readonly targets: readonly DiscoveryTarget[];
  /** How long to listen (ms). */
  readonly timeoutMs: number;
  /** Called at once for each new server. */
  readonly onServer?: (s: DiscoveredServer) => void;
  /** Stops listening early. */
  readonly signal?: AbortSignal;
}

/** Compares IPv4 addresses numerically, then ports. */
function byAddress(a: DiscoveredServer, b: DiscoveredServer): number {
  const pa = a.address.split(".").map(Number);
  const pb = b.address.split(".").map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.port - b.port;
}

/** Sends Discovery for `timeoutMs` and returns every server that offered, sorted by address. */
export async function discover(options: DiscoverOptions): Promise<DiscoveredServer[]> {
  const codec = options.codec ?? "postcard";
  const found = new Map<string, DiscoveredServer>();
  const client = await Client.open({
    ...options,
    codec,
    broadcast: true,
    accept: () => "failure",
  });
  client.onEvent((e) => {
    if (e.type !== "offered" || found.has(e.peer)) return;
    const colon = e.peer.lastIndexOf(":");
    const s: DiscoveredServer = {
      address: e.peer.slice(0, colon),
      port: Number(e.peer.slice(colon + 1)),
      codec,
      formats: e.formats,
    };
    found.set(e.peer, s);
    options.onServer?.(s);
  });
  try {
    client.engine.startDiscovery(client.now());
    client.flush();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, options.timeoutMs);
      if (options.signal?.aborted) done();
      else options.signal?.addEventListener("abort", done);
    });
  } finally {
    client.close();
  }
  return [...found.values()].sort(byAddress);
}
