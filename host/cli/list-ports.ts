/**
 * `syfala list-ports`: the serial ports, with a hint of which look like ESP32 boards (by the USB
 * ids of the USB-serial bridges and chips they carry). Never fails for lack of ports or of udev:
 * it says what it could not do and exits 0.
 */

import { listSerialPorts, type PortList } from "../board/serial-ports.js";
import { parse } from "./args.js";
import { noPositionals } from "./board-options.js";
import { EXIT, type Io } from "./usage.js";

const HELP = `usage: syfala list-ports [--json]

Lists the serial ports (serialport's list; where that fails, for example without udevadm, the
USB serial devices /dev/ttyUSB* and /dev/ttyACM* with their USB ids from sysfs), marking those
whose USB ids are common on ESP32 boards: CP210x 10c4:ea60, CH340 1a86:7523, CH9102 1a86:55d4,
FTDI 0403:6001/6010, Espressif native USB 303a:*. Use the path with --port.
  --json   one JSON object: {"ports":[{path, vendorId, productId, manufacturer, serialNumber,
           hint, likelyEsp32}], "listError": string|null}
Exit codes: 0 (also when there are no ports), 2 bad arguments.`;

/** The table's lines. */
export function portTable(list: PortList): string[] {
  if (list.ports.length === 0) {
    const why =
      list.listError === undefined
        ? ""
        : ` (could not list: ${list.listError}; scanned /dev/ttyUSB*, /dev/ttyACM*)`;
    return [`no serial ports found${why}`];
  }
  const rows = list.ports.map((p) => [
    p.path,
    p.vendorId !== undefined && p.productId !== undefined ? `${p.vendorId}:${p.productId}` : "-",
    p.manufacturer ?? "-",
    p.likelyEsp32 ? `ESP32? ${p.hint}` : "",
  ]);
  const head = ["PORT", "USB ID", "DESCRIPTION", "HINT"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  if (list.listError !== undefined)
    out.push(`(serialport could not list ports: ${list.listError}; these come from /dev)`);
  return out;
}

/** `syfala list-ports`. */
export async function listPortsCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT.OK;
  }
  noPositionals(positionals);
  const list = await listSerialPorts();
  if (values.json) {
    const ports = list.ports.map((p) => ({
      path: p.path,
      vendorId: p.vendorId ?? null,
      productId: p.productId ?? null,
      manufacturer: p.manufacturer ?? null,
      serialNumber: p.serialNumber ?? null,
      hint: p.hint ?? null,
      likelyEsp32: p.likelyEsp32,
    }));
    io.out(JSON.stringify({ ports, listError: list.listError ?? null }));
  } else for (const l of portTable(list)) io.out(l);
  return EXIT.OK;
}
