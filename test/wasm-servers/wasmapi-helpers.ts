// Shared by the wasmapi tests (issue 19): a line-protocol client and percentiles.
import * as net from "node:net";
import { once } from "node:events";
import { connectRetry } from "./helpers.js";

/** A client that sends lines and reads CRLF-terminated replies. */
export class LineClient {
  readonly sock: net.Socket;
  private buf = "";
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => { this.buf += d; this.poke(); });
    sock.on("end", () => { this.ended = true; this.poke(); });
    sock.on("error", () => { this.ended = true; this.poke(); });
  }

  static async open(port: number, host = "127.0.0.1"): Promise<LineClient> {
    if (host === "127.0.0.1") return new LineClient(await connectRetry(port));
    const s = net.connect(port, host);
    await once(s, "connect");
    return new LineClient(s);
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next reply line (without CRLF); rejects after `ms`. */
  async line(ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.ended) throw new Error(`connection ended; unread: ${JSON.stringify(this.buf)}`);
      if (Date.now() > end) throw new Error(`no reply line within ${ms} ms; unread: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  /** Sends `text` + CRLF and returns the next reply line. */
  async ask(text: string, ms?: number): Promise<string> {
    this.sock.write(text + "\r\n");
    return this.line(ms);
  }

  /** Everything until the server closes. */
  async rest(ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > end) throw new Error("the server did not close");
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
    const out = this.buf;
    this.buf = "";
    return out;
  }

  close(): void { this.sock.destroy(); }
}

/** The q-quantile (0..1) of numbers. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
