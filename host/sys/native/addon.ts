// The native syscall layer: the wasyncore.node addon (native/*.c), Linux only.
//
// Real non-blocking sockets and one epoll instance. Unlike the `net` layer there is nothing
// to adapt: readiness is the kernel's. Interest is registered persistently and changed only
// when a socket's wanted events change (Interest.sync). libuv watches the epoll descriptor,
// so Node never blocks; each wake-up hands every ready descriptor to `deliver` in one call.
// This file loads the addon; the other files of host/sys/native/ call it.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { debuglog } from "node:util";
import { fileURLToPath } from "node:url";

/** The addon's functions: results are values or -errno (see native/sock.c). */
export interface Addon {
  init(callback: (n: number) => void): ArrayBuffer;
  ctl(op: number, fd: number, events: number): number;
  ref(on: boolean): void;
  socket(family: number, type: number): number;
  bind(fd: number, family: number, host: string, port: number, scopeId: number): number;
  connect(fd: number, family: number, host: string, port: number, scopeId: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number;
  /** accept4 with the peer's address: [fd, address], or -errno. */
  accept(fd: number, withAddress: true): [number, NativeAddress] | number;
  recv(fd: number, buf: ArrayBuffer | Uint8Array, offset: number, length: number, flags: number): number;
  send(fd: number, buf: ArrayBuffer | Uint8Array, offset: number, length: number, flags: number): number;
  /**
   * n sends in one call: `list` holds {fd, offset, length, result} quadruples over `buf`; each
   * result becomes the bytes sent or -errno (an fd of -1 is skipped). Returns n. (native/batch.c)
   */
  sendmany(buf: ArrayBuffer | Uint8Array, list: Int32Array, n: number): number;
  sendto(fd: number, buf: ArrayBuffer | Uint8Array, offset: number, length: number, flags: number,
    family: number, host: string, port: number, scopeId: number): number;
  recvfrom(fd: number, buf: ArrayBuffer | Uint8Array, offset: number, length: number, flags: number): [number, NativeAddress] | number;
  /**
   * Up to `max` datagrams as back-to-back records (length u32, port u16, alen u8, 0, payload, source),
   * at most `budget` bytes of them (the first exempt when `exemptFirst`); returns the bytes written,
   * with info[0] = records and info[1] = the errno that ended the batch (0: max or room, -1: the budget).
   */
  recvrecs(fd: number, buf: ArrayBuffer | Uint8Array, offset: number, length: number, max: number,
    budget: number, exemptFirst: boolean, info: Int32Array): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  dup(fd: number): number;
  /** `value`: an int, or the option's bytes (e.g. SO_LINGER's struct linger). */
  setsockopt(fd: number, level: number, option: number, value: number | Uint8Array | ArrayBuffer): number;
  /** getsockopt(2) into `buflen` (≤ 1024) bytes: what the kernel wrote, or -errno. */
  getsockoptBytes(fd: number, level: number, option: number, buflen: number): Buffer | number;
  /** Throws an Error whose `code` is the errno as a decimal string. */
  getsockopt(fd: number, level: number, option: number): number;
  /** poll(2) of one descriptor without waiting: the events it reports now (POLLPRI = EPOLLPRI), or -errno. */
  poll(fd: number, events: number): number;
  sockname(fd: number): NativeAddress | number;
  peername(fd: number): NativeAddress | number;
  readonly constants: Readonly<Record<"EPOLLIN" | "EPOLLPRI" | "EPOLLOUT" | "EPOLLERR" | "EPOLLHUP" | "EPOLLRDHUP" |
    "EPOLL_CTL_ADD" | "EPOLL_CTL_MOD" | "EPOLL_CTL_DEL" | "MSG_OOB" | "MSG_PEEK" | "SHUT_RD" | "SHUT_WR" | "SHUT_RDWR" | "BATCH", number>>;
}

/** An address as the addon returns it: [host, port], [host, port, flowinfo, scopeId] or a path. */
export type NativeAddress = [string, number] | [string, number, number, number] | string | null;

/** What a registered descriptor does with the events epoll reports for it. */
export interface EpollTarget {
  onEpoll(events: number): void;
}

let addon: Addon | null | undefined;
let whyNot: string | null = null;
let batch: Int32Array;
const targets: (EpollTarget | undefined)[] = []; // by fd
let armedCount = 0; // descriptors with events in the epoll set: while > 0 the watcher keeps Node alive

// build/host/sys/native/addon.js → native/build/...; host/sys/native/addon.ts (tests run from source) → same
const BUILD_DIRS = ["../../../../native/build/", "../../../native/build/"];

function locate(): string | null {
  for (const dir of BUILD_DIRS) {
    const path = fileURLToPath(new URL(`${dir}Release/wasyncore.node`, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

/** Why the install did not build the addon, as native/install.mjs recorded it (native/build/FAILED.txt), or null. */
function installFailure(): string | null {
  for (const dir of BUILD_DIRS) {
    try {
      const text = readFileSync(fileURLToPath(new URL(`${dir}FAILED.txt`, import.meta.url)), "utf8").trim();
      if (text !== "") return text;
    } catch {
      // not recorded there
    }
  }
  return null;
}

/** NODE_DEBUG=wasyncore output. */
const debug = debuglog("wasyncore");

/** Counters of the native layer (tests and benchmarks read them). */
/** `bytesOut`: stream bytes send(2) took straight from the caller (the core counts what leaves its queues). */
export const nativeStats = { wakeups: 0, events: 0, ctl: 0, bytesOut: 0 };

function deliver(n: number): void {
  nativeStats.wakeups++;
  nativeStats.events += n;
  const b = batch;
  for (let i = 0; i < n; i++) {
    const target = targets[b[2 * i]];
    if (target !== undefined) target.onEpoll(b[2 * i + 1]);
  }
}

/** The addon, loaded and initialised on first use; null where it is not built or does not load. */
export function native(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== "linux") {
    whyNot = `the native backend is Linux-only (this is ${process.platform})`;
    debug("native addon not loaded: %s", whyNot);
    return null;
  }
  const path = locate();
  if (path === null) {
    const failed = installFailure();
    whyNot = failed !== null
      ? `the addon was not built at install: ${failed.split("\n")[0]} (native/build/FAILED.txt has the details; 'npm run build:native' retries)`
      : "the addon is not built (native/build/Release/wasyncore.node is missing; run 'npm run build:native')";
    debug("native addon not loaded: %s%s", whyNot, failed !== null && failed.includes("\n") ? `\n${failed}` : "");
    return null;
  }
  try {
    const a = createRequire(import.meta.url)(path) as Addon;
    batch = new Int32Array(a.init(deliver));
    addon = a;
    debug("native addon loaded: %s", path);
  } catch (err) {
    whyNot = `the addon does not load: ${err instanceof Error ? err.message : String(err)}`;
    debug("native addon not loaded: %s", whyNot);
  }
  return addon;
}

/** The addon; throws when the native backend is not available here (saying why). */
export function loadAddon(): Addon {
  const a = native();
  if (a === null) throw new Error(`wasyncore: the native backend is not available: ${whyNot}`);
  return a;
}

/** Why native() is null (after a call to it). */
export function nativeUnavailable(): string | null {
  native();
  return whyNot;
}

/** Routes epoll events of `fd` to `target`. */
export function track(fd: number, target: EpollTarget): void {
  targets[fd] = target;
}

/** Stops routing events of `fd` (call before closing it). */
export function untrack(fd: number): void {
  targets[fd] = undefined;
}

/**
 * A descriptor's registration in the epoll set: `armed` is what the kernel has, and sync()
 * calls epoll_ctl only when the wanted events differ (ADD from nothing, DEL to nothing —
 * so a hung-up socket nobody reads cannot wake Node again and again — else MOD). Like an
 * active libuv handle, an armed descriptor keeps Node's event loop alive.
 */
export class Interest {
  armed = 0;
  constructor(private readonly a: Addon, readonly fd: number) {}

  /** Makes the kernel watch exactly `want`; returns 0 or -errno. */
  sync(want: number): number {
    if (want === this.armed) return 0;
    const a = this.a;
    const k = a.constants;
    const op = this.armed === 0 ? k.EPOLL_CTL_ADD : want === 0 ? k.EPOLL_CTL_DEL : k.EPOLL_CTL_MOD;
    const rc = a.ctl(op, this.fd, want);
    nativeStats.ctl++;
    if (rc !== 0) return rc;
    if (this.armed === 0) { if (armedCount++ === 0) a.ref(true); } else if (want === 0 && --armedCount === 0) a.ref(false);
    this.armed = want;
    return 0;
  }

  /** Leaves the epoll set for good (before close): forgets the registration even if DEL fails. */
  drop(): void {
    if (this.armed === 0) return;
    if (this.sync(0) !== 0) {
      this.armed = 0;
      if (--armedCount === 0) this.a.ref(false);
    }
  }
}
