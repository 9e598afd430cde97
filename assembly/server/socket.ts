// Sockets of a server module: an OS (or host) descriptor bound to a core channel. Bytes move
// between the descriptor and the channel's queues here, so the core's readiness rules
// (readable = input queued || EOF || error; writable = open && output below the window) hold
// in both flavours exactly as under the Node host.
import { chanOpen, chanClose, chanSetFlags, chanSetField, chanGetField } from "../channels";
import { in_reserve, in_commit, out_peek, out_consume, result_len } from "../index";
import { F_OPEN, F_EOF, C_ERRNO, C_HOSTREADY, C_IN, C_OUT, C_MAP, C_INTEREST, C_PAUSE, C_WINDOW, Q_LEN, SLOT_MASK, R } from "../layout";
import { sysOpen, sysClose, sysRecv, sysSend } from "./sys";
import { EAGAIN, EMFILE } from "./errno";

/** The channel map every dispatcher of a server module lives in. */
export const MAP_ID: u32 = 1;

/** The errno of the last failed call (AssemblyScript has no exceptions). */
export let lastErrno: i32 = 0;

/** Records an errno for the caller to read through `lastErrno`; returns it. */
export function fail(errno: i32): i32 {
  lastErrno = errno;
  return errno;
}

/** A non-blocking stream socket whose buffers live in the core. Python: socket.socket */
export class Socket {
  /** The descriptor in the runtime (WASIX fd, or the host's number). */
  fd: i32;
  /** The core channel's token. Python: fileno() */
  token: i32;
  listening: bool = false;
  connecting: bool = false;
  /** Connected at the OS level: bytes can flow. */
  open: bool = false;
  eof: bool = false;
  closed: bool = false;
  /** Closed by the application, still delivering queued output. */
  lingering: bool = false;
  dirty: bool = false;
  /** The pending socket error (SO_ERROR), 0 when none. */
  err: i32 = 0;
  /** The port this socket was bound to (when the runtime cannot report it). */
  boundPort: i32 = 0;
  /** A datagram socket (SOCK_DGRAM): readiness comes from poll, not from the channel's queues (datagram.ts). */
  datagram: bool = false;

  constructor(fd: i32, token: i32) {
    this.fd = fd;
    this.token = token;
  }

  /** Bytes waiting in the input queue. */
  get inLen(): u32 { return this.closed ? 0 : <u32>chanGetField(this.token, C_IN + Q_LEN); }
  /** Bytes waiting in the output queue. */
  get outLen(): u32 { return this.closed && !this.lingering ? 0 : <u32>chanGetField(this.token, C_OUT + Q_LEN); }
  /** Room left in the send window. */
  get room(): u32 {
    let w = <u32>chanGetField(this.token, C_WINDOW);
    let o = this.outLen;
    return o >= w ? 0 : w - o;
  }

  setError(errno: i32): void {
    if (this.err == 0) this.err = errno;
    chanSetField(this.token, C_ERRNO, <u32>errno);
  }

  /** Takes and clears the pending error. */
  takeError(): i32 {
    let e = this.err;
    return e;
  }

  markOpen(): void {
    this.open = true;
    this.connecting = false;
    chanSetFlags(this.token, F_OPEN, 0);
  }

  setAcceptReady(on: bool): void {
    chanSetField(this.token, C_HOSTREADY, on ? R : 0);
  }

  /** Queues the socket for the end-of-pass flush. */
  markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    dirty.push(this);
  }
}

let sockets = new Array<Socket | null>(); // by channel slot
let dirty = new Array<Socket>();
export let socketCount: i32 = 0;

/** Wraps a descriptor in a socket with a channel of its own; null (lastErrno EMFILE) when the table is full. */
export function register(fd: i32): Socket | null {
  let token = chanOpen(MAP_ID);
  if (token <= 0) { sysClose(fd); fail(EMFILE); return null; }
  let s = new Socket(fd, token);
  let slot = <i32>(<u32>token & SLOT_MASK);
  while (sockets.length <= slot) sockets.push(null);
  sockets[slot] = s;
  socketCount++;
  return s;
}

/** Opens a socket (family 4 or 6); null with lastErrno set on failure. */
export function openSocket(family: i32): Socket | null {
  let fd = sysOpen(family);
  if (fd < 0) { fail(-fd); return null; }
  return register(fd);
}

/** Wraps a descriptor that accept() returned: connected and open. */
export function adoptSocket(fd: i32): Socket | null {
  let s = register(fd);
  if (s !== null) s.markOpen();
  return s;
}

/** The socket at a slot (or null). */
export function socketAt(slot: i32): Socket | null {
  return slot < sockets.length ? unchecked(sockets[slot]) : null;
}

/** Slots in use up to this bound. */
export function socketSlots(): i32 { return sockets.length; }

/**
 * Moves received bytes from the descriptor into the input queue, until the runtime has no
 * more, the queue reaches its pause bound, or the pool its memory cap.
 */
export function ingest(s: Socket): void {
  let pause = <u32>chanGetField(s.token, C_PAUSE);
  while (!s.eof && s.err == 0 && s.inLen < pause) {
    let p = in_reserve(s.token, 65536);
    if (p == 0) return; // the pool is at its cap: read again once the application drains
    let len = result_len();
    let r = sysRecv(s.fd, p, len);
    if (r > 0) {
      in_commit(s.token, <u32>r);
      if (<u32>r < len) return;
    } else if (r == 0) {
      s.eof = true;
      chanSetFlags(s.token, F_EOF, 0);
    } else if (r == -EAGAIN) {
      return;
    } else {
      s.setError(-r);
    }
  }
}

/** Writes queued output to the descriptor until it would block. True when the queue is empty. */
export function flush(s: Socket): bool {
  while (s.err == 0) {
    let p = out_peek(s.token);
    let len = result_len();
    if (p == 0 || len == 0) return true;
    let r = sysSend(s.fd, p, len);
    if (r > 0) {
      out_consume(s.token, <u32>r);
      if (<u32>r < len) return false;
    } else if (r == -EAGAIN || r == 0) {
      return false;
    } else {
      s.setError(-r);
    }
  }
  return false;
}

/** Flushes every socket that send() touched this pass; finishes lingering closes. */
export function flushDirty(): void {
  if (dirty.length == 0) return;
  let list = dirty;
  dirty = new Array<Socket>();
  for (let i = 0; i < list.length; i++) {
    let s = unchecked(list[i]);
    s.dirty = false;
    if (!s.open) continue;
    let done = flush(s);
    if (s.lingering && (done || s.err != 0)) release(s);
    else if (!done) s.markDirty(); // retried when the descriptor is writable
  }
}

/** Python: socket.close() — bytes send() took are still delivered, then the descriptor closes. */
export function closeSocket(s: Socket): void {
  if (s.closed) return;
  let pending = s.open && s.err == 0 && s.outLen > 0;
  s.closed = true;
  if (pending && !flush(s)) {
    // keep the channel (out of every map) until its output is gone
    s.lingering = true;
    chanSetField(s.token, C_MAP, 0);
    chanSetField(s.token, C_INTEREST, 0);
    return;
  }
  release(s);
}

function release(s: Socket): void {
  s.lingering = false;
  sysClose(s.fd);
  let slot = <i32>(<u32>s.token & SLOT_MASK);
  if (slot < sockets.length && sockets[slot] === s) sockets[slot] = null;
  chanClose(s.token);
  socketCount--;
}
