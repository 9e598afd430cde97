// SSLSocket: Python's ssl.SSLSocket over any stream Socket of either backend, on the same channel.
// (long because the TLS pump and Python's SSLSocket surface share one state machine and its private fields;
// the memory BIO pair is in pipe.ts and the wrapSocket() argument checks in wrap.ts.)
//
// The wrapped socket keeps its channel (the same fileno()) and keeps moving raw bytes through
// the core as it always does; TLS itself is Node's own OpenSSL, a tls.TLSSocket over an
// in-process Duplex (a memory BIO pair):
//
//   kernel ──► raw socket ──► core input queue ──► pumpIn: raw.recv() ──► pipe.push() ──► TLSSocket
//                                                       plaintext ◄── tls.read() ◄────────┘
//   send(plaintext) ──► tls.write() ──► pipe._write(ciphertext) ──► raw.send() ──► core ──► kernel
//
// Every readiness change of the channel (notifyReady) reaches this socket first (watchChannel),
// so ciphertext leaves the input queue as it arrives. Readiness then means plaintext:
//   R  (the channel's host-ready bit) while decrypted bytes wait, the peer closed, or an error is pending
//   W  the wrapped socket's own writability; with doHandshakeOnConnect the OPEN flag stays down
//      until the handshake is done, so handlers see a writable channel only once TLS is up.
// OpenSSL's work happens inside push() and write(), synchronously; only its write completions
// and errors arrive a tick later (Node's JS stream wrapper), and they call notifyReady too.
import { Buffer } from "node:buffer";
import * as tls from "node:tls";
import { isIP } from "node:net";
import { Socket } from "../socket/socket.js";
import { noteAccepted, type BufferLimits } from "../socket/orphans.js";
import { SOCK_STREAM, SOL_SOCKET, SO_ERROR } from "../core/constants.js";
import { SocketError, checkBytes } from "../core/errors.js";
import { FIELD, F_OPEN, F_EOF, R, W } from "../core/abi.js";
import { getEngine, type Engine } from "../core/engine.js";
import { notifyReady, watchChannel } from "../core/wake.js";
import { type Address, type AddressOf, describe, familyName } from "../core/address.js";
import { SSLError, SSLWantReadError, SSLWantWriteError, SSLEOFError, SSLCertVerificationError, sslErrorFrom } from "./errors.js";
import { peerCertDict, type PeerCertificate } from "./cert.js";
import type { SSLContext } from "./context.js";
import { CipherPipe } from "./pipe.js";
import { checkWrapArgs, type WrapOptions } from "./wrap.js";

export type { WrapOptions };

const EMPTY: Buffer = Buffer.alloc(0);
const PROTOCOL_TLS_SERVER = 17;
const CERT_NONE = 0;
const CERT_REQUIRED = 2;
const LINGER_MS = 5000; // most a closed socket waits for its close_notify to be written

/** What a completed handshake settled. */
interface Settled { version: string | null; alpn: string | null; cipher: [string, string, number] | null; der: Buffer | null; cert: PeerCertificate | null; }

type State = "tcp" | "handshake" | "open" | "shutdown" | "unwrapped" | "closed";

function checkWrap(sock: unknown, ctx: SSLContext, options: unknown): Socket {
  if (sock instanceof SSLSocket) throw new TypeError("wrapSocket(): sock is already an SSLSocket");
  return checkWrapArgs(sock, ctx, options);
}

