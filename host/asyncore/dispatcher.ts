// Dispatcher: asyncore.dispatcher's template methods over the core.
// (long because each public method's doc comment says what it does and what it throws.)
import { Buffer } from "node:buffer";
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, SO_ERROR } from "../core/constants.js";
import { SocketError, ExitNow, isDisconnect, checkBytes, locate } from "../core/errors.js";
import { Socket } from "../socket/socket.js";
import { closeOrphans, type BufferLimits } from "../socket/orphans.js";
import { ChannelMap, socketMap, defaultInterest } from "./map.js";
import { getEngine } from "../core/engine.js";
import { deferThrow } from "../core/wake.js";
import { F_CONNECTED, F_ACCEPTING, F_CONNECTING, F_CLOSING, FIELD, R, W } from "../core/abi.js";
import { type Address, describe } from "../core/address.js";
import { compactTraceback } from "./traceback.js";
import { scheduleOwned, setIdleTimeout, cancelOwnedTimers, type TimerHandle, type TimerCallback } from "./timers.js";

const EMPTY = Buffer.alloc(0);

/** A readiness-driven channel; subclass and override the handle* hooks. Python: asyncore.dispatcher */
/** The dispatcher each socket was last given to (setSocket), so that an earlier holder's close() can tell it. */
const holders = new WeakMap<Socket, Dispatcher>();

