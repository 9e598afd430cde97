// Shared fixtures for the port of CPython 3.11's Lib/test/test_asyncore.py.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { afterAll, expect } from "vitest";
import { AF_INET, AF_INET6, AF_UNIX, ChannelMap, Dispatcher, loop, type Address, type Socket } from "../../host/index.js";

/** One socket family of the BaseTestAPI matrix (CPython's TestAPI_Use*Sockets). */
export interface Family {
  name: string;
  af: number;
  /** A fresh address to bind: port 0 for IP families, a new path for AF_UNIX. */
  addr(): Address;
}

let pathSeq = 0;
const madePaths: string[] = [];
// The native backend's listeners leave their socket files, as CPython's do: remove this file's own.
afterAll(() => {
  for (const p of madePaths.splice(0)) rmSync(p, { force: true });
});

/** A fresh, unused Unix socket path under the temp directory (removed first, as bind_af_aware does, and after the file's tests). */
export function unixPath(): string {
  const p = join(tmpdir(), `wasyncore-${process.pid}-${++pathSeq}.sock`);
  rmSync(p, { force: true });
  madePaths.push(p);
  return p;
}

export const ipv4: Family = { name: "IPv4", af: AF_INET, addr: () => ["127.0.0.1", 0] };
export const ipv6: Family = { name: "IPv6", af: AF_INET6, addr: () => ["::1", 0] };
export const unix: Family = { name: "Unix", af: AF_UNIX, addr: unixPath };

/** The two dispatch modes: select-style poll and poll(2)-style poll2 (CPython's use_poll). */
export const modes = [
  { name: "poll", usePoll: false },
  { name: "poll2", usePoll: true },
] as const;

/** Python: BaseTestHandler — every hook a test does not expect throws; handleError re-raises. */
export class BaseTestHandler extends Dispatcher {
  flag = false;

  constructor(sock?: Socket | null, map?: ChannelMap) {
    super(sock, map);
  }

  override handleAccept(): void {
    throw new Error("handleAccept not supposed to be called");
  }
  override handleAccepted(_sock: Socket, _addr: Address): void {
    throw new Error("handleAccepted not supposed to be called");
  }
  override handleConnect(): void {
    throw new Error("handleConnect not supposed to be called");
  }
  override handleExpt(): void {
    throw new Error("handleExpt not supposed to be called");
  }
  override handleClose(): void {
    throw new Error("handleClose not supposed to be called");
  }
  override handleError(err: unknown): void {
    throw err;
  }
}

/** A handler class the server instantiates for each accepted connection. */
export type HandlerClass = new (sock: Socket, map: ChannelMap) => Dispatcher;

/** Python: BaseServer — listens on `addr` and hands each connection to `handler`. */
export class BaseServer extends Dispatcher {
  readonly handler: HandlerClass;

  constructor(family: Family, addr: Address, map: ChannelMap, handler: HandlerClass = BaseTestHandler) {
    super(null, map);
    this.handler = handler;
    this.createSocket(family.af);
    this.setReuseAddr();
    this.bind(addr);
    this.listen(5);
  }

  /** The bound address (Python: server.address). */
  get address(): Address {
    return this.socket!.getsockname();
  }

  override handleAccepted(sock: Socket, _addr: Address): void {
    new this.handler(sock, this._map);
  }

  override handleError(err: unknown): void {
    throw err;
  }
}

/** Python: BaseClient — connects at construction; handleConnect is expected. */
export class BaseClient extends BaseTestHandler {
  constructor(family: Family, address: Address, map: ChannelMap) {
    super(null, map);
    this.createSocket(family.af);
    this.connect(address);
  }

  override handleConnect(): void {}
}

/**
 * Runs one-pass loops until `instance.flag` is set (Python: loop_waiting_for_flag).
 * Bounded by passes and wall time; fails if the map empties or the bound is reached.
 */
export async function loopWaitingForFlag(
  map: ChannelMap,
  instance: { flag: boolean },
  usePoll: boolean,
  { passes = 500, seconds = 5 } = {},
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; i < passes && map.size > 0 && Date.now() < deadline; i++) {
    await loop({ timeout: 0.01, count: 1, map, usePoll });
    if (instance.flag) return;
  }
  expect.fail(`flag not set (map has ${map.size} channels)`);
}

/** Runs one-pass loops until `cond()` holds; bounded like loopWaitingForFlag. */
export async function loopUntil(
  map: ChannelMap,
  cond: () => boolean,
  usePoll: boolean,
  { passes = 500, seconds = 5 } = {},
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; i < passes && Date.now() < deadline; i++) {
    if (cond()) return;
    if (map.size === 0) break;
    await loop({ timeout: 0.01, count: 1, map, usePoll });
  }
  if (!cond()) expect.fail(`condition not reached (map has ${map.size} channels)`);
}

/** Captures what `fn` writes to process.stdout / process.stderr (console.log / console.error included). */
export function captureOutput(stream: "stdout" | "stderr", fn: () => void): string {
  const target = stream === "stdout" ? process.stdout : process.stderr;
  const original = target.write;
  const chunks: string[] = [];
  target.write = ((chunk: string | Uint8Array): boolean => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof target.write;
  const [log, error] = [console.log, console.error];
  const capture = (...args: unknown[]): void => { chunks.push(args.map(String).join(" ") + "\n"); };
  if (stream === "stdout") console.log = capture;
  else console.error = capture;
  try {
    fn();
  } finally {
    target.write = original;
    [console.log, console.error] = [log, error];
  }
  return chunks.join("");
}
