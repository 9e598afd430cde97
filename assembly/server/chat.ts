// AsyncChat for server modules: Python's asynchat.async_chat over the core's framing
// (assembly/chat.ts searches the channel's input queue for the terminator, one pass, no
// re-scanning), as the Node host's AsyncChat (host/asyncore/chat.ts) does; output goes through a
// fifo of byte strings, producers and close sentinels.
import { chatSetTerm, chatFind, chatHeld, chatHold, MAX_TERM } from "../chat";
import { in_peek, in_consume, result_len } from "../index";
import { E_NOTFOUND, E_RANGE } from "../layout";
import { Dispatcher } from "./dispatcher";
import { Socket, fail, lastErrno } from "./socket";
import { EAGAIN, EINVAL, isDisconnect } from "./errno";

const EMPTY = new Uint8Array(0);

@inline const TERM_UNSET: i32 = 0; // before setTerminator(): input is an error, as in CPython
@inline const TERM_NONE: i32 = 1; // null / 0 / empty: collect everything
@inline const TERM_BYTES: i32 = 2;
@inline const TERM_COUNT: i32 = 3;

/** Hands out data piece by piece: subclass and override more(). Python: asynchat's producer protocol */
export abstract class Producer {
  /** The next piece; empty once exhausted. */
  abstract more(): Uint8Array;
}

/** Hands out `data` in pieces of `bufferSize` bytes. Python: asynchat.simple_producer */
export class SimpleProducer extends Producer {
  /** The bytes not handed out yet. */
  data: Uint8Array;
  /** Bytes per more(). */
  bufferSize: i32;

  /** Python: simple_producer(data, buffer_size=512); bufferSize < 1 is taken as 1 (the Node host throws). */
  constructor(data: Uint8Array, bufferSize: i32 = 512) {
    super();
    this.data = data.slice(0);
    this.bufferSize = max(bufferSize, 1);
  }

  more(): Uint8Array {
    let d = this.data;
    if (d.length > this.bufferSize) {
      this.data = d.subarray(this.bufferSize);
      return d.subarray(0, this.bufferSize);
    }
    this.data = EMPTY;
    return d;
  }
}

@inline const ENTRY_DATA: i32 = 0;
@inline const ENTRY_PRODUCER: i32 = 1;
@inline const ENTRY_CLOSE: i32 = 2;

/** One entry of the output fifo: bytes, a producer, or the closeWhenDone() sentinel. */
export class FifoEntry {
  constructor(public kind: i32, public data: Uint8Array, public producer: Producer | null) {}
  get isClose(): bool { return this.kind == ENTRY_CLOSE; }
}

/** `n` bytes from the front of a channel's input queue, copied out. */
function takeIn(token: i32, n: i32): Uint8Array {
  let out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    let p = in_peek(token);
    let len = min(<i32>result_len(), n - got);
    if (p == 0 || len <= 0) break;
    memory.copy(out.dataStart + <usize>got, p, <usize>len);
    in_consume(token, <u32>len);
    got += len;
  }
  return got == n ? out : out.subarray(0, got);
}

/**
 * A chat-style protocol channel: subclass it, call setTerminator(), and override
 * collectIncomingData() and foundTerminator(). Python: asynchat.async_chat
 */
export class AsyncChat extends Dispatcher {
  /** Bytes read per read event. Python: async_chat.ac_in_buffer_size */
  acInBufferSize: i32 = 65536;
  /** Most bytes handed to one send(); also the size push() splits data into. Python: ac_out_buffer_size */
  acOutBufferSize: i32 = 65536;
  /** Output waiting to be sent, oldest first. Python: async_chat.producer_fifo */
  producerFifo: Array<FifoEntry> = new Array<FifoEntry>();

  private termKind: i32 = TERM_UNSET;
  private termBytes: Uint8Array = EMPTY;
  private termCount: i64 = 0;
  private inWindow: i32 = 0; // bytes at the front of the core's input queue that form ac_in_buffer now
  private reading: bool = false;
  private coreTerm: Uint8Array | null = null; // the terminator installed in the core
  private coreToken: i32 = -1;

  /** Python: async_chat.collect_incoming_data(data) — override it (the default drops the data). */
  collectIncomingData(data: Uint8Array): void {
    this.logInfo("collectIncomingData() is not overridden: " + data.length.toString() + " bytes dropped", "warning");
  }

  /** Python: async_chat.found_terminator() — override it. */
  foundTerminator(): void {
    this.logInfo("foundTerminator() is not overridden", "warning");
  }

