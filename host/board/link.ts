/**
 * A byte link to a board's console: a serial port (through `serialport`) or a TCP connection
 * (Espruino's telnet console, or an emulated board's). The contract is small on purpose
 * (node-serialport's habit): write bytes, hear bytes, hear the end, close. Bytes are exchanged as
 * binary strings (one character per byte, latin1), the way Espruino's console and tools count them.
 */

import net from "node:net";
import { SerialPort } from "serialport";
import { formatPortSpec, type PortSpec } from "./port.js";

/** An open console link. */
export interface Link {
  /** What it is connected to, as the user typed it. */
  readonly name: string;
  /** Sends bytes (a binary string); resolves once they are handed to the OS (serial: drained). */
  write(data: string): Promise<void>;
  /** Calls `listener` with every chunk received (a binary string); returns a function that unsubscribes. */
  onData(listener: (data: string) => void): () => void;
  /** Calls `listener` once when the other end goes away (not after close()). */
  onClose(listener: (reason: string) => void): void;
  /** True until closed by either end. */
  readonly open: boolean;
  close(): Promise<void>;
}

/** Why a link could not open: printed as one line. */
export class LinkError extends Error {
  override readonly name = "LinkError";
}

/** Options of {@link openLink}. */
export interface LinkOptions {
  /** Serial baud rate. Defaults to 115200 (Espruino on ESP32). */
  readonly baudRate: number;
  /** Give up connecting after this long (ms). Defaults to 5000. */
  readonly connectTimeoutMs: number;
}

/** Listener bookkeeping shared by both kinds of link. */
class Listeners {
  private readonly data = new Set<(d: string) => void>();
  private readonly close: ((reason: string) => void)[] = [];
  private ended = false;
  open = true;

  onData(listener: (data: string) => void): () => void {
    this.data.add(listener);
    return () => {
      this.data.delete(listener);
    };
  }

  onClose(listener: (reason: string) => void): void {
    this.close.push(listener);
  }

  emitData(d: string): void {
    for (const l of [...this.data]) l(d);
  }

  /** The other end went away (or we closed: `quiet`). */
  end(reason: string, quiet: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.open = false;
    if (!quiet) for (const l of this.close.splice(0)) l(reason);
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOENT") return "no such device";
    if (code === "EACCES") return "permission denied (is your user in the 'dialout' group?)";
    return e.message.replace(/^Error: /, "");
  }
  return String(e);
}

/** The transport-specific ends of a link: write bytes (calling back when written), close. */
interface RawEnds {
  send(bytes: Buffer, done: (e: Error | null | undefined) => void): void;
  shut(): Promise<void>;
}

/**
 * A Link over a stream that emits "data" (Buffers), "error" and "close": the part the serial port
 * and the TCP socket share. Errors surface through write() and the close reason; "close" from
 * the other end is reported as `goneReason`, our own close() quietly.
 */
function makeLink(name: string, stream: NodeJS.EventEmitter, goneReason: string, raw: RawEnds): Link {
  const ls = new Listeners();
  let closing = false;
  stream.on("data", (b: Buffer) => ls.emitData(b.toString("latin1")));
  stream.on("error", () => undefined);
  stream.on("close", () => ls.end(goneReason, closing));
  return {
    name,
    get open() {
      return ls.open;
    },
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        if (!ls.open) {
          reject(new LinkError(`${name} is closed`));
          return;
        }
        raw.send(Buffer.from(data, "latin1"), (e) => (e ? reject(new LinkError(errorText(e))) : resolve()));
      }),
    onData: (l) => ls.onData(l),
    onClose: (l) => ls.onClose(l),
    close: async () => {
      if (!ls.open) return;
      closing = true;
      ls.end("closed", true);
      await raw.shut();
    },
  };
}

async function openTcp(spec: Extract<PortSpec, { kind: "tcp" }>, options: LinkOptions): Promise<Link> {
  const name = formatPortSpec(spec);
  const socket = net.connect({ host: spec.host, port: spec.port });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LinkError(`cannot connect to ${name}: no answer in ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve();
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(new LinkError(`cannot connect to ${name}: ${errorText(e)}`));
    };
    socket.once("error", onError);
  });
  socket.setNoDelay(true);
  return makeLink(name, socket, `${name}: connection closed by the board`, {
    send: (bytes, done) => socket.write(bytes, (e) => done(e)),
    shut: () =>
      new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.end();
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 500).unref();
      }),
  });
}

async function openSerial(spec: Extract<PortSpec, { kind: "serial" }>, options: LinkOptions): Promise<Link> {
  const name = spec.path;
  const port = new SerialPort({ path: spec.path, baudRate: options.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((e) => (e ? reject(new LinkError(`cannot open ${name}: ${errorText(e)}`)) : resolve()));
  });
  return makeLink(name, port, `${name}: the serial port went away`, {
    send: (bytes, done) => port.write(bytes, (e) => (e ? done(e) : port.drain((d) => done(d)))),
    shut: () => new Promise<void>((resolve) => port.close(() => resolve())),
  });
}

/** Opens the console link `spec`; throws a {@link LinkError} naming the port when it cannot. */
export function openLink(spec: PortSpec, options: Partial<LinkOptions> = {}): Promise<Link> {
  const o: LinkOptions = {
    baudRate: options.baudRate ?? 115200,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
  };
  return spec.kind === "tcp" ? openTcp(spec, o) : openSerial(spec, o);
}
