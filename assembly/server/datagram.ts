// Datagram sockets of a server module (SOCK_DGRAM). A datagram keeps its boundaries, so it never
// enters the channel's byte queues: the socket's channel is readable while poll reports POLLIN and
// writable while it reports POLLOUT (the channel's host-ready bits, set by the loop each pass);
// recvfrom() and sendto() go straight to the runtime and clear the bit when it answers EAGAIN.
import { chanGetField, chanSetField, tick } from "../channels";
import { C_HOSTREADY, C_TICK, R, W } from "../layout";
import { Socket, register, fail } from "./socket";
import { sysOpenDgram, sysSendTo, sysRecvFrom } from "./sys";
import { EAGAIN, EBADF, EINVAL, EMSGSIZE, ENOTSUP } from "./errno";

/** SOCK_STREAM and SOCK_DGRAM, as the type argument of createSocket(). */
export const SOCK_STREAM: i32 = 1;
export const SOCK_DGRAM: i32 = 2;

/** The largest datagram sendto() takes (65535 - 8 - 20 bytes over IPv4). */
export const MAX_DATAGRAM: i32 = 65507;

/** One received datagram and its sender. Python: recvfrom()'s (bytes, address) */
export class Datagram {
  /** The bytes (at most the size asked of recvfrom()). */
  data: Uint8Array;
  /** The sender's IP address. */
  host: string;
  /** The sender's port. */
  port: i32;
  /** The datagram's full length: more than data.length when it was truncated (the rest is gone). */
  size: i32;

  constructor(data: Uint8Array, host: string, port: i32, size: i32) {
    this.data = data;
    this.host = host;
    this.port = port;
    this.size = size;
  }

  /** Was the datagram longer than the buffer recvfrom() was given? (recvmsg(2)'s MSG_TRUNC) */
  get truncated(): bool { return this.size > this.data.length; }
}

@inline const ADDR_CAP: usize = 64; // port u16, host length u16, full length u32, host text (46 bytes at most)
let addrBuf: usize = 0;

/** Opens a datagram socket (family 4 or 6); null with lastErrno set on failure. */
export function openDatagram(family: i32): Socket | null {
  let fd = sysOpenDgram(family);
  if (fd < 0) { fail(-fd); return null; }
  let s = register(fd);
  if (s !== null) s.datagram = true;
  return s;
}

function clearReady(s: Socket, bit: u32): void {
  let v = <u32>chanGetField(s.token, C_HOSTREADY);
  if ((v & bit) != 0) chanSetField(s.token, C_HOSTREADY, v & ~bit);
}

/** The loop's poll result for a datagram socket: readable on POLLIN (or an error), writable on POLLOUT. */
export function setDatagramReady(s: Socket, readable: bool, writable: bool): void {
  chanSetField(s.token, C_HOSTREADY, (readable ? R : 0) | (writable ? W : 0));
}

/** Sends one datagram: data.length, or -errno (lastErrno set too). */
export function sendDatagram(s: Socket | null, data: Uint8Array, host: string, port: i32): i32 {
  if (s === null || s.closed) return -fail(EBADF);
  if (!s.datagram) return -fail(ENOTSUP);
  if (port <= 0 || port > 65535) return -fail(EINVAL);
  if (data.length > MAX_DATAGRAM) return -fail(EMSGSIZE);
  let r = sysSendTo(s.fd, data.dataStart, <usize>data.length, host, port);
  if (r < 0) {
    if (r == -EAGAIN) clearReady(s, W);
    return -fail(-r);
  }
  chanSetField(s.token, C_TICK, tick); // a datagram either way is activity (setIdleTimeout)
  return r;
}

/** Takes one datagram, truncated to n bytes; null when none waits (lastErrno EAGAIN) or on an error. */
export function receiveDatagram(s: Socket | null, n: i32): Datagram | null {
  if (s === null || s.closed) { fail(EBADF); return null; }
  if (!s.datagram) { fail(ENOTSUP); return null; }
  if (n < 0) { fail(EINVAL); return null; }
  if (addrBuf == 0) addrBuf = heap.alloc(ADDR_CAP);
  let buf = new Uint8Array(n);
  let r = sysRecvFrom(s.fd, buf.dataStart, <usize>n, addrBuf, ADDR_CAP);
  if (r < 0) {
    if (r == -EAGAIN) clearReady(s, R);
    fail(-r);
    return null;
  }
  chanSetField(s.token, C_TICK, tick);
  let port = <i32>load<u16>(addrBuf);
  let hostLen = min(<i32>load<u16>(addrBuf, 2), <i32>ADDR_CAP - 8);
  let size = <i32>load<u32>(addrBuf, 4);
  let host = String.UTF8.decodeUnsafe(addrBuf + 8, <usize>hostLen);
  return new Datagram(r < n ? buf.slice(0, r) : buf, host, port, size);
}