/** A TLS connection over a stream Socket, on that socket's channel. Python: ssl.SSLSocket */
export class SSLSocket<F extends number = number> extends Socket<F> {
  /** @internal Socket's constructor opens no channel for this class: it uses the wrapped socket's. */
  static readonly wrapsChannel = true;
  /** Is this the server side? Python: SSLSocket.server_side */
  readonly serverSide: boolean;
  /** The name given to wrapSocket() (client side), else null. Python: SSLSocket.server_hostname */
  readonly serverHostname: string | null;
  /** @internal Its input is decrypted outside the core: AsyncChat frames it through recv(). */
  readonly framesInJs = true;
  readonly #raw: Socket;
  readonly #token: number;
  readonly #e: Engine;
  readonly #auto: boolean;
  readonly #suppressRagged: boolean;
  #ctx: SSLContext;
  #state: State = "tcp";
  #tls: tls.TLSSocket | null = null;
  #pipe: CipherPipe | null = null;
  #error: SSLError | null = null;
  #plain: Buffer[] = [];
  #plainLen = 0;
  #held: Buffer = EMPTY; // shutdown: ciphertext not yet given to OpenSSL (fed one record at a time)
  #preOut: Buffer[] = []; // send() before the handshake completed (doHandshakeOnConnect)
  #preLen = 0;
  #cipherOut: Buffer | null = null; // ciphertext the wrapped socket has not taken yet
  #cipherCb: (() => void) | null = null;
  #tcpUp = false;
  #rawEof = false;
  #tlsEnded = false; // the peer's close_notify arrived
  #tlsWriteDone = false; // our close_notify went to the pipe
  #attention = false; // doHandshakeOnConnect false: something changed that doHandshake()/unwrap() reports
  #hostReady = 0;
  #busy = false;
  #again = false;
  #lingerTimer: NodeJS.Timeout | null = null;
  #rawClosed = false;
  #settled: Settled | null = null;

