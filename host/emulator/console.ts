/**
 * A board's console over TCP, like the ESP32's telnet console: one client at a time (a new
 * connection replaces the previous one), bytes in both directions (latin1), driven by the
 * board's REPL (repl.ts). Listens on 127.0.0.1 only.
 */

import net from "node:net";

export interface ConsoleEndpoint {
  /** Called with each chunk a client sends (a binary string). */
  onInput(data: string): void;
  /** Called when a client connects (before any input). */
  onConnect(): void;
}

export class ConsoleServer {
  private readonly server: net.Server;
  private client: net.Socket | undefined;

  private constructor(
    server: net.Server,
    readonly port: number,
  ) {
    this.server = server;
  }

  /** Listens on 127.0.0.1:`port` (0: any free port). */
  static async listen(port: number, endpoint: ConsoleEndpoint): Promise<ConsoleServer> {
    let self: ConsoleServer | undefined;
    const server = net.createServer((socket) => self?.accept(socket, endpoint));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    const actual = typeof address === "object" && address !== null ? address.port : port;
    self = new ConsoleServer(server, actual);
    return self;
  }

  private accept(socket: net.Socket, endpoint: ConsoleEndpoint): void {
    this.client?.destroy();
    this.client = socket;
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      if (this.client === socket) this.client = undefined;
    });
    socket.on("data", (buf: Buffer) => endpoint.onInput(buf.toString("latin1")));
    endpoint.onConnect();
  }

  /** True while a client is connected. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Sends console bytes to the client, if any. */
  write(text: string): void {
    const c = this.client;
    if (c !== undefined && !c.destroyed) c.write(Buffer.from(text, "latin1"));
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
