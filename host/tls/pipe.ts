// The memory BIO pair under an SSLSocket (socket.ts): the Duplex a tls.TLSSocket reads ciphertext from and
// writes ciphertext to, with fast paths around Node's stream machinery (they cost more per record than
// OpenSSL's own work).
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import type * as tls from "node:tls";

/** Node's JSStreamSocket, as far as CipherPipe uses it: its handle takes ciphertext for OpenSSL. */
interface StreamWrap {
  _handle?: { readBuffer?(b: Buffer): void; finishWrite?(req: object, status: number): void } | null;
  doWrite?(req: object, bufs: Buffer[]): number;
  finishWrite?(handle: object, status: number): void;
  [key: symbol]: unknown;
}

/** A symbol-keyed field of Node's JSStreamSocket, found by its description (undefined if this Node has none). */
function wrapSymbol(wrap: StreamWrap, name: string): symbol | undefined {
  return Object.getOwnPropertySymbols(wrap).find((k) => k.description === name);
}

/**
 * The duplex TLSSocket reads ciphertext from and writes ciphertext to: the memory BIO pair.
 * Its hot paths skip the stream machinery (per record it cost more than OpenSSL's work):
 * feed() hands ciphertext straight to the TLS handle while the pipe flows with nothing queued,
 * and the TLS handle's writes (cork(), write()..., uncork(): Node's JSStreamSocket) reach
 * onWrite as one buffer, without Writable's queue. end() still runs _final() as a Duplex's.
 */
export class CipherPipe extends Duplex {
  #corked = 0;
  #batch: Buffer[] = [];
  #cbs: (() => void)[] = [];
  #wrap: StreamWrap | null = null;

  constructor(private readonly onWrite: (chunk: Buffer, cb: () => void) => void, private readonly onFinal: () => void) {
    super({ allowHalfOpen: true });
  }

  /** Finds the JS stream wrapper Node's TLSSocket put around this pipe (its handle's readBuffer() is the fast path). */
  bind(t: tls.TLSSocket): void {
    const wrap = (t as unknown as { _handle?: { _parentWrap?: StreamWrap | null } })._handle?._parentWrap;
    this.#wrap = wrap !== undefined && wrap !== null && typeof wrap._handle?.readBuffer === "function" ? wrap : null;
    if (this.#wrap !== null) this.#fastWrites(this.#wrap);
  }

  /**
   * Node's JSStreamSocket completes every ciphertext write of OpenSSL through a setImmediate; this
   * one completes it on the next tick once the wrapped socket took the bytes (same bookkeeping:
   * its current-write field, so a shutdown still waits for the write). Skipped where this Node's
   * JSStreamSocket differs.
   */
  #fastWrites(wrap: StreamWrap): void {
    const current = wrapSymbol(wrap, "kCurrentWriteRequest"), closing = wrapSymbol(wrap, "kPendingClose");
    const stock = wrap.doWrite, finish = wrap.finishWrite;
    if (current === undefined || closing === undefined || typeof stock !== "function" || typeof finish !== "function") return;
    wrap.doWrite = (req: object, bufs: Buffer[]): number => {
      const handle = wrap._handle;
      if (handle == null || wrap[closing] === true || wrap[current] !== null) return stock.call(wrap, req, bufs);
      wrap[current] = req;
      this.onWrite(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs), () => process.nextTick(() => finish.call(wrap, handle, 0)));
      return 0;
    };
  }

  /** Ciphertext from the peer, in order: straight to OpenSSL when nothing waits in the pipe. */
  feed(data: Buffer): void {
    const h = this.#wrap?._handle;
    if (h != null && this.readableFlowing === true && this.readableLength === 0) h.readBuffer!(data);
    else this.push(data);
  }

  override _read(): void {}
  override cork(): void { this.#corked++; }
  override uncork(): void {
    if (this.#corked === 0 || --this.#corked > 0 || this.#batch.length === 0) return;
    const bufs = this.#batch, cbs = this.#cbs;
    this.#batch = [];
    this.#cbs = [];
    this.onWrite(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs), cbs.length === 1 ? cbs[0] : () => { for (const cb of cbs) cb(); });
  }
  override write(chunk: unknown, enc?: unknown, cb?: unknown): boolean {
    const done = (typeof enc === "function" ? enc : typeof cb === "function" ? cb : () => {}) as () => void;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (this.#corked > 0) {
      this.#batch.push(buf);
      this.#cbs.push(done);
    } else this.onWrite(buf, done);
    return true;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.onWrite(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.onFinal();
    cb();
  }
}

