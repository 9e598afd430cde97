// Dispatcher: asyncore.dispatcher's template methods for servers written in AssemblyScript.
// Subclass and override the handle* hooks; the loop (loop.ts) calls them from the core's events.
// asyncore: AssemblyScript has no exceptions, so calls that raise in Python return an errno
// (0 = success) and handleError() receives an errno instead of an exception.
import { chanSetFlags } from "../channels";
import { out_reserve, out_commit, in_peek, in_consume, result_len } from "../index";
import { F_CONNECTED, F_ACCEPTING, F_CONNECTING, F_CLOSING, SLOT_MASK } from "../layout";
import { Socket, openSocket, adoptSocket, closeSocket, fail, lastErrno } from "./socket";
import { sysBind, sysListen, sysAccept, sysConnect, sysLocalPort } from "./sys";
import { EBADF, EAGAIN, EINVAL, EINPROGRESS, ENOTCONN, isDisconnect, errnoName } from "./errno";
import { TimerOwner, TimerHandle, TimerCallback, scheduleOwned, cancelOwnedTimers, setIdleTimeout } from "./timers";
import { Datagram, SOCK_DGRAM, SOCK_STREAM, openDatagram, sendDatagram, receiveDatagram } from "./datagram";

/** AF_INET and AF_INET6, as the family argument of createSocket(). */
export const AF_INET: i32 = 4;
export const AF_INET6: i32 = 6;

const EMPTY = new Uint8Array(0);
let owners = new Array<Dispatcher | null>(); // by channel slot

/** The dispatcher that owns a live token, or null. */
export function ownerOf(token: i32): Dispatcher | null {
  let slot = <i32>(<u32>token & SLOT_MASK);
  if (slot >= owners.length) return null;
  let d = unchecked(owners[slot]);
  if (d === null) return null;
  let s = d.socket;
  return s !== null && s.token == token && !s.closed ? d : null;
}

/** Dispatchers by slot, for the loop's interest pass. */
export function ownerAt(slot: i32): Dispatcher | null {
  return slot < owners.length ? unchecked(owners[slot]) : null;
}
export function ownerSlots(): i32 { return owners.length; }

/** A readiness-driven channel; subclass and override the handle* hooks. Python: asyncore.dispatcher */
export class Dispatcher extends TimerOwner {
  /** The wrapped socket (kept after close, as in asyncore). Python: dispatcher.socket */
  socket: Socket | null = null;
  private flags: u32 = 0;

  /** Python: asyncore.dispatcher(sock=None) — an accepted socket starts connected. */
  constructor(sock: Socket | null = null) {
    super();
    if (sock !== null) {
      this.setSocket(sock);
      this.connected = true;
    }
  }

