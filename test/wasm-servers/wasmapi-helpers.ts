// Shared by the wasmapi tests (issue 19): a line-protocol client and percentiles.
import * as net from "node:net";
import { once } from "node:events";
import { spawn } from "node:child_process";
import { connectRetry, until } from "./helpers.js";

/** A client that sends lines and reads CRLF-terminated replies. */
export class LineClient {
  readonly sock: net.Socket;
  private buf = "";
  private waiters: (() => void)[] = [];
  /** Every byte received, as it came. */
  readonly raw: Buffer[] = [];
  ended = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => { this.raw.push(d); this.buf += d.toString("latin1"); this.poke(); });
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

/** A WASIX module running under @wasmer/sdk. */
export interface WasixRun { port: number; stdout: string[]; stop(): Promise<void>; }

/**
 * Starts a WASIX module (path to its .wasm) with `--listen HOST:PORT` plus `args` and waits for a
 * stdout line containing "listening on". @wasmer/sdk 0.16 reports the requested address back, so
 * the guest cannot learn an ephemeral port: the caller's free port is used.
 */
export async function runWasix(wasmer: import("@wasmer/sdk/node").Wasmer, wasm: string, port: number, args: string[] = [], host = "127.0.0.1", settleMs = 0): Promise<WasixRun> {
  const { readFileSync } = await import("node:fs");
  const pkg = await wasmer.packages.load(readFileSync(wasm));
  const sandbox = await wasmer.sandboxes.create({ packages: [pkg], network: { mode: "host" } });
  const listen = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const proc = await sandbox.command(pkg, ["--listen", listen, ...args]).spawn({ stdout: "pipe", stderr: "pipe" });
  const stdout: string[] = [];
  const lines = (async () => { for await (const line of proc.stdout!.lines()) stdout.push(line); })();
  const deadline = Date.now() + 60_000;
  while (!stdout.some((l) => l.includes("listening on"))) {
    if (Date.now() > deadline) throw new Error(`${wasm} did not start listening; stdout: ${stdout.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // @wasmer/sdk 0.16 (Node): a connection that arrives (or is refused) while the sandbox is still
  // starting can leave poll_oneoff's clock subscriptions unserved; timer tests let it settle first.
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  return { port, stdout, async stop() { await sandbox.close(); void lines.catch(() => {}); } };
}

/** Writes `data` in pieces of 1..maxPiece bytes (a fixed pseudo-random sequence), yielding between them. */
export async function writeChunked(sock: net.Socket, data: Buffer, maxPiece: number, seed = 7): Promise<void> {
  let x = seed;
  for (let i = 0; i < data.length;) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % maxPiece);
    sock.write(data.subarray(i, i + n));
    i += n;
    await new Promise((r) => setImmediate(r));
  }
}

/** Connects, sends `data` (chunked when maxPiece > 0), and collects everything until the server closes. */
export async function transcript(port: number, data: Buffer, maxPiece = 0, host = "127.0.0.1"): Promise<Buffer> {
  const c = await LineClient.open(port, host);
  const closed = new Promise<void>((resolve) => { c.sock.on("close", () => resolve()); });
  if (maxPiece > 0) await writeChunked(c.sock, data, maxPiece);
  else c.sock.write(data);
  await closed;
  return Buffer.concat(c.raw);
}

/** Connects to an echo (or relay to one), writes `payload` at once and resolves with its first payload.length bytes back. */
export async function echoed(port: number, host: string, payload: Buffer): Promise<Buffer> {
  const c = net.connect(port, host);
  await once(c, "connect");
  const got: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    c.on("data", (d: Buffer) => { got.push(d); n += d.length; if (n >= payload.length) resolve(); });
    c.on("close", () => reject(new Error(`closed after ${n} bytes`)));
  });
  c.write(payload);
  await done;
  c.destroy();
  return Buffer.concat(got);
}

/**
 * `npx wasyncore run WASM GRANTS -- ARGS` in the installed app `app` (its own process group, so SIGTERM reaches npx
 * and the runner under it); `talk` gets the port of the first "listening on 127.0.0.1:PORT" line.
 */
export async function npxRun(app: string, wasm: string, grants: string[], args: string[], talk: (port: number) => Promise<void>): Promise<void> {
  const p = spawn("npx", ["--no", "wasyncore", "run", wasm, ...grants, "--", ...args], { cwd: app, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => p.on("close", () => r()));
  try {
    const re = /listening on 127\.0\.0\.1:(\d+)/;
    await until(() => re.test(stderr) || p.exitCode !== null, 60_000, `${wasm} to listen: ${stderr}`);
    await talk(Number(re.exec(stderr)?.[1]));
  } finally {
    process.kill(-p.pid!, "SIGTERM");
    await exited;
  }
}
