/**
 * The virtual LAN on loopback. Board i (1-based) answers at 127.0.0.(i+1): board 1 at 127.0.0.2,
 * board 2 at 127.0.0.3..., 127.0.0.1 staying for clients; the LAN's broadcast address is
 * 127.255.255.255 (Linux routes it as the broadcast of lo's 127.0.0.0/8 and delivers it only to
 * sockets bound to 0.0.0.0 or to that address: each board's bound port therefore has a second
 * socket bound to 127.255.255.255:port with SO_REUSEADDR, so that every board hears it).
 *
 * Nothing ever leaves 127.0.0.0/8: a board sending to 255.255.255.255 is sent to the LAN's
 * broadcast 127.255.255.255 instead, and a send to any other address is dropped and counted.
 * Binds are registered here, so that two emulated sockets on the same address and port conflict
 * synchronously (Espruino's bind throws at once), unless both asked for reuseAddr.
 */

/** The LAN's broadcast address. */
export const BROADCAST = "127.255.255.255";

/** Most boards one LAN holds (127.0.0.2 .. 127.0.0.254). */
export const MAX_BOARDS = 253;

/** The unicast address of board `index` (1-based). */
export function boardAddress(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_BOARDS) {
    throw new RangeError(`board index ${index} is outside 1..${MAX_BOARDS}`);
  }
  return `127.0.0.${index + 1}`;
}

/** Where a datagram the firmware sends to `address` really goes: undefined when it must not leave. */
export function routeDestination(address: string): string | undefined {
  if (address === "255.255.255.255") return BROADCAST;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (m === null) return undefined;
  return m.slice(1).every((p) => Number(p) <= 255) ? address : undefined;
}

interface Claim {
  count: number;
  reuse: boolean;
}

const claims = new Map<string, Claim>();

/** Claims `address:port` for an emulated socket; false when it is taken (and not shared by reuseAddr). */
export function claimPort(address: string, port: number, reuse: boolean): boolean {
  if (port === 0) return true;
  const key = `${address}:${port}`;
  const c = claims.get(key);
  if (c === undefined) {
    claims.set(key, { count: 1, reuse });
    return true;
  }
  if (!(c.reuse && reuse)) return false;
  c.count++;
  return true;
}

/** Releases a claim made by {@link claimPort}. */
export function releasePort(address: string, port: number): void {
  if (port === 0) return;
  const key = `${address}:${port}`;
  const c = claims.get(key);
  if (c === undefined) return;
  if (--c.count <= 0) claims.delete(key);
}
