// The datagram record queue both backends' datagram sockets share (host/sys/net/datagram.ts,
// host/sys/native/dgram.ts), and the engine-wide count of dropped datagrams.
//
// Each arriving datagram is stored whole in the channel's input queue in the core, as one record
// carrying its length and source, so the channel is readable while any datagram is queued and
// recvfrom(n) takes exactly one datagram (at most n bytes of it; the rest is discarded, as POSIX
// does). Sends go to the kernel at once, as sendto() does.
//
// Input queue record (little-endian; the native addon's recvrecs() writes the same layout):
//
//   0        4      6      7      8                  8 + length
//   +--------+------+------+------+------------------+--------------------------------+
//   | length | port | alen | 0    | payload (length) | source (alen: IP text or path) |
//   +--------+------+------+------+------------------+--------------------------------+
//
// On `net`, a datagram that does not fit (the channel's receive bound, recvPause, or the core's
// memory cap) is dropped, as the kernel drops on a full receive buffer, and counted: loopStats()
// reports those drops plus the kernel's own (Linux /proc/net/udp) as datagramsDropped. The native
// backend stops reading at the bound instead: the rest waits in the kernel, as under CPython.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { AF_UNIX } from "../core/constants.js";
import { EngineAbortError } from "../core/errors.js";
import type { Engine } from "../core/engine.js";
import { FIELD } from "../core/abi.js";
import { type Address, ipOut } from "../core/address.js";
import { memoryFreed } from "../core/wake.js";

/** Bytes of a record's header. */
export const HEADER = 8;

let queueDrops = 0; // dropped by the engine: receive bound or memory cap

/** Counts one datagram the engine dropped (receive bound or memory cap). */
export function countDrop(): void {
  queueDrops++;
}
let closedKernelDrops = 0; // kernel drops of sockets already closed

/** A datagram socket whose kernel drop counter (/proc/net/udp{,6}) counts in datagramsDropped. */
export interface DropSource {
  /** The socket's inode, or -1 (no OS socket yet, or not a UDP socket). */
  inode(): number;
  readonly isIpv6: boolean;
  /** The kernel's drop count for this socket when last read. */
  lastKernelDrops: number;
}
const open = new Set<DropSource>();

/** Counts `src`'s kernel drops from now on (a datagram socket was made). */
export function trackDrops(src: DropSource): void {
  open.add(src);
}

/** `src` is closing: its kernel drops so far stay counted. */
export function untrackDrops(src: DropSource): void {
  if (!open.delete(src)) return;
  refreshKernelDrops([src]);
  closedKernelDrops += src.lastKernelDrops;
}

/** Datagrams dropped so far, engine-wide: by the engine's bounds and, where visible, by the kernel. */
export function datagramsDropped(): number {
  refreshKernelDrops(open);
  let n = queueDrops + closedKernelDrops;
  for (const p of open) n += p.lastKernelDrops;
  return n;
}

/** Reads the kernel's drop counters of these sockets (one read of each /proc table). */
function refreshKernelDrops(ports: Iterable<DropSource>): void {
  for (const ipv6 of [false, true]) {
    const byInode = new Map<number, DropSource>();
    for (const p of ports) {
      const ino = p.inode();
      if (p.isIpv6 === ipv6 && ino >= 0) byInode.set(ino, p);
    }
    const drops = kernelDrops(new Set(byInode.keys()), ipv6);
    if (drops === null) continue;
    for (const [ino, n] of drops) byInode.get(ino)!.lastKernelDrops = n;
  }
}

/**
 * Queues one record (src[start, end), laid out as above) in the channel's input queue, or drops
 * and counts it when it does not fit the core's memory cap or (when `bounded`) the receive bound;
 * true if queued.
 */
export function queueRecord(e: Engine, token: number, src: Uint8Array, start: number, end: number, bounded: boolean): boolean {
  const need = end - start;
  const queued = e.field(token, FIELD.inLen);
  if ((bounded && queued > 0 && queued + need > e.field(token, FIELD.pause)) || e.core.in_room(token) < need) {
    queueDrops++;
    return false;
  }
  if (e.pushIn(token, src, start, end) !== need) throw new EngineAbortError(`datagram record of ${need} bytes only partly queued`);
  return true;
}

/** Takes the oldest record: at most n bytes of its datagram (the rest is discarded, as POSIX recvfrom() does) and its source. */
export function takeRecord(e: Engine, t: number, family: number, n: number): [Buffer, Address] {
  const core = e.core;
  let ptr = core.in_peek(t);
  let mem = e.bytes();
  let len: number, port: number, alen: number;
  if (core.result_len() >= HEADER) {
    len = (mem[ptr] | (mem[ptr + 1] << 8) | (mem[ptr + 2] << 16) | (mem[ptr + 3] << 24)) >>> 0;
    port = mem[ptr + 4] | (mem[ptr + 5] << 8);
    alen = mem[ptr + 6];
    if (core.in_consume(t, HEADER) < 0) throw new EngineAbortError("in_consume failed on a datagram header");
  } else { // the header spans two chunks
    const h = e.takeIn(t, HEADER);
    len = h.readUInt32LE(0);
    port = h.readUInt16LE(4);
    alen = h[6];
  }
  const data = e.takeIn(t, Math.min(n, len));
  if (data.length < len && core.in_consume(t, len - data.length) < 0) {
    throw new EngineAbortError(`datagram of ${len} bytes missing from the queue`);
  }
  const enc = family === AF_UNIX ? "utf8" : "latin1";
  let host = "";
  if (alen > 0) {
    ptr = core.in_peek(t);
    mem = e.bytes();
    if (core.result_len() >= alen) {
      host = Buffer.from(mem.buffer, mem.byteOffset + ptr, alen).toString(enc);
      if (core.in_consume(t, alen) < 0) throw new EngineAbortError("in_consume failed on a datagram source");
    } else host = e.takeIn(t, alen).toString(enc);
  }
  memoryFreed();
  return [data, family === AF_UNIX ? host : ipOut(family, host, port)];
}


/** The kernel's drop counters of these UDP sockets by inode (Linux /proc/net/udp{,6}); null where unreadable. */
function kernelDrops(inodes: Set<number>, ipv6: boolean): Map<number, number> | null {
  const found = new Map<number, number>();
  if (inodes.size === 0) return found;
  let table: string;
  try { table = readFileSync(ipv6 ? "/proc/net/udp6" : "/proc/net/udp", "latin1"); } catch { return null; }
  for (const line of table.split("\n")) {
    const cols = line.trim().split(/\s+/);
    const ino = Number(cols[9]);
    if (inodes.has(ino)) found.set(ino, Number(cols[12]) || 0);
  }
  return found;
}