  /**
   * Sets the input delimiter: bytes (Uint8Array), a string (encoded as UTF-8), or a byte count
   * (an integer >= 0); 0 and empty bytes collect everything (so does `setTerminator<Uint8Array | null>(null)`).
   * Returns 0, or EINVAL for a negative count or a terminator over 32 KiB (the Node host throws).
   * Python: async_chat.set_terminator
   */
  setTerminator<T>(term: T): i32 {
    if (isString<T>()) {
      return this.setTerminatorBytes(Uint8Array.wrap(String.UTF8.encode(changetype<string>(term))));
    } else if (isInteger<T>()) {
      let n = <i64>term;
      if (n < 0) return fail(EINVAL);
      this.termKind = n == 0 ? TERM_NONE : TERM_COUNT;
      this.termCount = n;
      this.termBytes = EMPTY;
      return 0;
    } else if (isFloat<T>()) {
      let f = <f64>term;
      if (f != Math.floor(f) || f < 0 || f > 9007199254740991) return fail(EINVAL);
      return this.setTerminator<i64>(<i64>f);
    } else if (isReference<T>()) {
      if (changetype<usize>(term) == 0) {
        this.termKind = TERM_NONE;
        this.termBytes = EMPTY;
        this.termCount = 0;
        return 0;
      }
      if (term instanceof Uint8Array) return this.setTerminatorBytes(changetype<Uint8Array>(term).slice(0));
      return fail(EINVAL);
    }
    return fail(EINVAL);
  }

  private setTerminatorBytes(bytes: Uint8Array): i32 {
    if (<u32>bytes.length > MAX_TERM) return fail(EINVAL);
    this.termKind = bytes.length == 0 ? TERM_NONE : TERM_BYTES;
    this.termBytes = bytes;
    this.termCount = 0;
    return 0;
  }

  /** The byte terminator in use, or null (none, or a count). Python: async_chat.get_terminator */
  getTerminator(): Uint8Array | null {
    return this.termKind == TERM_BYTES ? this.termBytes : null;
  }

  /** The count terminator's bytes still to come (it counts down as bytes arrive), or -1 when the terminator is not a count. */
  getTerminatorCount(): i64 {
    if (this.termKind == TERM_COUNT) return this.termCount;
    return this.termKind == TERM_NONE && this.termCount == 0 && this.termBytes.length == 0 ? 0 : -1;
  }

  /** Reads and frames the input. Python: async_chat.handle_read */
  handleRead(): void {
    let s = this.socket;
    if (s === null || s.closed) return;
    let token = s.token;
    let size = max(this.acInBufferSize, 1);
    let held = chatHeld(token);
    let fresh = <i32>s.inLen - held;
    if (held < 0 || fresh <= 0) {
      this.readNothing(s);
      return;
    }
    this.inWindow = held + min(size, fresh); // ac_in_buffer + recv(ac_in_buffer_size)
    this.reading = true;
    this.frame(s);
    this.reading = false;
  }

  // What recv() does with no new bytes: the peer's error or EOF (else EAGAIN, which asynchat ignores).
  private readNothing(s: Socket): void {
    if (s.err != 0) {
      fail(s.err);
      if (isDisconnect(s.err)) this.handleClose();
      else this.handleError(s.err);
    } else if (s.eof) {
      this.handleClose();
    }
  }

  private frame(s: Socket): void {
    let token = s.token;
    while (this.inWindow > 0) {
      // asyncore: no handler runs after the channel closed (CPython keeps framing the buffer)
      if (s.closed) return;
      let kind = this.termKind;
      if (kind == TERM_UNSET) {
        // Python raises AttributeError here, which reaches handle_error (and closes the channel)
        this.logInfo("data arrived before setTerminator() was called", "error");
        this.handleError(EINVAL);
        return;
      }
      if (kind == TERM_BYTES) {
        if (!this.frameBytes(s, token)) return;
        continue;
      }
      let avail = <i32>s.inLen;
      if (avail < this.inWindow) this.inWindow = avail; // a handler called recv() itself
      if (this.inWindow == 0) return;
      if (kind == TERM_NONE) {
        let data = takeIn(token, this.inWindow);
        this.inWindow = 0;
        this.collectIncomingData(data);
      } else if (<i64>this.inWindow < this.termCount) {
        let lb = this.inWindow;
        let data = takeIn(token, lb);
        this.inWindow = 0;
        this.collectIncomingData(data);
        if (this.termKind == TERM_COUNT) this.termCount -= lb; // count down across reads
      } else {
        let n = <i32>this.termCount;
        let data = takeIn(token, n);
        this.inWindow -= n;
        this.collectIncomingData(data);
        this.termKind = TERM_NONE;
        this.termCount = 0;
        if (!s.closed) this.foundTerminator();
      }
    }
  }