  /** @internal Use SSLContext.wrapSocket(). */
  constructor(sock: Socket<F>, ctx: SSLContext, options: WrapOptions = {}) {
    super(checkWrap(sock, ctx, options).family as F, SOCK_STREAM);
    this.#raw = sock;
    this.#ctx = ctx;
    this.#e = getEngine();
    this.#token = sock.fileno();
    this.serverSide = options.serverSide === true;
    this.serverHostname = this.serverSide ? null : options.serverHostname ?? null;
    this.#auto = options.doHandshakeOnConnect !== false;
    this.#suppressRagged = options.suppressRaggedEofs !== false;
    if (!this.serverSide) ctx.secureContext(); // a bad setting throws here, not later in the loop
    sock.adopted = true; // this socket owns it now
    noteAccepted(this); // inside handleAccept(): closed if no dispatcher adopts it (closeOrphans)
    watchChannel(this.#token, this.#onEvent);
    notifyReady(this.#token); // runs #onEvent: an accepted or connected socket starts now; input may be waiting
  }

  // ---- the pump: everything that touches the wrapped socket runs in step() ----

  readonly #onEvent = (): void => {
    if (this.#busy) { this.#again = true; return; }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        this.#step();
      } while (this.#again);
    } finally {
      this.#busy = false;
    }
  };

  #step(): void {
    if (this.#rawClosed || this.#state === "unwrapped") return;
    const flags = this.#e.core.chan_flags(this.#token);
    if (!this.#tcpUp) {
      if ((flags & F_OPEN) === 0 || this.#state === "closed") return;
      this.#tcpUp = true;
      this.#start();
    }
    this.#pumpOut();
    if (this.#state === "closed") {
      this.#discardInput();
      if (this.#tlsWriteDone && this.#cipherOut === null) this.#finishClose();
      return;
    }
    this.#pumpIn();
    this.#syncReady();
  }

  #start(): void {
    const ctx = this.#ctx;
    const pipe = new CipherPipe((chunk, cb) => this.#onCipher(chunk, cb), () => this.#onPipeFinal());
    const alpn = ctx.alpnProtocols ?? undefined;
    let t: tls.TLSSocket;
    if (this.serverSide) {
      t = new tls.TLSSocket(pipe, {
        isServer: true, secureContext: ctx.secureContext(), requestCert: ctx.verifyMode !== CERT_NONE,
        // rejectUnauthorized: OpenSSL refuses a missing certificate; the chain is checked at 'secure'
        rejectUnauthorized: ctx.verifyMode === CERT_REQUIRED, ALPNProtocols: alpn,
        SNICallback: ctx.sniCallback !== null ? this.#sni : undefined,
      });
      t.once("secure", this.#onSecure);
    } else {
      const host = this.serverHostname;
      t = tls.connect({
        socket: pipe, secureContext: ctx.secureContext(), ALPNProtocols: alpn,
        servername: host !== null && isIP(host) === 0 ? host : undefined, host: host ?? undefined,
        rejectUnauthorized: ctx.verifyMode !== CERT_NONE,
        checkServerIdentity: ctx.checkHostname ? tls.checkServerIdentity : () => undefined,
      });
      t.once("secureConnect", this.#onSecure);
    }
    t.on("error", this.#onTlsError);
    t.on("end", this.#onTlsEnd);
    t.on("data", this.#onPlain);
    pipe.bind(t);
    this.#tls = t;
    this.#pipe = pipe;
    this.#state = "handshake";
  }

  readonly #sni = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const ctx = this.#ctx;
    try {
      const alert = ctx.sniCallback!(this, servername, ctx);
      if (typeof alert === "number") {
        cb(new SSLError(1, `sniCallback refused server name '${servername}' (alert ${alert})`, { reason: "SSLV3_ALERT_HANDSHAKE_FAILURE", library: "SSL" }));
        return;
      }
      cb(null, this.#ctx.secureContext()); // the callback may have set this.context
    } catch (err) {
      cb(err instanceof Error ? err : new Error(String(err)));
    }
  };

  readonly #onSecure = (): void => {
    const t = this.#tls;
    if (t === null || this.#state !== "handshake") return;
    if (this.serverSide && this.#ctx.verifyMode !== CERT_NONE && t.getPeerX509Certificate() !== undefined) {
      // A standalone server TLSSocket leaves the client's certificate unchecked (tls.Server checks it).
      const handle = (t as unknown as { ssl?: { verifyError?(): Error | null } }).ssl;
      const bad = handle?.verifyError?.() ?? null;
      if (bad !== null) {
        this.#fail(sslErrorFrom(bad));
        t.destroy();
        return;
      }
    }
    // What the handshake settled, read now: OpenSSL forgets the client's view of the peer chain
    // once a TLS 1.3 session ticket arrives, and the TLSSocket is gone after close().
    const x = t.getPeerX509Certificate();
    const c = t.getCipher();
    this.#settled = {
      version: t.getProtocol(), alpn: typeof t.alpnProtocol === "string" ? t.alpnProtocol : null,
      cipher: c === undefined ? null : [c.standardName ?? c.name, c.version, /256|CHACHA20/i.test(c.name) ? 256 : /128/.test(c.name) ? 128 : 0],
      der: x?.raw ?? null, cert: x === undefined ? null : peerCertDict(x),
    };
    this.#state = "open";
    this.#attention = true;
    const pre = this.#preOut;
    this.#preOut = [];
    this.#preLen = 0;
    for (const b of pre) t.write(b);
    this.#changed();
  };

  readonly #onTlsError = (err: unknown): void => {
    if (this.#state === "closed" || this.#state === "unwrapped") return;
    this.#fail(sslErrorFrom(err, this.serverHostname));
    this.#changed();
  };

  readonly #onTlsEnd = (): void => {
    this.#tlsEnded = true;
    this.#attention = true;
    this.#changed();
  };

  /** Decrypted bytes, as OpenSSL produces them (inside feed(), or a tick later for bytes queued in the pipe). */
  readonly #onPlain = (c: Buffer): void => {
    if (c.length === 0 || this.#tls === null) return;
    this.#plain.push(c);
    this.#plainLen += c.length;
    if (!this.#busy) this.#changed(); // (inside the pump, #step syncs readiness after #pumpIn)
  };

  #fail(err: SSLError): void {
    this.#error ??= err;
  }

  /** Something changed outside a pump: pump again and wake a waiting loop pass. */
  #changed(): void {
    if (this.#busy) this.#again = true;
    else notifyReady(this.#token); // calls #onEvent first (watchChannel)
  }

  // ---- ciphertext out ----

  #onCipher(chunk: Buffer, cb: () => void): void {
    if (this.#rawClosed) { cb(); return; }
    const before = this.#cipherOut, beforeCb = this.#cipherCb;
    this.#cipherOut = before === null ? chunk : Buffer.concat([before, chunk]);
    this.#cipherCb = beforeCb === null ? cb : () => { beforeCb(); cb(); };
    this.#onEvent();
  }

  #onPipeFinal(): void {
    this.#tlsWriteDone = true;
    if (this.#state === "shutdown") this.#attention = true; // unwrap() may be able to finish now
    this.#changed();
  }

  /** Hands pending ciphertext to the wrapped socket, as far as its send window goes. */
  #pumpOut(): void {
    const raw = this.#raw;
    while (this.#cipherOut !== null) {
      const out = this.#cipherOut;
      if (this.#rawRoom() <= 0 && !this.#rawFailed()) return; // (no EAGAIN error built per full window)
      let n: number;
      try {
        n = raw.send(out);
      } catch (err) {
        if (err instanceof SocketError && err.code === "EAGAIN") return;
        n = out.length; // the connection is gone: so are these bytes (its error shows on the channel)
      }
      if (n === 0) return;
      if (n < out.length) { this.#cipherOut = out.subarray(n); continue; }
      const cb = this.#cipherCb!;
      this.#cipherOut = null;
      this.#cipherCb = null;
      cb();
    }
  }

  /** Bytes send() may take now: the channel's send window less everything not yet written. */
  #room(extra: number): number {
    return this.#rawRoom() - (this.#cipherOut?.length ?? 0) - extra;
  }

  /** What is left of the wrapped socket's own send window. */
  #rawRoom(): number {
    const e = this.#e, t = this.#token;
    return e.field(t, FIELD.window) - e.field(t, FIELD.outLen) - e.field(t, FIELD.inflight);
  }

  #rawFailed(): boolean {
    return this.#e.field(this.#token, FIELD.errno) !== 0;
  }

  // ---- ciphertext in ----

  /** Moves arrived ciphertext into OpenSSL while decrypted input stays under the channel's pause bound. */
  #pumpIn(): void {
    const e = this.#e, t = this.#token;
    if (this.#tls === null || this.#error !== null) return;
    while (this.#plainLen < e.field(t, FIELD.pause) && !this.#rawEof) {
      const have = e.field(t, FIELD.inLen);
      if (have <= 0 && (e.core.chan_flags(t) & F_EOF) === 0) return;
      let data: Buffer;
      try {
        data = this.#raw.recv(have > 0 ? have : 65536);
      } catch {
        return; // EAGAIN, or the connection's error, which the channel reports itself
      }
      if (data.length === 0) {
        this.#onRawEof();
        return;
      }
      if (this.#state === "shutdown") this.#feedRecords(data);
      else {
        this.#pipe!.feed(data);
      }
    }
  }

  #onRawEof(): void {
    this.#rawEof = true;
    if (this.#state === "handshake") this.#fail(new SSLEOFError("EOF occurred in violation of protocol (the peer closed during the handshake)"));
    this.#pipe?.push(null);
  }

  /**
   * unwrap() is under way: give OpenSSL one record at a time, so bytes after the peer's
   * close_notify (plaintext again) stay out of it and go back to the wrapped socket.
   */
  #feedRecords(data: Buffer): void {
    let held = this.#held.length > 0 ? Buffer.concat([this.#held, data]) : data;
    while (!this.#tlsEnded && !this.#readEnded() && held.length >= 5) {
      const len = 5 + held.readUInt16BE(3);
      if (held.length < len) break;
      this.#pipe!.feed(held.subarray(0, len));
      held = held.subarray(len);
    }
    this.#held = held;
  }

  // Has OpenSSL reported the peer's close_notify? ('end' itself is emitted a tick later.)
  #readEnded(): boolean {
    return (this.#tls as unknown as { _readableState?: { ended?: boolean } } | null)?._readableState?.ended === true;
  }

  #discardInput(): void {
    const have = this.#e.field(this.#token, FIELD.inLen);
    if (have > 0) try { this.#raw.recv(have); } catch { /* gone */ }
  }

  /** Sets the channel's readiness from the TLS state (see the file's header). */
  #syncReady(): void {
    if (!this.#tcpUp || this.#state === "closed" || this.#state === "unwrapped") return;
    const e = this.#e, t = this.#token;
    let host = 0;
    if (this.#plainLen > 0 || this.#tlsEnded || (this.#attention && !this.#auto) || (this.#attention && this.#state === "shutdown")) host |= R;
    if (this.#error !== null) host |= R | W;
    if (host !== this.#hostReady) {
      this.#hostReady = host;
      e.setField(t, FIELD.hostReady, host);
    }
    if (this.#auto) {
      const open = (e.core.chan_flags(t) & F_OPEN) !== 0;
      const want = this.#state === "open" || this.#state === "shutdown";
      if (want !== open) e.core.chan_set_flags(t, want ? F_OPEN : 0, want ? 0 : F_OPEN);
    }
  }

  // ---- Python's SSLSocket ----

  /** The channel's token in the core, the wrapped socket's (-1 once closed or unwrapped). Python: fileno() */
  override fileno(): number {
    return this.closed ? -1 : this.#token;
  }

  /** Is the socket closed (or unwrapped)? */
  override get closed(): boolean {
    return this.#state === "closed" || this.#state === "unwrapped" || this.#raw.closed;
  }

  /** The context in use; an sniCallback may set another one for this connection. Python: SSLSocket.context */
  get context(): SSLContext { return this.#ctx; }
  /** Switches this connection to another context (from an sniCallback). */
  /** @throws TypeError when ctx is not an SSLContext. */
  set context(ctx: SSLContext) {
    if (ctx === null || typeof ctx !== "object" || typeof (ctx as SSLContext).secureContext !== "function") throw new TypeError(`context must be an SSLContext, got ${describe(ctx)}`);
    this.#ctx = ctx;
  }

  #open(what: string): void {
    if (this.closed) throw new SocketError("EBADF", `${what} on a closed SSLSocket`);
  }

  /**
   * Completes the handshake: returns once it is done; throws SSLWantReadError/SSLWantWriteError
   * while it waits for the peer or for room, the SSLError when it failed. Python: do_handshake()
   * @throws SSLWantReadError / SSLWantWriteError while the handshake waits (call again on the next event).
   * @throws SSLError (SSLCertVerificationError, SSLEOFError...) when the handshake failed.
   * @throws SocketError ENOTCONN before the connection is up, EBADF after close(), or the connection's error.
   */
  doHandshake(): void {
    this.#open("doHandshake()");
    this.#onEvent();
    this.#attention = false;
    this.#syncReady();
    if (this.#error !== null) throw this.#error;
    if (this.#state === "open") return;
    if (this.#state !== "handshake" && this.#state !== "tcp") throw new SSLError(1, "the handshake is over (the connection is shutting down)");
    const rawErr = this.#raw.pendingError();
    if (rawErr !== null) throw rawErr;
    if (this.#rawEof) throw new SSLEOFError();
    if (!this.#tcpUp) throw new SocketError("ENOTCONN", "doHandshake(): the socket is not connected yet");
    throw this.#cipherOut !== null ? new SSLWantWriteError() : new SSLWantReadError();
  }

  /**
   * Decrypted bytes (up to n); empty at the peer's close. Python: SSLSocket.recv(buflen)
   * @throws SocketError EAGAIN when nothing is decrypted yet (doHandshakeOnConnect), EBADF after close(), or the connection's error.
   * @throws SSLWantReadError when nothing is decrypted yet (doHandshakeOnConnect: false).
   * @throws SSLError when TLS failed; SSLEOFError at a ragged EOF when suppressRaggedEofs is false.
   * @throws RangeError when n is not an integer >= 0.
   */
  override recv(n: number): Buffer {
    this.#open("recv()");
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new RangeError(`recv(): bufferSize must be an integer >= 0, got ${describe(n)}`);
    if (this.#plainLen > 0 && n > 0) return this.#take(n);
    if (this.#attention) { this.#attention = false; this.#syncReady(); }
    if (this.#error !== null) throw this.#error;
    if (this.#tlsEnded) return EMPTY;
    const rawErr = this.#raw.pendingError();
    if (rawErr !== null) throw rawErr;
    if (this.#rawEof) {
      if (!this.#suppressRagged) throw new SSLEOFError();
      return EMPTY;
    }
    if (n === 0) return EMPTY;
    if (!this.#tcpUp) throw new SocketError(this.#auto ? "EAGAIN" : "ENOTCONN", "recv()");
    if (this.#state === "shutdown") return EMPTY;
    if (this.#auto) throw new SocketError("EAGAIN", "recv()");
    throw new SSLWantReadError();
  }

  #take(n: number): Buffer {
    const plain = this.#plain;
    const head = plain[0];
    let out: Buffer;
    if (head.length > n) {
      out = head.subarray(0, n);
      plain[0] = head.subarray(n);
    } else if (plain.length === 1 || head.length === n) {
      out = head;
      plain.shift();
    } else {
      let k = 0, len = 0;
      while (k < plain.length && len + plain[k].length <= n) len += plain[k++].length;
      out = Buffer.concat(plain.splice(0, k), len);
    }
    const wasOver = this.#plainLen >= this.#e.field(this.#token, FIELD.pause);
    this.#plainLen -= out.length;
    this.#attention = false;
    if (this.#plainLen === 0) this.#syncReady();
    if (wasOver) this.#changed(); // reading stopped at the pause bound: the pump goes on
    return out;
  }

  /** Decrypted bytes buffered and not yet read by recv(). Python: SSLSocket.pending() */
  pending(): number {
    return this.#plainLen;
  }

  /**
   * Encrypts and sends what the send window takes; the byte count. When nothing fits: with
   * doHandshakeOnConnect a SocketError EAGAIN (Dispatcher.send() returns 0), else SSLWantWriteError.
   * Python: SSLSocket.send(data)
   * @throws SocketError EAGAIN when the send window is full (doHandshakeOnConnect), EPIPE after unwrap() or a
   *   reset, EBADF after close().
   * @throws SSLWantWriteError when the window is full, SSLWantReadError before the handshake (doHandshakeOnConnect: false).
   * @throws SSLError when TLS failed.
   * @throws TypeError when data is not bytes.
   */
  override send(data: Uint8Array): number {
    this.#open("send()");
    checkBytes(data, "send()");
    if (this.#error !== null) throw this.#error;
    const rawErr = this.#raw.pendingError();
    if (rawErr !== null) throw new SocketError(rawErr.code === "ECONNRESET" ? "ECONNRESET" : "EPIPE", "send()");
    if (this.#state === "shutdown" || this.#tlsWriteDone) throw new SocketError("EPIPE", "send(): the TLS layer is shut down (unwrap())");
    if (data.length === 0) return 0;
    const t = this.#tls;
    const room = this.#room((t?.writableLength ?? 0) + this.#preLen);
    if (this.#state !== "open" || t === null) {
      if (!this.#auto) {
        if (!this.#tcpUp) throw new SocketError("ENOTCONN", "send(): the socket is not connected yet");
        throw new SSLWantReadError("send(): the handshake is not done");
      }
      if (room <= 0) throw new SocketError("EAGAIN", "send()");
      const n = Math.min(room, data.length);
      this.#preOut.push(Buffer.from(data.subarray(0, n))); // sent once the handshake is done
      this.#preLen += n;
      return n;
    }
    if (room <= 0) {
      if (this.#auto) throw new SocketError("EAGAIN", "send()");
      throw new SSLWantWriteError();
    }
    const n = Math.min(room, data.length);
    const part = n === data.length ? data : data.subarray(0, n);
    // OpenSSL copies what it encrypts at once; a write queued behind another keeps its buffer: copy it.
    t.write(t.writableLength === 0 ? part : Buffer.from(part));
    return n;
  }

  /**
   * Shuts TLS down (close_notify both ways) and returns the wrapped plain socket, on the same
   * channel; until both close_notify alerts are through it throws SSLWantReadError, and the
   * channel turns readable when they are (call it again then). Python: SSLSocket.unwrap()
   * @throws SSLWantReadError until both close_notify alerts are through.
   * @throws SSLError "shutdown while in init" during the handshake, or the TLS failure.
   * @throws SocketError EBADF after close().
   */
  unwrap(): Socket {
    this.#open("unwrap()");
    if (this.#error !== null) throw this.#error;
    if (this.#state === "tcp") return this.#detach();
    if (this.#state === "handshake") throw new SSLError(1, "shutdown while in init", { reason: "SHUTDOWN_WHILE_IN_INIT", library: "SSL" });
    if (this.#state === "open") {
      this.#state = "shutdown";
      this.#tls!.end(); // close_notify, after every byte send() took
    }
    this.#onEvent();
    if (this.#tlsWriteDone && this.#cipherOut === null && (this.#tlsEnded || this.#readEnded() || this.#rawEof)) return this.#detach();
    this.#attention = false;
    this.#syncReady();
    // One rule for callers: retry on the next read event (the channel turns readable once both
    // close_notify alerts are through; ours can wait a tick behind the last write).
    throw new SSLWantReadError(this.#tlsWriteDone ? "unwrap(): waiting for the peer's close_notify" : "unwrap(): our close_notify is not out yet");
  }

  #detach(): Socket {
    const e = this.#e, t = this.#token, raw = this.#raw;
    this.#state = "unwrapped";
    watchChannel(t, null);
    e.setField(t, FIELD.hostReady, 0);
    if (this.#tcpUp && !raw.closed) e.core.chan_set_flags(t, F_OPEN, 0);
    // Bytes after the peer's close_notify are the plain protocol again: back in front of the queue.
    if (this.#held.length > 0) {
      const have = e.field(t, FIELD.inLen);
      const rest = have > 0 ? e.takeIn(t, have) : EMPTY;
      const back = Buffer.concat([this.#held, rest]);
      e.pushIn(t, back, 0, back.length);
      this.#held = EMPTY;
    }
    this.#dropTls();
    notifyReady(t);
    return raw;
  }

  #dropTls(): void {
    const t = this.#tls;
    this.#tls = null;
    if (t !== null) {
      t.removeAllListeners("error");
      t.on("error", () => {}); // late errors of a socket nobody reads
      t.destroy();
    }
    this.#pipe = null;
    this.#plain = [];
    this.#plainLen = 0;
  }

  /**
   * Sends close_notify after every byte send() took, then closes the wrapped socket (which
   * delivers what it holds). Idempotent. Python: SSLSocket.close()
   */
  override close(): void {
    if (this.#state === "closed" || this.#state === "unwrapped") return;
    const graceful = this.#tls !== null && this.#state === "open" && this.#error === null && !this.#rawFailed() && !this.#raw.closed;
    this.#state = "closed";
    if (!graceful) { this.#finishClose(); return; }
    // The channel left its map: it must not count as ready while the last bytes go out.
    this.#e.setField(this.#token, FIELD.interest, 0);
    this.#e.setField(this.#token, FIELD.hostReady, 0);
    this.#lingerTimer = setTimeout(() => this.#finishClose(), LINGER_MS);
    this.#lingerTimer.unref();
    this.#tls!.end();
    this.#onEvent();
  }

  #finishClose(): void {
    if (this.#rawClosed) return;
    this.#rawClosed = true;
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
    watchChannel(this.#token, null);
    this.#dropTls();
    this.#raw.close();
  }

  /**
   * Python: SSLSocket.getpeercert(binary_form=False) — a dict as Python's, DER bytes, or null.
   * @throws RangeError before the handshake is done (Python: ValueError).
   */
  getpeercert(binaryForm = false): PeerCertificate | Buffer | null {
    const st = this.#settled;
    if (st === null) throw new RangeError("getpeercert(): handshake not done yet");
    if (st.der === null) return null;
    if (binaryForm) return st.der;
    if (this.#ctx.verifyMode === CERT_NONE) return {}; // as Python: not validated, so not decoded
    return st.cert;
  }

  /** The negotiated protocol, e.g. 'TLSv1.3' (null before the handshake). Python: SSLSocket.version() */
  version(): string | null {
    return this.#settled?.version ?? null;
  }

  /** [name, protocol, secret bits] of the cipher in use (null before the handshake). Python: SSLSocket.cipher() */
  cipher(): [string, string, number] | null {
    return this.#settled?.cipher ?? null;
  }

  /** The protocol ALPN selected, or null. Python: SSLSocket.selected_alpn_protocol() */
  selectedAlpnProtocol(): string | null {
    return this.#settled?.alpn ?? null;
  }

  // ---- the rest is the wrapped socket's ----

  /**
   * Python: socket.bind(address)
   * @throws SocketError as Socket.bind(), EBADF after close().
   */
  override bind(address: Address): void { this.#open("bind()"); this.#raw.bind(address); }
  /**
   * Python: socket.listen(backlog) — accept() then returns server-side SSLSockets.
   * @throws SocketError as Socket.listen(), EBADF after close().
   */
  override listen(backlog = 5): void { this.#open("listen()"); this.#raw.listen(backlog); }
  /**
   * Starts a connect; the handshake starts when it completes. Python: socket.connect(address)
   * @throws SocketError as Socket.connect(), EBADF after close().
   */
  override connect(address: Address): void { this.#open("connect()"); this.#raw.connect(address); }

  /** @internal accept() on a wrapped listener: the connection wrapped server-side, or null. */
  override acceptOrNull(): [Socket, Address] | null {
    this.#open("accept()");
    const raw = this.#raw;
    const pair = raw.accept === Socket.prototype.accept ? raw.acceptOrNull() : acceptOrNull(raw);
    if (pair === null) return null;
    const s = new SSLSocket(pair[0], this.#ctx, { serverSide: true, doHandshakeOnConnect: this.#auto, suppressRaggedEofs: this.#suppressRagged });
    return [s, pair[1]];
  }

  /**
   * The local address, typed by the family. Python: socket.getsockname()
   * @throws SocketError as the wrapped socket's, EBADF after close().
   */
  override getsockname(): AddressOf<F> { this.#open("getsockname()"); return this.#raw.getsockname() as AddressOf<F>; }
  /**
   * The peer's address, typed by the family. Python: socket.getpeername()
   * @throws SocketError as the wrapped socket's, EBADF after close().
   */
  override getpeername(): AddressOf<F> { this.#open("getpeername()"); return this.#raw.getpeername() as AddressOf<F>; }
  /**
   * Python: socket.setsockopt(level, option, value)
   * @throws SocketError as the wrapped socket's, EBADF after close().
   */
  override setsockopt(level: number, option: number, value: number | boolean): void { this.#open("setsockopt()"); this.#raw.setsockopt(level, option, value); }
  /**
   * Python: socket.getsockopt(level, option) — SO_ERROR also reports a failed handshake (its SSL_ERROR_* number).
   * @throws SocketError as the wrapped socket's, EBADF after close().
   */
  override getsockopt(level: number, option: number): number {
    this.#open("getsockopt()");
    if (level === SOL_SOCKET && option === SO_ERROR && this.#error !== null) return this.#error.errno;
    return this.#raw.getsockopt(level, option);
  }
  /** The pending error: the TLS failure, else the wrapped socket's. */
  override pendingError(): SocketError | null {
    return this.#error ?? this.#raw.pendingError();
  }
  /**
   * Sets the channel's send window and input pause bound (the wrapped socket's).
   * @throws SocketError as the wrapped socket's, EBADF after close().
   */
  override setBufferLimits(limits: BufferLimits = {}): void { this.#open("setBufferLimits()"); this.#raw.setBufferLimits(limits); this.#changed(); }

  /**
   * Not on a TLS socket. Python: SSLSocket.sendto raises ValueError.
   * @throws TypeError always.
   */
  override sendto(_data: Uint8Array, _address: Address): number { throw new TypeError("sendto() is not allowed on an SSLSocket"); }
  /**
   * Not on a TLS socket. Python: SSLSocket.recvfrom raises ValueError.
   * @throws TypeError always.
   */
  override recvfrom(_n: number): never { throw new TypeError("recvfrom() is not allowed on an SSLSocket"); }

  /** @internal */ override inputConsumed(): void { this.#changed(); }
  /** @internal */ override atEof(): boolean { return this.#plainLen === 0 && (this.#tlsEnded || this.#rawEof); }

  /** Python: repr(SSLSocket) */
  override toString(): string {
    const v = this.version();
    return `<SSLSocket fd=${this.fileno()}, family=${familyName(this.family)}, ${this.serverSide ? "server" : "client"}, ${this.#state}${v ? ", " + v : ""}>`;
  }
}

/** accept() of a Socket subclass with its own accept(): null instead of EAGAIN. */
function acceptOrNull(raw: Socket): [Socket, Address] | null {
  try {
    return raw.accept();
  } catch (err) {
    if (err instanceof SocketError && err.code === "EAGAIN") return null;
    throw err;
  }
}

export type { PeerCertificate };
