// Shared by the outbound-connect tests (wasmapi-connect, wasmapi-wasix-connect): upstream servers the
// relay example connects to, and a client session through it.
import * as net from "node:net";
import { once } from "node:events";
import { transcript } from "./wasmapi-helpers.js";

/** "HOST:PORT", or "[V6]:PORT" for IPv6. */
export const hp = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** A line server: greets, answers "UP: " + each line upper-cased, says "bye" and closes after QUIT; counts what it saw. */
export class Upstream {
  readonly server: net.Server;
  port = 0;
  connections = 0;
  ends = 0;
  private constructor(readonly host: string) {
    this.server = net.createServer((c) => {
      this.connections++;
      let buf = "";
      c.write("hello from upstream\r\n");
      c.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        for (let i = buf.indexOf("\r\n"); i >= 0 && !c.writableEnded; i = buf.indexOf("\r\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (line === "QUIT") c.end("bye\r\n");
          else c.write(`UP: ${line.toUpperCase()}\r\n`);
        }
      });
      c.on("end", () => { this.ends++; c.end(); });
      c.on("error", () => {});
    });
  }
  static async start(host: string): Promise<Upstream> {
    const u = new Upstream(host);
    u.server.listen(0, host);
    await once(u.server, "listening");
    u.port = (u.server.address() as net.AddressInfo).port;
    return u;
  }
  close(): void { this.server.close(); }
}

/** A raw echo upstream (bulk data). */
export async function echoUpstream(host: string): Promise<{ port: number; close: () => void }> {
  const s = net.createServer((c) => { c.pipe(c); c.on("error", () => {}); });
  s.listen(0, host);
  await once(s, "listening");
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

/** A port nobody listens on (bound and closed at once) on `host`. */
export async function closedPort(host: string): Promise<number> {
  const s = net.createServer().listen(0, host);
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A client talking through the relay at (host, port), collecting everything until the relay closes. */
export async function session(host: string, port: number, lines: string[]): Promise<string> {
  return (await transcript(port, Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "latin1"), 0, host)).toString("latin1");
}

