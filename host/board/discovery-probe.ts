/**
 * Checks that a Syfala server answers: unicast `Discovery` (postcard) every 250 ms until a
 * `Connect(formats)` comes back from that address, or the time is up. The offer is left
 * unanswered (no ConnectionResult), so it lapses on the server's side (BEHAVIOUR.md: an offer is
 * ignored after 2 s) and does not count as a refusal against this machine.
 */

import dgram from "node:dgram";
import type { StreamFormats } from "../../shared/format.js";
import { Client } from "../../shared/message.js";
import { encodeToBytes } from "../../shared/wire/codec.js";
import { postcard } from "../../shared/wire/postcard.js";

/** How often Discovery is repeated (ms), as a client does. */
const REPEAT_MS = 250;

/** The formats `address:port` offered, or undefined when it did not answer within `timeoutMs`. */
export async function probeDiscovery(
  address: string,
  port: number,
  timeoutMs: number,
): Promise<StreamFormats | undefined> {
  const sock = dgram.createSocket("udp4");
  const loopback = address.startsWith("127.");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, loopback ? "127.0.0.1" : undefined, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  const beacon = encodeToBytes(postcard.client, Client.DISCOVERY);
  try {
    return await new Promise<StreamFormats | undefined>((resolve) => {
      const send = (): void => sock.send(beacon, port, address, () => undefined);
      const repeat = setInterval(send, REPEAT_MS);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      function done(v: StreamFormats | undefined): void {
        clearInterval(repeat);
        clearTimeout(timer);
        resolve(v);
      }
      sock.on("error", () => undefined);
      sock.on("message", (msg, rinfo) => {
        if (rinfo.address !== address || rinfo.port !== port) return;
        const r = postcard.server.decode(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), 0);
        if (r.ok && r.message.type === "connect") done(r.message.formats);
      });
      send();
    });
  } finally {
    sock.close();
  }
}
