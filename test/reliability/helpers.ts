// Shared by the reliability tests: sizes (CI or soak), an echo server on the engine,
// forked plain-node:net clients, and waiting for conditions.
import { fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ChannelMap, Dispatcher, DispatcherWithSend, Socket, loop, closeAll, AF_INET, AF_UNIX, type Address } from "../../host/index.js";

/** Soak scale: 0 in CI; `SOAK=1` (or more, a multiplier) for the large runs of `npm run soak`. */
export const SOAK = process.env.SOAK ? Math.max(1, Number(process.env.SOAK) || 1) : 0;

/** The CI figure, or the soak figure times the SOAK multiplier. */
export function size(ci: number, soak: number): number {
  return SOAK ? Math.round(soak * SOAK) : ci;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Figures a test reports for the README's "Reliability" section. */
export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[reliability] ${name}: ${JSON.stringify(figures)}`);
}

export function sha256(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Resolves once `cond()` holds; rejects with `what` after `ms`. Checks every `every` ms. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000, every = 5): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Node's active handles (sockets, servers, timers that keep the process alive). */
export function activeHandles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

/** What one echo channel saw. */
export interface EchoRecord {
  received: number;
  hash: string;
  closes: number;
}

/**
 * asyncore's echo handler with a bounded application buffer: it stops reading while more than
 * `high` bytes wait in outBuffer, and on the peer's FIN it sends what is left before closing.
 */
export class EchoHandler extends DispatcherWithSend {
  private readonly digest = createHash("sha256");
  received = 0;
  peerDone = false;
  closes = 0;

  constructor(sock: Socket, map: ChannelMap, private readonly server: EchoServer, private readonly high = 256 * KiB) {
    super(sock, map);
  }
  override readable(): boolean {
    return !this.peerDone && this.outBuffer.length < this.high;
  }
  override handleRead(): void {
    const data = this.recv(64 * KiB);
    if (data.length === 0) return; // the peer closed: handleClose ran
    this.digest.update(data);
    this.received += data.length;
    this.send(data);
  }
  override handleWrite(): void {
    this.initiateSend();
    if (this.peerDone && this.outBuffer.length === 0) this.finish();
  }
  override handleClose(): void {
    this.closes++;
    // A reset peer cannot take the rest; a peer that half-closed still reads it.
    if (this.socket?.pendingError() || this.outBuffer.length === 0) this.finish();
    else this.peerDone = true;
  }
  override handleError(err: unknown): void {
    this.server.errors.push(err);
    this.finish();
  }
  private finish(): void {
    if (this.isClosed()) return;
    this.server.records.push({ received: this.received, hash: this.digest.digest("hex"), closes: this.closes });
    this.server.live.delete(this);
    this.close();
  }
}

/** An echo server on the engine: a listening Dispatcher spawning EchoHandlers. */
export class EchoServer extends Dispatcher {
  readonly live = new Set<EchoHandler>();
  readonly records: EchoRecord[] = [];
  readonly errors: unknown[] = [];
  accepted = 0;

  constructor(readonly chanMap: ChannelMap, family = AF_INET, host = "127.0.0.1", readonly high = 256 * KiB) {
    super(null, chanMap);
    this.createSocket(family);
    this.bind(family === AF_UNIX ? host : [host, 0]);
    this.listen(4096);
  }
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }
  get address(): Address {
    return this.socket!.getsockname();
  }
  override handleAccepted(sock: Socket): void {
    this.accepted++;
    this.live.add(new EchoHandler(sock, this.chanMap, this, this.high));
  }
  override handleError(err: unknown): void {
    this.errors.push(err);
  }
}

/** Runs loop() on `map` in the background; `stop()` closes every channel and awaits the loop. */
export function runLoop(map: ChannelMap, options: { usePoll?: boolean; timeout?: number } = {}): {
  done: Promise<void>;
  stop(): Promise<void>;
} {
  const done = loop({ map, timeout: options.timeout ?? 1, usePoll: options.usePoll ?? false });
  done.catch(() => {}); // observed by the test through `done`
  return {
    done,
    async stop() {
      closeAll({ map, ignoreAll: true });
      await done;
    },
  };
}

/** Result of one client connection (see clients/echo-client.mjs). */
export interface ClientResult {
  i: number;
  size: number;
  sent: number;
  received: number;
  sentHash: string;
  recvHash: string;
  halfClose: boolean;
  error: string | null;
}

/** A forked client process: `send()` a message, `next()` awaits its next message. */
export interface Child {
  send(msg: unknown): void;
  next<T>(ms: number): Promise<T>;
  kill(): void;
}

/** Forks `clients/<script>` (a plain node:net program talking over IPC). */
export function forkClient(script: string): Child {
  const path = fileURLToPath(new URL(`./clients/${script}`, import.meta.url));
  const child = fork(path, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  const inbox: unknown[] = [];
  let waiter: ((msg: unknown) => void) | null = null;
  let exited: string | null = null;
  child.on("message", (msg) => {
    if (waiter) { const w = waiter; waiter = null; w(msg); } else inbox.push(msg);
  });
  child.once("exit", (code, signal) => {
    exited = `client ${script} exited (${code ?? signal})`;
    if (waiter) { const w = waiter; waiter = null; w({ fatal: exited }); }
  });
  return {
    send: (msg) => child.send(msg as never),
    kill: () => { if (child.exitCode === null) child.kill("SIGKILL"); },
    next<T>(ms: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const settle = (msg: unknown): void => {
          clearTimeout(timer);
          const m = msg as { fatal?: string };
          if (m && m.fatal) reject(new Error(`client ${script} failed: ${m.fatal}`));
          else resolve(msg as T);
        };
        const timer = setTimeout(() => {
          waiter = null;
          child.kill("SIGKILL");
          reject(new Error(`client ${script} did not answer within ${ms} ms`));
        }, ms);
        if (inbox.length > 0) settle(inbox.shift());
        else if (exited) settle({ fatal: exited });
        else waiter = settle;
      });
    },
  };
}

/** Forks `clients/<script>`, sends it `job`, and resolves with its answer (killed after `ms`). */
export async function runClient<T>(script: string, job: Record<string, unknown>, ms: number): Promise<T> {
  const child = forkClient(script);
  child.send(job);
  return child.next<T>(ms);
}

/** A Dispatcher that records which handlers ran, in order. */
export class Recorder extends Dispatcher {
  readonly calls: string[] = [];
  readonly errors: unknown[] = [];
  override handleConnect(): void { this.calls.push("handleConnect"); }
  override handleClose(): void { this.calls.push("handleClose"); this.close(); }
  override handleError(err: unknown): void { this.calls.push("handleError"); this.errors.push(err); this.close(); }
}

/** Connection target of a node:net client. */
export type Target = { host: string; port: number } | { path: string };

interface Watched {
  s: net.Socket;
  sent: ReturnType<typeof createHash>;
  back: ReturnType<typeof createHash>;
  sentN: number;
  recvN: number;
  error: string | null;
  closed: Promise<void>;
}

/**
 * In-process node:net echo clients that keep traffic going while a test injects a fault:
 * `write()` sends random bytes on each, `finish()` half-closes them, waits for the whole echo
 * and returns a description of every connection whose bytes did not come back intact.
 */
export class Bystanders {
  private constructor(private readonly conns: Watched[]) {}

  static async open(target: Target, n: number): Promise<Bystanders> {
    const conns = await Promise.all(Array.from({ length: n }, () => new Promise<Watched>((resolve, reject) => {
      const s = net.connect(target as net.NetConnectOpts);
      const w: Watched = { s, sent: createHash("sha256"), back: createHash("sha256"), sentN: 0, recvN: 0, error: null, closed: Promise.resolve() };
      w.closed = new Promise((done) => s.once("close", () => done()));
      s.on("data", (d: Buffer) => { w.back.update(d); w.recvN += d.length; });
      s.on("error", (e: NodeJS.ErrnoException) => { w.error = e.code ?? String(e); });
      s.on("end", () => s.end());
      s.once("connect", () => resolve(w));
      s.once("error", reject);
    })));
    return new Bystanders(conns);
  }

  /** Sends `bytes` random bytes on every connection. */
  write(bytes: number): void {
    for (const w of this.conns) {
      const data = randomBytes(bytes);
      w.sent.update(data);
      w.sentN += data.length;
      w.s.write(data);
    }
  }

  /** Half-closes every connection and waits for its echo; returns the failures (empty = intact). */
  async finish(ms = 15_000): Promise<string[]> {
    for (const w of this.conns) w.s.end();
    const timeout = sleep(ms).then(() => "timeout");
    await Promise.race([Promise.all(this.conns.map((w) => w.closed)), timeout]);
    const bad: string[] = [];
    this.conns.forEach((w, i) => {
      const sent = w.sent.digest("hex"), back = w.back.digest("hex");
      if (w.error || w.recvN !== w.sentN || sent !== back || !w.s.destroyed) {
        bad.push(`bystander ${i}: sent ${w.sentN}, got ${w.recvN}, error ${w.error}, closed ${w.s.destroyed}, intact ${sent === back}`);
      }
      w.s.destroy();
    });
    return bad;
  }
}
