// AsyncChat: Python's asynchat.async_chat over the engine. Input is framed inside the core
// (assembly/chat.ts searches the channel's input queue for the terminator, one pass, no
// re-scanning); output goes through a fifo of byte strings, producers and close sentinels.
import { Buffer } from "node:buffer";
import { Dispatcher } from "./dispatcher.js";
import { SocketError, EngineAbortError, isDisconnect } from "../core/errors.js";
import { getEngine } from "../core/engine.js";
import { FIELD, E_NOTFOUND, E_NOMEM, E_RANGE, MAX_TERMINATOR } from "../core/abi.js";
import { describe } from "../core/address.js";
import { Socket } from "../socket/socket.js";
import { SOCK_STREAM } from "../core/constants.js";
import { SimpleProducer, findPrefixAtEnd, checkTerminator, checkSize, encodeText, type Producer } from "./producer.js";

export { SimpleProducer, findPrefixAtEnd, type Producer };

const EMPTY = Buffer.alloc(0);

/** What getTerminator() returns: bytes, a byte count, or null ("collect everything"). */
export type Terminator = Buffer | number | null;

/** One entry of the output fifo: bytes, a producer, or the closeWhenDone() sentinel. */
export type FifoEntry = Uint8Array | Producer | null;

// Views over core memory (from the Engine): a Buffer for copies and the chat_info block; rebuilt after memory grows.
let viewCache: { gen: number; mem: Buffer; info: Uint32Array } | null = null;
function views(): { mem: Buffer; info: Uint32Array } {
  const e = getEngine();
  const gen = e.generation();
  if (viewCache === null || viewCache.gen !== gen) viewCache = { gen, mem: e.buffer(), info: e.uint32s(e.core.chat_info(), 2) };
  return viewCache;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Queues `data` in pieces of at most `size` bytes.
function pushPieces(fifo: FifoEntry[], data: Buffer, size: number): void {
  if (data.length <= size) fifo.push(data);
  else for (let i = 0; i < data.length; i += size) fifo.push(data.subarray(i, i + size));
}

// After a push() into an empty fifo: the entries initiateSend() left are what remains of `data`,
// still viewing the caller's bytes; they become views of one copy of that rest.
function snapshotRest(fifo: FifoEntry[], data: Buffer): void {
  const end = data.byteOffset + data.length;
  let start = end;
  for (const e of fifo) {
    if (e instanceof Uint8Array && e.buffer === data.buffer && e.byteOffset >= data.byteOffset && e.byteOffset < start) start = e.byteOffset;
  }
  if (start === end) return;
  const copy = Buffer.allocUnsafe(end - start);
  copy.set(new Uint8Array(data.buffer, start, end - start));
  for (let i = 0; i < fifo.length; i++) {
    const e = fifo[i];
    if (e instanceof Uint8Array && e.buffer === data.buffer && e.byteOffset >= start && e.byteOffset + e.length <= end) {
      fifo[i] = Buffer.from(copy.buffer, copy.byteOffset + e.byteOffset - start, e.length);
    }
  }
}

/**
 * A chat-style protocol channel: subclass it, call setTerminator(), and implement
 * collectIncomingData() and foundTerminator(). Python: asynchat.async_chat
 */
export class AsyncChat extends Dispatcher {
  /** Bytes read per read event. Python: async_chat.ac_in_buffer_size */
  acInBufferSize = 65536;
  /** Most bytes handed to one send(); also the size push() splits data into. Python: ac_out_buffer_size */
  acOutBufferSize = 65536;
  /** Output waiting to be sent, oldest first. Python: async_chat.producer_fifo */
  producerFifo: FifoEntry[] = [];
  /** Received bytes not framed yet, when a subclass's own recv() is used. Python: async_chat.ac_in_buffer */
  acInBuffer: Buffer = EMPTY;
  /** True: string terminators and push()ed strings are encoded with `encoding`; false (default): terminators UTF-8, push() bytes only. Python: use_encoding */
  useEncoding = false;
  /** The codec for strings when useEncoding is set: 'latin-1' (default), 'iso-8859-1', 'utf-8' or 'ascii'. Python: encoding */
  encoding = "latin-1";
  /** The current terminator (undefined until setTerminator()). Python: async_chat.terminator */
  protected terminator: Terminator | undefined = undefined;

  #inWindow = 0; // bytes at the front of the core's input queue that form ac_in_buffer now
  #reading = false;
  #coreTerm: Buffer | null = null; // terminator installed in the core for this channel
  #coreFd = -1;
  #rawTerm: unknown = undefined; // the last getTerminator() answer, and its bytes
  #rawBytes: Terminator = null;

  /** Called with each piece of input before the terminator; must be overridden (usually to buffer it). Python: collect_incoming_data */
  collectIncomingData(data: Buffer): void {
    void data;
    throw new Error(`${this.constructor.name}.collectIncomingData() must be implemented in the subclass`);
  }

  /** Called when the terminator (or the byte count) was reached; must be overridden. Python: async_chat.found_terminator() */
  foundTerminator(): void {
    throw new Error(`${this.constructor.name}.foundTerminator() must be implemented in the subclass`);
  }

  /**
   * Sets the input delimiter: bytes (a string is encoded with `encoding` when useEncoding is set, else as UTF-8),
   * a byte count (integer >= 0), or null; null, 0 and empty bytes collect everything. Python: async_chat.set_terminator
   * @throws TypeError/RangeError for another kind of value, a negative count, or an unknown `encoding`.
   */
  setTerminator(term: Uint8Array | string | number | null): void {
    this.terminator = checkTerminator(term, "setTerminator()", this.useEncoding ? this.encoding : null);
  }

  /**
   * The terminator in use; a count goes down as bytes arrive; undefined before setTerminator()
   * (asyncore: CPython raises AttributeError). Python: async_chat.get_terminator
   */
  getTerminator(): Terminator | undefined {
    return this.terminator;
  }

  /** Reads and frames the input. Python: async_chat.handle_read */
  override handleRead(): void {
    const sock = this.socket;
    // A subclass's own recv(), a closed socket (whose recv() raises) or anything but a stream
    // socket (datagrams, files) takes CPython's path: recv() and framing in JS.
    // tls: an SSLSocket's plaintext is not in the core: it goes through recv() too.
    if (this.recv === Dispatcher.prototype.recv && sock instanceof Socket && !sock.closed && sock.type === SOCK_STREAM &&
        (sock as { framesInJs?: boolean }).framesInJs !== true) {
      this.#readInCore(sock);
    } else {
      this.#readThroughRecv();
    }
  }

  // ---- framing in the core -----------------------------------------------------------------

  #readInCore(sock: Socket): void {
    const e = getEngine();
    const fd = sock.fileno();
    const size = checkSize(this.acInBufferSize, "acInBufferSize");
    const held = e.core.chat_held(fd);
    const fresh = e.field(fd, FIELD.inLen) - held;
    if (held < 0 || fresh <= 0) {
      this.#readNothing(sock);
      return;
    }
    this.#inWindow = held + Math.min(size, fresh); // ac_in_buffer + recv(ac_in_buffer_size)
    // asyncore: bytes leave the core before collectIncomingData() sees them, so a handler that
    // throws does not get them again; and input left over after a handler threw is framed on the
    // next pass (CPython waits for the socket to turn readable again).
    this.#reading = true;
    try {
      this.#frameInCore(sock, fd);
    } finally {
      this.#reading = false;
      if (!sock.closed) sock.inputConsumed();
    }
  }

  // What recv() does with no new bytes: the peer's error or EOF, else EAGAIN (which asynchat ignores).
  #readNothing(sock: Socket): void {
    const err = sock.pendingError();
    if (err !== null) {
      if (isDisconnect(err)) this.handleClose();
      else this.handleError(err);
    } else if (sock.atEof()) {
      this.handleClose();
    }
  }

  #frameInCore(sock: Socket, fd: number): void {
    const e = getEngine();
    while (this.#inWindow > 0) {
      // asyncore: no handler runs after the channel closed (CPython keeps framing the buffer)
      if (sock.closed) return;
      const term = this.#currentTerminator();
      if (typeof term === "object" && term !== null && term.length > 0) {
        if (!this.#frameBytes(sock, fd, term)) return;
        continue;
      }
      const avail = e.field(fd, FIELD.inLen);
      if (avail < this.#inWindow) this.#inWindow = avail; // a handler called recv() itself
      if (this.#inWindow === 0) return;
      if (term === null || term === 0 || typeof term === "object") {
        const data = e.takeIn(fd, this.#inWindow);
        this.#inWindow = 0;
        this.collectIncomingData(data);
      } else if (this.#inWindow < term) {
        const lb = this.#inWindow;
        const data = e.takeIn(fd, lb);
        this.#inWindow = 0;
        this.collectIncomingData(data);
        if (typeof this.terminator === "number") this.terminator -= lb; // count down across reads
      } else {
        const data = e.takeIn(fd, term);
        this.#inWindow -= term;
        this.collectIncomingData(data);
        this.terminator = 0;
        if (!sock.closed) this.foundTerminator();
      }
    }
  }

  // One step with a byte terminator; false when the rest of the window waits for more input.
  #frameBytes(sock: Socket, fd: number, term: Buffer): boolean {
    const e = getEngine();
    const core = e.core;
    this.#installTerminator(fd, term);
    const index = core.chat_find(fd, this.#inWindow);
    if (index >= 0) {
      let data: Buffer | null = null;
      let drop = term.length;
      if (index > 0) {
        const v = views();
        if (index <= v.info[1]) {
          // the frame is contiguous at the front of the queue (the common case): one copy, one consume
          const front = v.info[0];
          data = Buffer.allocUnsafe(index);
          data.set(new Uint8Array(v.mem.buffer, front, index)); // (Buffer#copy costs several times more)
          drop += index;
        } else {
          data = e.takeIn(fd, index);
        }
      }
      this.#consume(fd, drop);
      this.#inWindow -= index + term.length;
      // empty lines are not reported to collectIncomingData (asynchat: "source of subtle bugs")
      if (data !== null) this.collectIncomingData(data);
      if (!sock.closed) this.foundTerminator(); // which may change the terminator for the rest
      return true;
    }
    if (index === E_NOTFOUND) {
      const hold = core.result_len(); // a terminator prefix ends the window: keep it for the next read
      if (hold !== 0 && hold === this.#inWindow) return false;
      const data = e.takeIn(fd, this.#inWindow - hold);
      this.#inWindow = hold;
      this.collectIncomingData(data);
      return hold === 0;
    }
    if (index === E_RANGE) {
      // a handler consumed input itself (recv()): frame what is left
      this.#inWindow = Math.min(this.#inWindow, Math.max(0, e.field(fd, FIELD.inLen)));
      return true;
    }
    throw new EngineAbortError(`chat_find(${fd}, ${this.#inWindow}) returned ${index}`);
  }

  #consume(fd: number, n: number): void {
    const e = getEngine();
    const rc = e.core.in_consume(fd, n);
    if (rc < 0) throw new EngineAbortError(`in_consume(${fd}, ${n}) returned ${rc}`);
    e.resumeOk = rc === 1;
  }

  // Hands the terminator to the core unless it already searches for these bytes.
  #installTerminator(fd: number, term: Buffer): void {
    if (fd === this.#coreFd && (term === this.#coreTerm || (this.#coreTerm !== null && term.equals(this.#coreTerm)))) {
      this.#coreTerm = term;
      return;
    }
    const e = getEngine();
    e.bytes().set(term, e.core.scratch_ptr());
    const rc = e.core.chat_term(fd, term.length);
    if (rc === E_NOMEM) throw new SocketError("ENOMEM", "AsyncChat: the core has no memory for the terminator");
    if (rc < 0) throw new EngineAbortError(`chat_term(${fd}, ${term.length}) returned ${rc}`);
    this.#coreTerm = term;
    this.#coreFd = fd;
  }

  // getTerminator() as bytes, a count or null; a subclass may override it and return a string.
  #currentTerminator(): Terminator {
    const raw = this.getTerminator();
    if (raw === this.#rawTerm && raw !== undefined) return this.#rawBytes;
    if (raw === undefined) {
      // Python raises AttributeError here, which reaches handle_error (and closes the channel).
      throw new Error(`${this.constructor.name}: data arrived before setTerminator() was called`);
    }
    const term = Buffer.isBuffer(raw) && raw.length <= MAX_TERMINATOR ? raw : checkTerminator(raw, "getTerminator()", this.useEncoding ? this.encoding : null);
    if (typeof raw !== "number") { this.#rawTerm = raw; this.#rawBytes = term; }
    return term;
  }

  // ---- CPython's path: a subclass's own recv() -----------------------------------------------

  #readThroughRecv(): void {
    let data: Uint8Array;
    try {
      data = this.recv(checkSize(this.acInBufferSize, "acInBufferSize"));
    } catch (err) {
      if (err instanceof SocketError) {
        if (err.code === "EAGAIN" || err.code === "EWOULDBLOCK") return; // bpo-16133
        this.handleError(err);
        return;
      }
      throw err;
    }
    if (!(data instanceof Uint8Array)) throw new TypeError(`${this.constructor.name}.recv() must return a Buffer, got ${describe(data)}`);
    this.acInBuffer = this.acInBuffer.length === 0 ? asBuffer(data) : Buffer.concat([this.acInBuffer, data]);
    // Several data+terminator combos may arrive in one recv(): frame them all.
    while (this.acInBuffer.length > 0) {
      if (this.isClosed()) return; // asyncore: no handler runs after the channel closed
      const buf = this.acInBuffer;
      const lb = buf.length;
      const term = this.#currentTerminator();
      if (term === null || term === 0 || (typeof term !== "number" && term.length === 0)) {
        this.collectIncomingData(buf);
        this.acInBuffer = EMPTY;
      } else if (typeof term === "number") {
        if (lb < term) {
          this.collectIncomingData(buf);
          this.acInBuffer = EMPTY;
          if (typeof this.terminator === "number") this.terminator -= lb;
        } else {
          this.collectIncomingData(buf.subarray(0, term));
          this.acInBuffer = buf.subarray(term);
          this.terminator = 0;
          this.foundTerminator();
        }
      } else {
        const index = buf.indexOf(term);
        if (index !== -1) {
          if (index > 0) this.collectIncomingData(buf.subarray(0, index));
          this.acInBuffer = buf.subarray(index + term.length);
          this.foundTerminator();
        } else {
          const k = findPrefixAtEnd(buf, term);
          if (k) {
            if (k !== lb) {
              this.collectIncomingData(buf.subarray(0, lb - k));
              this.acInBuffer = Buffer.from(buf.subarray(lb - k)); // kept: copy it off recv()'s buffer
            }
            break;
          }
          this.collectIncomingData(buf);
          this.acInBuffer = EMPTY;
        }
      }
    }
  }

  // ---- output ------------------------------------------------------------------------------

  /** Sends from the output queue (initiateSend()). Python: async_chat.handle_write */
  override handleWrite(): void {
    this.initiateSend();
  }

  /** Closes the channel (no warning). Python: async_chat.handle_close */
  override handleClose(): void {
    this.close();
  }

  /** Writable while output is queued or the connect is pending. Python: async_chat.writable */
  override writable(): boolean {
    return this.producerFifo.length > 0 || !this.connected;
  }

  /**
   * Queues bytes (copied; split into acOutBufferSize pieces) and starts sending; a string only when
   * useEncoding is set (encoded with `encoding`). Python: async_chat.push(data)
   * @throws TypeError unless `data` is bytes (or a string with useEncoding); RangeError for an unknown `encoding`.
   */
  push(data: Uint8Array | string): void {
    if (typeof data === "string" && this.useEncoding) data = encodeText(data, this.encoding, "push()");
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`push(): data must be a Uint8Array or Buffer, got ${typeof data === "string" ? "a string (encode it first, e.g. Buffer.from(s), or set useEncoding)" : describe(data)}`);
    }
    const sabs = checkSize(this.acOutBufferSize, "acOutBufferSize");
    // asyncore: a snapshot, as Python's immutable bytes (not bytearray) are. Behind queued output
    // the bytes will wait, so they are copied now; into an empty fifo initiateSend() gets them as
    // they are (it usually sends them at once) and only what it leaves is copied.
    const fifo = this.producerFifo;
    if (fifo.length > 0) {
      pushPieces(fifo, Buffer.from(data), sabs);
      this.initiateSend();
      return;
    }
    const view = asBuffer(data);
    pushPieces(fifo, view, sabs);
    try {
      this.initiateSend();
    } finally {
      if (fifo.length > 0) snapshotRest(fifo, view);
    }
  }

  /** Queues a producer (an object with more(), or bytes) and starts sending. Python: push_with_producer */
  pushWithProducer(producer: Producer | Uint8Array): void {
    // asyncore: checked now (CPython fails later, in initiate_send, with AttributeError)
    if (!(producer instanceof Uint8Array) && (producer === null || typeof producer !== "object" || typeof (producer as Producer).more !== "function")) {
      throw new TypeError(`pushWithProducer(): producer must have a more() method or be a Uint8Array, got ${describe(producer)}`);
    }
    this.producerFifo.push(producer instanceof Uint8Array ? Buffer.from(producer) : producer);
    this.initiateSend();
  }

  /** Closes the channel once everything queued before this call was sent. Python: close_when_done */
  closeWhenDone(): void {
    this.producerFifo.push(null);
  }

  /** Makes at most one send() of at most acOutBufferSize bytes. Python: async_chat.initiate_send */
  initiateSend(): void {
    const fifo = this.producerFifo;
    while (fifo.length > 0 && this.connected) {
      const first = fifo[0];
      // an empty entry is dropped (and still costs one empty send); the sentinel closes
      if (first === null || (first instanceof Uint8Array && first.length === 0)) {
        fifo.shift();
        if (first === null) {
          this.handleClose();
          return;
        }
      }
      const obs = checkSize(this.acOutBufferSize, "acOutBufferSize");
      if (!(first instanceof Uint8Array)) {
        const more = first.more();
        if (more === null || more === undefined || (more instanceof Uint8Array && more.length === 0)) fifo.shift();
        else if (more instanceof Uint8Array) fifo.unshift(more);
        else throw new TypeError(`initiateSend(): a producer's more() must return a Uint8Array, got ${describe(more)}`);
        continue;
      }
      const data = first.length <= obs ? first : first.subarray(0, obs);
      let sent: number;
      try {
        sent = this.send(data);
      } catch (err) {
        if (!(err instanceof SocketError)) throw err;
        this.handleError(err);
        return;
      }
      if (sent) {
        if (sent < data.length || obs < first.length) fifo[0] = first.subarray(sent);
        else fifo.shift();
      }
      return; // one send() per call
    }
  }

  /** Drops unframed input and queued output. Python: async_chat.discard_buffers */
  discardBuffers(): void {
    this.acInBuffer = EMPTY;
    this.producerFifo.length = 0;
    const s = this.socket;
    if (s === null || s.closed) return;
    const fd = s.fileno();
    const n = this.#reading ? this.#inWindow : Math.max(0, getEngine().core.chat_held(fd));
    this.#inWindow = 0;
    if (n > 0) {
      this.#consume(fd, Math.min(n, getEngine().field(fd, FIELD.inLen)));
      s.inputConsumed();
    }
  }
}