  private flag(bit: u32): bool { return (this.flags & bit) != 0; }
  private setFlag(bit: u32, on: bool): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
    let s = this.socket;
    if (s !== null && !s.closed) chanSetFlags(s.token, on ? bit : 0, on ? 0 : bit);
  }
  /** Python: dispatcher.connected */
  get connected(): bool { return this.flag(F_CONNECTED); }
  set connected(v: bool) { this.setFlag(F_CONNECTED, v); }
  /** Python: dispatcher.accepting */
  get accepting(): bool { return this.flag(F_ACCEPTING); }
  set accepting(v: bool) { this.setFlag(F_ACCEPTING, v); }
  /** Python: dispatcher.connecting */
  get connecting(): bool { return this.flag(F_CONNECTING); }
  set connecting(v: bool) { this.setFlag(F_CONNECTING, v); }
  /** Free for subclasses. Python: dispatcher.closing */
  get closing(): bool { return this.flag(F_CLOSING); }
  set closing(v: bool) { this.setFlag(F_CLOSING, v); }

  /** The channel's token, -1 once closed. Python: fileno() */
  fileno(): i32 {
    let s = this.socket;
    return s === null || s.closed ? -1 : s.token;
  }

  /** Python: dispatcher.create_socket(family=AF_INET, type=SOCK_STREAM) — 0 or an errno. */
  createSocket(family: i32 = AF_INET, type: i32 = SOCK_STREAM): i32 {
    if (type != SOCK_STREAM && type != SOCK_DGRAM) return fail(EINVAL);
    let s = type == SOCK_DGRAM ? openDatagram(family) : openSocket(family);
    if (s === null) return lastErrno;
    this.setSocket(s);
    return 0;
  }

  /** Python: dispatcher.set_socket(sock) */
  setSocket(sock: Socket): void {
    this.socket = sock;
    if (this.flags != 0) chanSetFlags(sock.token, this.flags, 0);
    let slot = <i32>(<u32>sock.token & SLOT_MASK);
    while (owners.length <= slot) owners.push(null);
    owners[slot] = this;
  }

  /** Is the channel interested in reading? Asked once per pass. Python: dispatcher.readable() */
  readable(): bool { return true; }
  /** Is the channel interested in writing? Asked once per pass. Python: dispatcher.writable() */
  writable(): bool { return true; }

  private live(): Socket | null {
    let s = this.socket;
    if (s === null || s.closed) { fail(EBADF); return null; }
    return s;
  }

  /** Python: dispatcher.bind(addr) — synchronous; 0 or an errno (EACCES outside the grant). */
  bind(host: string, port: i32): i32 {
    let s = this.live();
    if (s === null) return EBADF;
    if (port < 0 || port > 65535) return fail(EINVAL);
    let rc = sysBind(s.fd, host, port);
    if (rc < 0) return fail(-rc);
    s.boundPort = port;
    return 0;
  }

  /** Python: dispatcher.listen(num) — 0 or an errno. */
  listen(backlog: i32): i32 {
    let s = this.live();
    if (s === null) return EBADF;
    this.accepting = true;
    let rc = sysListen(s.fd, max(backlog, 1));
    if (rc < 0) return fail(-rc);
    s.listening = true;
    return 0;
  }

  /** The port the socket is bound to (the runtime's answer, else the requested one). */
  localPort(): i32 {
    let s = this.socket;
    if (s === null) return 0;
    let p = sysLocalPort(s.fd);
    return p > 0 ? p : s.boundPort;
  }

  /** Starts a connect; handleConnect() runs when it completes. Python: dispatcher.connect(address) */
  connect(host: string, port: i32): i32 {
    let s = this.live();
    if (s === null) return EBADF;
    this.connected = false;
    this.connecting = true; // asyncore: a connect that fails at once leaves connecting true
    if (port < 0 || port > 65535) return fail(EINVAL);
    let rc = sysConnect(s.fd, host, port);
    if (rc < 0 && rc != -EINPROGRESS) return fail(-rc);
    s.connecting = true;
    return 0;
  }

  /** Python: dispatcher.accept() — the new socket, or null when nothing is pending. */
  accept(): Socket | null {
    let s = this.live();
    if (s === null) return null;
    let fd = sysAccept(s.fd);
    if (fd < 0) {
      if (fd == -EAGAIN) s.setAcceptReady(false);
      fail(-fd);
      return null;
    }
    return adoptSocket(fd);
  }

  /** Bytes taken into the send window (0 when it would block). Python: dispatcher.send(data) */
  send(data: Uint8Array): i32 {
    let s = this.live();
    if (s === null) return 0;
    if (s.err != 0) {
      if (isDisconnect(s.err)) this.handleClose();
      fail(s.err);
      return 0;
    }
    if (!s.open) { fail(s.connecting ? EAGAIN : ENOTCONN); return 0; }
    let room = s.room;
    let off: u32 = 0;
    let total = min(<u32>data.length, room);
    while (off < total) {
      let p = out_reserve(s.token, total - off);
      if (p == 0) break;
      let n = min(result_len(), total - off);
      memory.copy(p, data.dataStart + off, n);
      out_commit(s.token, n);
      off += n;
    }
    if (off > 0) s.markDirty();
    else fail(EAGAIN);
    return <i32>off;
  }

  /**
   * Sends one datagram to host:port (SOCK_DGRAM): data.length, or -errno (lastErrno too): EACCES
   * outside the grants, EAGAIN over the runner's send budget or rate, EMSGSIZE over 65507 bytes.
   * Python: socket.sendto(data, address)
   */
  sendto(data: Uint8Array, host: string, port: i32): i32 {
    return sendDatagram(this.socket, data, host, port);
  }

  /**
   * Takes one datagram (SOCK_DGRAM), at most `n` bytes of it (the rest of a longer one is discarded,
   * as recvfrom(2) does: `truncated` says so); null when none waits (lastErrno EAGAIN) or on an error.
   * Python: socket.recvfrom(bufsize) → (bytes, address)
   */
  recvfrom(n: i32): Datagram | null {
    return receiveDatagram(this.socket, n);
  }

  /** send() for text, as UTF-8. */
  sendString(text: string): i32 {
    return this.send(Uint8Array.wrap(String.UTF8.encode(text)));
  }

  /**
   * Up to `n` received bytes. Empty when the peer closed (handleClose() was called) or when
   * nothing is buffered (lastErrno == EAGAIN). Python: dispatcher.recv(buffer_size)
   */
  recv(n: i32): Uint8Array {
    let s = this.live();
    if (s === null) return EMPTY;
    let have = s.inLen;
    if (have > 0 && n > 0) {
      let total = min(<u32>n, have);
      let out = new Uint8Array(total);
      let got: u32 = 0;
      while (got < total) {
        let p = in_peek(s.token);
        let len = min(result_len(), total - got);
        if (p == 0 || len == 0) break;
        memory.copy(out.dataStart + got, p, len);
        in_consume(s.token, len);
        got += len;
      }
      return out;
    }
    if (s.err != 0) {
      fail(s.err);
      if (isDisconnect(s.err)) this.handleClose();
      return EMPTY;
    }
    if (s.eof) {
      // a closed connection is indicated by signaling a read condition, and having recv() return 0.
      this.handleClose();
      return EMPTY;
    }
    fail(EAGAIN);
    return EMPTY;
  }

  /** Python: dispatcher.close() — idempotent; does not call handleClose(). Cancels the channel's timers. */
  close(): void {
    this.connected = false;
    this.accepting = false;
    this.connecting = false;
    cancelOwnedTimers(this);
    let s = this.socket;
    if (s === null || s.closed) return;
    let slot = <i32>(<u32>s.token & SLOT_MASK);
    if (slot < owners.length && owners[slot] === this) owners[slot] = null;
    closeSocket(s);
  }

  /**
   * Calls `fn` once after `seconds`, unless the channel closed first; null (lastErrno EBADF) on a
   * closed channel. The callback reaches the channel as `timer.ownerAs<MyClass>()`.
   */
  callLater(seconds: f64, fn: TimerCallback): TimerHandle | null {
    let t = scheduleOwned(this, seconds, fn, false);
    if (t === null) fail(EBADF);
    return t;
  }

  /** Calls `fn` every `seconds` while the channel is open; null (lastErrno EBADF) on a closed channel. */
  callEvery(seconds: f64, fn: TimerCallback): TimerHandle | null {
    let t = scheduleOwned(this, seconds, fn, true);
    if (t === null) fail(EBADF);
    return t;
  }

  /**
   * Calls handleIdle() once no byte moved either way for `seconds` (0: never); 0 or EBADF.
   * (pyftpdlib: timeout)
   */
  setIdleTimeout(seconds: f64): i32 {
    let rc = setIdleTimeout(this, seconds);
    if (rc != 0) fail(rc);
    return rc;
  }

  /** The channel was idle for its idle timeout; the default closes it. (pyftpdlib: handle_timeout) */
  handleIdle(): void {
    this.handleClose();
  }

  /** Has close() run? */
  isClosed(): bool {
    let s = this.socket;
    return s !== null && s.closed;
  }

  /** Python: dispatcher.log_info(message, type='info') — warnings are ignored, as ignore_log_types. */
  logInfo(message: string, type: string = "info"): void {
    if (type != "warning") console.log(type + ": " + message);
  }

  /** Python: dispatcher.handle_read_event() */
  handleReadEvent(): void {
    if (this.accepting) {
      // accepting sockets are never connected, they "spawn" new sockets that are connected
      this.handleAccept();
    } else if (!this.connected) {
      if (this.connecting && !this.handleConnectEvent()) return;
      if (!this.isClosed()) this.handleRead(); // the connect handler may have closed it
    } else {
      this.handleRead();
    }
  }

  /** Python: dispatcher.handle_connect_event() — false when the connect failed (handleError ran). */
  handleConnectEvent(): bool {
    let s = this.socket;
    let err = s !== null ? s.takeError() : 0;
    if (err != 0) {
      this.handleError(err);
      return false;
    }
    this.handleConnect();
    this.connected = true;
    this.connecting = false;
    return true;
  }

  /** Python: dispatcher.handle_expt_event() — a pending socket error closes, else handleExpt(). */
  handleExptEvent(): void {
    let s = this.socket;
    let err = s !== null ? s.takeError() : 0;
    if (err != 0) this.handleClose();
    else this.handleExpt();
  }

  /** Python: dispatcher.handle_write_event() */
  handleWriteEvent(): void {
    if (this.accepting) return; // accepting sockets shouldn't get a write event
    if (!this.connected && this.connecting) {
      if (!this.handleConnectEvent()) return;
      if (this.isClosed()) return;
    }
    this.handleWrite();
  }

  /** Logs the error and closes. Python: dispatcher.handle_error() */
  handleError(errno: i32): void {
    this.logInfo("uncaptured error, closing channel fd=" + this.fileno().toString() + " (" + errnoName(errno) + ")", "error");
    this.handleClose();
  }

  /** Python: dispatcher.handle_read() */
  handleRead(): void { this.logInfo("unhandled read event", "warning"); }
  /** Python: dispatcher.handle_expt() */
  handleExpt(): void { this.logInfo("unhandled incoming priority event", "warning"); }
  /** Python: dispatcher.handle_write() */
  handleWrite(): void { this.logInfo("unhandled write event", "warning"); }
  /** Python: dispatcher.handle_connect() */
  handleConnect(): void { this.logInfo("unhandled connect event", "warning"); }
  /** Python: dispatcher.handle_accept() */
  handleAccept(): void {
    let sock = this.accept();
    if (sock !== null) this.handleAccepted(sock);
  }
  /** Python: dispatcher.handle_accepted(sock, addr) — the peer address is not passed. */
  handleAccepted(sock: Socket): void {
    closeSocket(sock);
    this.logInfo("unhandled accepted event", "warning");
  }
  /** Python: dispatcher.handle_close() */
  handleClose(): void {
    this.logInfo("unhandled close event", "warning");
    this.close();
  }
}

/** A dispatcher with an application output buffer. Python: asyncore.dispatcher_with_send */
export class DispatcherWithSend extends Dispatcher {
  /** Bytes waiting to be sent. Python: dispatcher_with_send.out_buffer */
  outBuffer: Uint8Array = EMPTY;

  /** Sends at most 64 KiB of outBuffer. Python: dispatcher_with_send.initiate_send() */
  initiateSend(): void {
    let chunk = this.outBuffer.length > 65536 ? this.outBuffer.subarray(0, 65536) : this.outBuffer;
    let n = super.send(chunk);
    this.outBuffer = this.outBuffer.subarray(n);
  }

  handleWrite(): void { this.initiateSend(); }

  writable(): bool { return !this.connected || this.outBuffer.length > 0; }

  /** Appends to outBuffer and starts sending; returns data.length. */
  send(data: Uint8Array): i32 {
    if (this.outBuffer.length == 0) this.outBuffer = data.slice(0);
    else {
      let joined = new Uint8Array(this.outBuffer.length + data.length);
      joined.set(this.outBuffer, 0);
      joined.set(data, this.outBuffer.length);
      this.outBuffer = joined;
    }
    this.initiateSend();
    return data.length;
  }
}