export class Dispatcher {
  /** Free for subclasses to switch their own debug output; asyncore never reads it. Python: dispatcher.debug */
  debug = false;
  /** The channel's address (set by bind/connect/accept). Python: dispatcher.addr */
  addr: Address | null = null;
  #ignoreLogTypes: Set<string> | null = null; // made on first use: a Set per connection costs ~200 bytes
  /** Log types logInfo() drops (default: warning). Python: dispatcher.ignore_log_types */
  get ignoreLogTypes(): Set<string> { return (this.#ignoreLogTypes ??= new Set(["warning"])); }
  /** Replaces the set of log types logInfo() drops. */
  set ignoreLogTypes(types: Set<string>) { this.#ignoreLogTypes = types; }
  /** The wrapped socket (kept after close, as in asyncore). Python: dispatcher.socket */
  socket: Socket | null = null;
  /** @internal The map the channel belongs to. */
  protected _map: ChannelMap;
  /** @internal The channel's key in its map while open. */
  protected _fileno: number | null = null;
  #flags = 0; // ES-private: subclasses (CPython tests too) use names like `flag` freely

  /**
   * Makes a channel in `map` (default socketMap): with `sock`, it wraps that socket (connected if the socket
   * is); without, call createSocket() next. Python: asyncore.dispatcher(sock=None, map=None)
   * @throws TypeError when `map` is not a ChannelMap or `sock` not a Socket.
   */
  constructor(sock?: Socket | null, map?: ChannelMap) {
    if (map !== undefined && !(map instanceof ChannelMap)) throw new TypeError(`Dispatcher: map must be a ChannelMap, got ${describe(map)}`);
    this._map = map ?? socketMap;
    if (sock) {
      this.setSocket(sock, map);
      this.connected = true;
      try {
        this.addr = sock.getpeername();
      } catch (err) {
        if (err instanceof SocketError && (err.code === "ENOTCONN" || err.code === "EINVAL")) {
          // an unconnected or listening socket, or a peer that already reset
          this.connected = false;
        } else {
          this.delChannel(map);
          sock.adopted = false; // no dispatcher holds it after all
          throw err;
        }
      }
    }
  }

  #flag(bit: number): boolean { return (this.#flags & bit) !== 0; }
  #setFlag(bit: number, on: boolean): void {
    this.#flags = on ? this.#flags | bit : this.#flags & ~bit;
    const s = this.socket;
    if (s && !s.closed) getEngine().core.chan_set_flags(s.fileno(), on ? bit : 0, on ? 0 : bit);
  }
  /** Is the channel connected? (handleConnect() runs just before it turns true.) Python: dispatcher.connected */
  get connected(): boolean { return this.#flag(F_CONNECTED); }
  /** Sets the connected flag (the loop and connect/accept set it; subclasses may too). */
  set connected(v: boolean) {
    if (this.#flag(F_CONNECTED) === v) return;
    this.#setFlag(F_CONNECTED, v);
    this.interestChanged();
  }
  /** Is the channel listening (listen() ran)? Python: dispatcher.accepting */
  get accepting(): boolean { return this.#flag(F_ACCEPTING); }
  /** Sets the accepting flag (listen() sets it). */
  set accepting(v: boolean) { this.#setFlag(F_ACCEPTING, v); }
  /** Has connect() started without completing yet? Python: dispatcher.connecting */
  get connecting(): boolean { return this.#flag(F_CONNECTING); }
  /** Sets the connecting flag (connect() sets it). */
  set connecting(v: boolean) { this.#setFlag(F_CONNECTING, v); }
  /** Free for subclasses; asyncore never sets it. Python: dispatcher.closing */
  get closing(): boolean { return this.#flag(F_CLOSING); }
  /** Sets the closing flag (free for subclasses). */
  set closing(v: boolean) { this.#setFlag(F_CLOSING, v); }

  /** A description with the class, the state flags, the address and the fileno. Python: repr(dispatcher) */
  toString(): string {
    const status = [this.constructor.name];
    if (this.accepting && this.addr) status.push("listening");
    else if (this.connected) status.push("connected");
    if (this.addr !== null) status.push(Array.isArray(this.addr) ? `${this.addr[0]}:${this.addr[1]}` : JSON.stringify(this.addr));
    return `<${status.join(" ")} fd=${this._fileno ?? "None"}>`;
  }

  /** The channel's key in its map (the core's token); -1 once closed. Python: dispatcher.socket.fileno() */
  fileno(): number {
    return this._fileno ?? this.socket?.fileno() ?? -1;
  }

  /** Puts this channel in `map` (default: its own map) under its fileno. Python: dispatcher.add_channel(map=None) */
  addChannel(map?: ChannelMap): void {
    (map ?? this._map).set(this._fileno as number, this);
  }

  /** Takes this channel out of `map` (default: its own map); the socket stays open. Python: dispatcher.del_channel(map=None) */
  delChannel(map?: ChannelMap): void {
    const fd = this._fileno;
    if (fd !== null) (map ?? this._map).delete(fd);
    this._fileno = null;
  }

  /**
   * Makes a new socket of `family` and `type` on the configured backend and wraps it (setSocket()).
   * Python: dispatcher.create_socket(family=AF_INET, type=SOCK_STREAM)
   * @throws TypeError for an unknown family or type; SocketError EMFILE when the core's channel table is full.
   */
  createSocket(family: number = AF_INET, type: number = SOCK_STREAM): void {
    this.setSocket(new Socket(family, type));
  }

  /**
   * Wraps `sock` and adds the channel to `map` (default: its own map). Python: dispatcher.set_socket(sock, map=None)
   * @throws TypeError unless `sock` is a Socket.
   */
  setSocket(sock: Socket, map?: ChannelMap): void {
    if (!(sock instanceof Socket)) throw new TypeError(`setSocket: sock must be a Socket, got ${describe(sock)}`);
    this.socket = sock;
    sock.adopted = true;
    holders.set(sock, this);
    this._fileno = sock.fileno();
    if (this.#flags) getEngine().core.chan_set_flags(this._fileno, this.#flags, 0);
    this.addChannel(map);
  }

  /** Sets SO_REUSEADDR, so a restarted server can bind a port still in TIME_WAIT; errors are ignored. Python: dispatcher.set_reuse_addr() */
  setReuseAddr(): void {
    try {
      const s = this.#requireSocket("setReuseAddr()");
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, s.getsockopt(SOL_SOCKET, SO_REUSEADDR) | 1);
    } catch (err) {
      if (!(err instanceof SocketError)) throw err;
    }
  }

  /**
   * Lets several sockets — in other processes or threads — bind and listen on this one's port; the
   * kernel spreads new connections over them. Call before bind(). Python has no helper for it:
   * `setsockopt(SOL_SOCKET, SO_REUSEPORT, 1)`.
   * @throws SocketError ENOPROTOOPT where the backend cannot (net before Node 22.12: its message says what is needed).
   */
  setReusePort(): void {
    this.#requireSocket("setReusePort()").setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  }

  /**
   * Sets this channel's send window and input pause bound (bytes), overriding configure()'s defaults.
   * @throws TypeError/RangeError for a limit that is not an integer in 1..2^31; SocketError EBADF when closed.
   */
  setBufferLimits(limits: BufferLimits = {}): void {
    this.#requireSocket("setBufferLimits()").setBufferLimits(limits);
  }

  /** @internal Interest the core can hold for this channel when its class keeps the library's readable()/writable(). */
  knownInterest(): number {
    return (this.readable() ? R : 0) | (this.writable() ? W : 0);
  }

  /**
   * @internal Tells the core that the answer of a library-tracked writable()/readable() changed. Channels
   * whose class overrides them are asked every pass instead, so this does nothing for them.
   */
  protected interestChanged(): void {
    const s = this.socket;
    if (s === null || s.closed || this._fileno === null) return;
    if (!defaultInterest.has(this.readable) || !defaultInterest.has(this.writable)) return;
    getEngine().core.chan_set(this._fileno, FIELD.interest, this.knownInterest());
  }

  /** Is the channel interested in reading? Asked once per pass. Python: dispatcher.readable() */
  readable(): boolean { return true; }
  /** Is the channel interested in writing? Asked once per pass. Python: dispatcher.writable() */
  writable(): boolean { return true; }

  /**
   * Starts listening (backlog `num`) and sets `accepting`; connections then reach handleAccepted(). Python: dispatcher.listen(num)
   * @throws SocketError (EBADF when closed or without a socket, EOPNOTSUPP on SOCK_DGRAM); RangeError for a bad backlog.
   */
  listen(num: number): void {
    const s = this.#requireSocket("listen()");
    this.accepting = true;
    s.listen(num);
  }

  /**
   * Binds the socket to `addr` and sets `addr`; synchronous, so getsockname() gives the port at once. Python: dispatcher.bind(addr)
   * @throws SocketError (EADDRINUSE, EACCES, EBADF when closed); TypeError/RangeError for a bad address.
   */
  bind(addr: Address): void {
    const s = this.#requireSocket("bind()");
    this.addr = addr;
    s.bind(addr);
  }

  /**
   * Starts a connect and sets `connecting`; handleConnect() runs on a later pass when it completes, and a
   * failure (refused, unreachable, a name that does not resolve) reaches handleError(). Python: dispatcher.connect(address)
   * @throws SocketError for what is known at once (EBADF when closed, ENOENT for a missing Unix path, EISCONN); TypeError for a bad address.
   */
  connect(address: Address): void {
    const s = this.#requireSocket("connect()");
    this.connected = false;
    this.connecting = true;
    try {
      s.connect(address); // asyncore: a synchronous failure leaves connecting true and the channel mapped
    } catch (err) {
      // connect_ex's EWOULDBLOCK (a Unix listener with a full backlog) is "in progress" to asyncore
      if (!(err instanceof SocketError && err.code === "EAGAIN")) throw err;
    }
    this.addr = address;
  }

  /**
   * Takes a pending connection: `[socket, address]`, or null when none is pending. Python: dispatcher.accept()
   * @throws SocketError EBADF when closed; EINVAL when not listening.
   */
  accept(): [Socket, Address] | null {
    const s = this.#requireSocket("accept()");
    try {
      // the stock accept() has an Error-free variant; a Socket subclass's own accept() is kept
      return s.accept === Socket.prototype.accept ? s.acceptOrNull() : s.accept();
    } catch (err) {
      if (err instanceof SocketError && (err.code === "EAGAIN" || err.code === "ECONNABORTED")) return null;
      throw err;
    }
  }

  /**
   * Sends what fits of `data`; returns the bytes taken (0 when it would block). A disconnect error calls
   * handleClose() and returns 0. Python: dispatcher.send(data)
   * @throws TypeError unless `data` is bytes; SocketError EBADF when closed, or another send error.
   */
  send(data: Uint8Array): number {
    const s = this.#requireSocket("send()");
    checkBytes(data, "send()");
    try {
      return s.send(data);
    } catch (err) {
      if (err instanceof SocketError && err.code === "EAGAIN") return 0;
      if (isDisconnect(err)) {
        this.handleClose();
        return 0;
      }
      throw err;
    }
  }

  /**
   * Reads up to `bufferSize` bytes; an empty Buffer means the peer closed (handleClose() was called). Python: dispatcher.recv
   * @throws SocketError EAGAIN when nothing is buffered, EBADF when closed; RangeError for a bad size.
   */
  recv(bufferSize: number): Buffer {
    const s = this.#requireSocket("recv()");
    try {
      const data = s.recv(bufferSize);
      if (data.length === 0 && bufferSize !== 0) this.handleClose(); // a closed connection is indicated by signaling a read condition, and having recv() return 0.
      return data;
    } catch (err) {
      if (isDisconnect(err)) {
        this.handleClose();
        return EMPTY;
      }
      throw err; // asyncore: EAGAIN propagates (async_chat catches it)
    }
  }

  /**
   * Sends one datagram; the byte count, or 0 when the send window is full.
   * Python: dispatcher.sendto (delegated to socket.sendto, which raises BlockingIOError instead).
   */
  sendto(data: Uint8Array, address: Address): number {
    const s = this.#requireSocket("sendto()");
    try {
      return s.sendto(data, address);
    } catch (err) {
      if (err instanceof SocketError && err.code === "EAGAIN") return 0; // asyncore: like send()
      throw err;
    }
  }

  /**
   * One datagram (at most `bufferSize` bytes of it) and its source; throws SocketError EAGAIN when
   * none is queued. An empty datagram is returned as it is (handleClose() is not called).
   * Python: dispatcher.recvfrom (delegated to socket.recvfrom)
   */
  recvfrom(bufferSize: number): [Buffer, Address] {
    return this.#requireSocket("recvfrom()").recvfrom(bufferSize);
  }

  /** Closes the channel: cancels its timers, leaves the map and closes the socket (bytes send() took are still delivered); idempotent; does not call handleClose(). Python: dispatcher.close() */
  close(): void {
    cancelOwnedTimers(this);
    this.connected = false;
    this.accepting = false;
    this.connecting = false;
    this.delChannel();
    const s = this.socket;
    if (s === null || s.closed) return;
    s.close();
    const holder = holders.get(s);
    if (holder !== undefined && holder !== this && holder._fileno !== null && holder.socket === s) holder.#closedUnder();
  }

  // A dispatcher that handed its socket on (delChannel(), then new Other(sock)) and closes it later — e.g. its
  // idle timeout fired — closes it under the dispatcher that holds it now: that one gets handleClose(), as
  // for a peer's close, and leaves the map even if its handleClose() does not close (a closed socket can only
  // keep loop() from ending). CPython's select() would fail on the closed descriptor instead.
  #closedUnder(): void {
    try {
      settle(this, this.handleClose());
    } catch (err) {
      if (err instanceof ExitNow) deferThrow(err);
      else this.handleError(err);
    }
    if (this._fileno !== null) this.delChannel();
  }

  /** Has close() run on this channel's socket? */
  isClosed(): boolean {
    return this.socket !== null && this.socket.closed;
  }

  #requireSocket(what: string): Socket {
    const s = this.socket;
    if (s === null) throw new SocketError("EBADF", `${what}: the dispatcher has no socket (call createSocket() first)`);
    // asyncore: use after close throws EBADF instead of calling handleClose() again.
    if (s.closed) throw new SocketError("EBADF", `${what} on a closed dispatcher`);
    return s;
  }

  /**
   * Runs `fn(...args)` with `this` = the dispatcher, `seconds` from now; close() cancels it.
   * @throws RangeError for a negative or non-finite delay; TypeError unless `fn` is a function; SocketError EBADF when closed.
   */
  callLater(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
    return scheduleOwned(this, this._map, seconds, fn, args, false);
  }

  /**
   * Runs `fn(...args)` with `this` = the dispatcher every `seconds`; close() cancels it.
   * @throws RangeError unless `seconds` > 0 and finite; TypeError unless `fn` is a function; SocketError EBADF when closed.
   */
  callEvery(seconds: number, fn: TimerCallback, ...args: unknown[]): TimerHandle {
    return scheduleOwned(this, this._map, seconds, fn, args, true);
  }

  /**
   * Calls handleIdle() once no byte moved either way for `seconds` (0 or null: never). (pyftpdlib: timeout)
   * @throws RangeError for a negative delay; SocketError EBADF when closed or without a socket.
   */
  setIdleTimeout(seconds: number | null): void {
    setIdleTimeout(this, this._map, seconds);
  }

  /** The channel was idle for its idle timeout; default closes it. (pyftpdlib: handle_timeout) */
  handleIdle(): void | Promise<void> {
    return this.handleClose();
  }

  /** A timer of this channel threw (ExitNow excepted); default hands it to the map's handleTimerError. */
  handleTimerError(err: unknown, timer: TimerHandle): void {
    this._map.handleTimerError(err, timer);
  }

  /** Writes `log: message` to stderr. Python: dispatcher.log(message) */
  log(message: unknown): void {
    process.stderr.write(`log: ${String(message)}\n`);
  }

  /**
   * Prints `type: message` unless `type` is in ignoreLogTypes: 'error' and 'warning' to stderr, other
   * types ('info') to stdout (CPython prints all to stdout). Python: dispatcher.log_info(message, type='info')
   */
  logInfo(message: unknown, type = "info"): void {
    if (this.ignoreLogTypes.has(type)) return;
    if (type === "error" || type === "warning") console.error(`${type}: ${String(message)}`);
    else console.log(`${type}: ${String(message)}`);
  }

  /** Routes a read event: handleAccept() when listening, the connect completion then handleRead() when connecting, else handleRead(). Python: dispatcher.handle_read_event() */
  handleReadEvent(): void {
    if (this.accepting) {
      // accepting sockets are never connected, they "spawn" new sockets that are connected
      // asyncore: a socket the handler did not wrap before it threw is closed (CPython's GC would)
      settle(this, closeOrphans(() => this.handleAccept()));
    } else if (!this.connected) {
      if (this.connecting) this.handleConnectEvent();
      if (!this.isClosed()) settle(this, this.handleRead()); // the connect handler may have closed it
    } else {
      settle(this, this.handleRead());
    }
  }

  /**
   * Completes a connect: calls handleConnect(), then sets `connected`. Python: dispatcher.handle_connect_event()
   * @throws SocketError the connect's failure (its `syscall`, `address`, `port` set), which the loop hands to handleError().
   */
  handleConnectEvent(): void {
    const s = this.socket;
    const err = s ? s.getsockopt(SOL_SOCKET, SO_ERROR) : 0;
    if (err !== 0) throw locate(s!.pendingError() ?? SocketError.fromErrno(err), "connect", this.addr);
    settle(this, this.handleConnect());
    this.connected = true;
    this.connecting = false;
  }

  /** Routes a write event: the connect completion first when connecting, then handleWrite(); nothing when listening. Python: dispatcher.handle_write_event() */
  handleWriteEvent(): void {
    if (this.accepting) return; // accepting sockets shouldn't get a write event
    if (!this.connected && this.connecting) {
      this.handleConnectEvent();
      if (this.isClosed()) return; // the connect handler closed it
    }
    settle(this, this.handleWrite());
  }

  /** Routes an exceptional event: a pending socket error closes the channel (handleClose()), urgent data goes to handleExpt(). Python: dispatcher.handle_expt_event() */
  handleExptEvent(): void {
    const s = this.socket;
    const err = s && !s.closed ? s.getsockopt(SOL_SOCKET, SO_ERROR) : 0;
    if (err !== 0) this.handleClose(); // a pending error: the connection is gone
    else settle(this, this.handleExpt());
  }

  /** Called with an error a handler threw: by default logs a compact trace (logInfo 'error', to stderr) and calls handleClose(). Python: dispatcher.handle_error() */
  handleError(err: unknown): void {
    let type: string, value: string, info: string;
    try {
      [, type, value, info] = compactTraceback(err);
    } catch {
      [type, value, info] = [typeof err, String(err), "[no traceback]"];
    }
    let self: string;
    try { self = this.toString(); } catch { self = `<toString() failed for ${this.constructor.name}>`; }
    this.logInfo(`uncaptured exception, closing channel ${self} (${type}:${value} ${info})`, "error");
    this.handleClose();
  }

  /** Called when urgent (out-of-band) data arrived (native backend); default logs a warning. Python: dispatcher.handle_expt() */
  handleExpt(): void | Promise<void> { this.logInfo("unhandled incoming priority event", "warning"); }
  /** Called when the socket has data (or EOF) to recv(); default logs a warning. Python: dispatcher.handle_read() */
  handleRead(): void | Promise<void> { this.logInfo("unhandled read event", "warning"); }
  /** Called when the socket can take more output and writable() said true; default logs a warning. Python: dispatcher.handle_write() */
  handleWrite(): void | Promise<void> { this.logInfo("unhandled write event", "warning"); }
  /** Called once when connect() completed (before `connected` turns true); default logs a warning. Python: dispatcher.handle_connect() */
  handleConnect(): void | Promise<void> { this.logInfo("unhandled connect event", "warning"); }
  /** Called when a listening channel has a connection to accept(); default accepts it and calls handleAccepted(). Python: dispatcher.handle_accept() */
  handleAccept(): void | Promise<void> {
    const pair = this.accept();
    if (pair !== null) return this.handleAccepted(pair[0], pair[1]);
  }
  /** Called with each accepted connection and its peer address; wrap `sock` in a dispatcher. Default closes it with a warning. Python: dispatcher.handle_accepted(sock, addr) */
  handleAccepted(sock: Socket, addr: Address): void | Promise<void> {
    void addr;
    sock.close();
    this.logInfo("unhandled accepted event", "warning");
  }
  /** Called when the peer closed or the connection broke; default logs a warning and closes. Python: dispatcher.handle_close() */
  handleClose(): void | Promise<void> {
    this.logInfo("unhandled close event", "warning");
    this.close();
  }
}

defaultInterest.add(Dispatcher.prototype.readable);
defaultInterest.add(Dispatcher.prototype.writable);

/** @internal Routes a handler's rejected promise to handleError (the loop does not wait for it). */
export function settle(obj: { handleError(err: unknown): void }, ret: unknown): void {
  if (ret !== undefined && ret !== null && typeof (ret as Promise<unknown>).then === "function") {
    (ret as Promise<unknown>).then(undefined, (err: unknown) => {
      if (err instanceof ExitNow) { deferThrow(err); return; } // the next pass rejects loop() with it
      try { obj.handleError(err); } catch (again) { process.emitWarning(`wasyncore: handleError threw after an async handler failed: ${String(again)}`); }
    });
  }
}
