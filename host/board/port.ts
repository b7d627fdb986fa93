/**
 * Where a board's console is: a serial device (`/dev/ttyUSB0`, `COM3`) or a TCP console
 * (`tcp://HOST[:PORT]`, Espruino's telnet console on port 23 by default), as the `--port`
 * option of the board commands spells it.
 */

/** A parsed `--port`. */
export type PortSpec =
  | { readonly kind: "serial"; readonly path: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number };

/** Espruino's telnet console port. */
export const TELNET_PORT = 23;

/** Parses `--port` text; returns the reason as a string when it is not a port. */
export function parsePortSpec(text: string): PortSpec | string {
  if (text === "") return "is empty";
  if (/^tcp:\/\//i.test(text)) {
    const rest = text.slice(6);
    // tcp://[::1]:23, tcp://host:23, tcp://host
    const m = /^(?:\[([^\]]+)\]|([^:/[\]]+))(?::(\d+))?\/?$/.exec(rest);
    if (m === null) return `'${text}' is not tcp://HOST[:PORT]`;
    const host = m[1] ?? m[2] ?? "";
    const port = m[3] === undefined ? TELNET_PORT : Number(m[3]);
    if (!(port >= 1 && port <= 65535)) return `'${text}': port must be 1..65535`;
    return { kind: "tcp", host, port };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return `'${text}': only serial devices and tcp:// are supported`;
  return { kind: "serial", path: text };
}

/** The spec as the user would type it. */
export function formatPortSpec(spec: PortSpec): string {
  if (spec.kind === "serial") return spec.path;
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `tcp://${host}:${spec.port}`;
}