  // One step with a byte terminator; false when the rest of the window waits for more input.
  private frameBytes(s: Socket, token: i32): bool {
    let term = this.termBytes;
    if (this.coreToken != token || this.coreTerm !== term) {
      if (chatSetTerm(token, term.dataStart, <u32>term.length) < 0) abort("the core has no memory for the terminator");
      this.coreTerm = term;
      this.coreToken = token;
    }
    let index = chatFind(token, <u32>this.inWindow);
    if (index >= 0) {
      let data: Uint8Array | null = null;
      if (index > 0) data = takeIn(token, index);
      in_consume(token, <u32>term.length);
      this.inWindow -= index + term.length;
      // empty lines are not reported to collectIncomingData (asynchat: "source of subtle bugs")
      if (data !== null) this.collectIncomingData(data);
      if (!s.closed) this.foundTerminator(); // which may change the terminator for the rest
      return true;
    }
    if (index == E_NOTFOUND) {
      let hold = <i32>chatHold; // a terminator prefix ends the window: keep it for the next read
      if (hold != 0 && hold == this.inWindow) return false;
      let data = takeIn(token, this.inWindow - hold);
      this.inWindow = hold;
      this.collectIncomingData(data);
      return hold == 0;
    }
    if (index == E_RANGE) {
      // a handler consumed input itself (recv()): frame what is left
      this.inWindow = min(this.inWindow, <i32>s.inLen);
      return true;
    }
    abort("chat_find failed");
    return false;
  }

  // ---- output ------------------------------------------------------------------------------

  /** Python: async_chat.handle_write */
  handleWrite(): void {
    this.initiateSend();
  }

  /** Closes the channel (no warning). Python: async_chat.handle_close */
  handleClose(): void {
    this.close();
  }

  /** Writable while output is queued or the connect is pending. Python: async_chat.writable */
  writable(): bool {
    return this.producerFifo.length > 0 || !this.connected;
  }

  /** Queues a copy of `data` (split into acOutBufferSize pieces) and starts sending. Python: async_chat.push */
  push(data: Uint8Array): void {
    let size = max(this.acOutBufferSize, 1);
    let fifo = this.producerFifo;
    if (data.length <= size) fifo.push(new FifoEntry(ENTRY_DATA, data.slice(0), null));
    else for (let i = 0; i < data.length; i += size) fifo.push(new FifoEntry(ENTRY_DATA, data.slice(i, min(i + size, data.length)), null));
    this.initiateSend();
  }

  /** push() for text, as UTF-8. */
  pushString(text: string): void {
    this.push(Uint8Array.wrap(String.UTF8.encode(text)));
  }

  /** Queues a producer and starts sending. Python: async_chat.push_with_producer */
  pushWithProducer(producer: Producer): void {
    this.producerFifo.push(new FifoEntry(ENTRY_PRODUCER, EMPTY, producer));
    this.initiateSend();
  }

  /** Closes the channel once everything queued before this call was sent. Python: close_when_done */
  closeWhenDone(): void {
    this.producerFifo.push(new FifoEntry(ENTRY_CLOSE, EMPTY, null));
  }

  /** Makes at most one send() of at most acOutBufferSize bytes. Python: async_chat.initiate_send */
  initiateSend(): void {
    let fifo = this.producerFifo;
    while (fifo.length > 0 && this.connected) {
      let first = unchecked(fifo[0]);
      // an empty entry is dropped (and still costs one empty send); the sentinel closes
      if (first.kind == ENTRY_CLOSE) {
        fifo.shift();
        this.handleClose();
        return;
      }
      if (first.kind == ENTRY_DATA && first.data.length == 0) fifo.shift();
      let obs = max(this.acOutBufferSize, 1);
      if (first.kind == ENTRY_PRODUCER) {
        let more = first.producer!.more();
        if (more.length == 0) fifo.shift();
        else fifo.unshift(new FifoEntry(ENTRY_DATA, more, null));
        continue;
      }
      let whole = first.data;
      let data = whole.length <= obs ? whole : whole.subarray(0, obs);
      let sent = this.send(data);
      if (sent > 0) {
        if (sent < data.length || obs < whole.length) first.data = whole.subarray(sent);
        else if (fifo.length > 0 && unchecked(fifo[0]) === first) fifo.shift();
      } else if (data.length > 0 && lastErrno != EAGAIN && !isDisconnect(lastErrno) && !this.isClosed()) {
        this.handleError(lastErrno);
      }
      return; // one send() per call
    }
  }

  /** Drops unframed input and queued output. Python: async_chat.discard_buffers */
  discardBuffers(): void {
    this.producerFifo.length = 0;
    let s = this.socket;
    if (s === null || s.closed) return;
    let n = this.reading ? this.inWindow : max(0, chatHeld(s.token));
    this.inWindow = 0;
    n = min(n, <i32>s.inLen);
    if (n > 0) in_consume(s.token, <u32>n);
  }
}
