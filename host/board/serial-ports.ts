/**
 * Serial ports and which of them look like ESP32 boards. The list comes from `serialport`
 * (udev on Linux); where that fails (no `udevadm`, as in containers) the USB serial devices are
 * found by scanning /dev (ttyUSB*, ttyACM*) and their USB ids read from sysfs.
 */

import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

/** One serial port. USB ids are 4 lowercase hex digits. */
export interface SerialPortEntry {
  readonly path: string;
  readonly vendorId: string | undefined;
  readonly productId: string | undefined;
  readonly manufacturer: string | undefined;
  readonly serialNumber: string | undefined;
  /** What the USB ids suggest (e.g. "CP210x USB-UART, common on ESP32 boards"), if anything. */
  readonly hint: string | undefined;
  /** True when the USB ids are those of a bridge or chip found on ESP32 boards. */
  readonly likelyEsp32: boolean;
}

/** USB ids seen on ESP32 boards: `vid:pid` or `vid:*`. */
const ESP32_IDS: readonly { readonly id: string; readonly hint: string }[] = [
  { id: "10c4:ea60", hint: "CP210x USB-UART, common on ESP32 boards" },
  { id: "1a86:7523", hint: "CH340 USB-UART, common on ESP32 boards" },
  { id: "1a86:55d4", hint: "CH9102 USB-UART, common on ESP32 boards" },
  { id: "0403:6001", hint: "FTDI FT232 USB-UART, used on some ESP32 boards" },
  { id: "0403:6010", hint: "FTDI FT2232 (ESP-Prog, ESP32-WROVER-KIT)" },
  { id: "303a:*", hint: "Espressif native USB (ESP32-S2/S3/C3)" },
];

/** Normalises a USB id ("0x10C4", "10c4") to 4 lowercase hex digits; undefined when absent. */
function usbId(v: string | undefined): string | undefined {
  if (v === undefined || v === "") return undefined;
  const h = v.toLowerCase().replace(/^0x/, "");
  return /^[0-9a-f]{1,4}$/.test(h) ? h.padStart(4, "0") : undefined;
}

/** Adds the ESP32 hint to a port's description. */
export function describePort(p: {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
}): SerialPortEntry {
  const vendorId = usbId(p.vendorId);
  const productId = usbId(p.productId);
  const match = ESP32_IDS.find(
    (e) => e.id === `${vendorId}:${productId}` || (e.id.endsWith(":*") && e.id.startsWith(`${vendorId}:`)),
  );
  return {
    path: p.path,
    vendorId,
    productId,
    manufacturer: p.manufacturer || undefined,
    serialNumber: p.serialNumber || undefined,
    hint: match?.hint,
    likelyEsp32: match !== undefined,
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Where {@link scanDevices} looks (for tests: a fake /dev and /sys). */
export interface ScanRoots {
  readonly dev: string;
  readonly sys: string;
}

/**
 * USB serial devices found in `/dev` (ttyUSB*, ttyACM*), with the USB ids and names of the
 * device they belong to, read from sysfs (`/sys/class/tty/NAME/device`, then up to the USB
 * device that has idVendor).
 */
export function scanDevices(roots: ScanRoots = { dev: "/dev", sys: "/sys" }): SerialPortEntry[] {
  let names: string[];
  try {
    names = readdirSync(roots.dev).filter((n) => /^tty(USB|ACM)\d+$/.test(n));
  } catch {
    return [];
  }
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return names.map((name) => {
    let dir: string | undefined;
    try {
      dir = realpathSync(join(roots.sys, "class", "tty", name, "device"));
    } catch {
      dir = undefined;
    }
    // Walk up from the interface to the USB device (at most a few levels).
    for (let i = 0; dir !== undefined && i < 4; i++) {
      if (readText(join(dir, "idVendor")) !== undefined) break;
      const up = dirname(dir);
      dir = up === dir ? undefined : up;
    }
    const at = (f: string): string | undefined => (dir === undefined ? undefined : readText(join(dir, f)));
    return describePort({
      path: join(roots.dev, name),
      vendorId: at("idVendor"),
      productId: at("idProduct"),
      manufacturer: at("manufacturer") ?? at("product"),
      serialNumber: at("serial"),
    });
  });
}

/** What {@link listSerialPorts} found, and why the port list may be incomplete. */
export interface PortList {
  readonly ports: SerialPortEntry[];
  /** Set when serialport's list failed (the /dev scan was used instead). */
  readonly listError: string | undefined;
}

/** The serial ports: serialport's list, or a /dev scan when that fails. Never throws. */
export async function listSerialPorts(): Promise<PortList> {
  try {
    const { SerialPort } = await import("serialport");
    const list = await SerialPort.list();
    const ports = list
      .filter((p) => !/^\/dev\/ttyS\d+$/.test(p.path))
      .map((p) =>
        describePort({
          path: p.path,
          vendorId: p.vendorId,
          productId: p.productId,
          manufacturer: p.manufacturer,
          serialNumber: p.serialNumber,
        }),
      );
    return { ports, listError: undefined };
  } catch (e) {
    return { ports: scanDevices(), listError: listFailure(e) };
  }
}

/**
 * Why serialport's list failed, in words for a user: on Linux it runs `udevadm`, which
 * containers and minimal systems lack ("spawn udevadm ENOENT" says nothing to most people).
 */
function listFailure(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/udevadm/.test(msg) && /ENOENT/.test(msg)) return "udevadm (udev) is not installed";
  return msg;
}
