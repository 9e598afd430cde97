// DispatcherWithSend: asyncore.dispatcher_with_send — a Dispatcher with an application output buffer.
import { Buffer } from "node:buffer";
import { checkBytes } from "../core/errors.js";
import { Dispatcher } from "./dispatcher.js";
import { defaultInterest } from "./map.js";

const EMPTY = Buffer.alloc(0);

/** A dispatcher with an application output buffer. Python: asyncore.dispatcher_with_send */
export class DispatcherWithSend extends Dispatcher {
  #out: Buffer = EMPTY;
  #sending = false; // inside send(): the queue's emptiness goes to the core once, when it returns
  /** Bytes waiting to be sent. Python: dispatcher_with_send.out_buffer */
  get outBuffer(): Buffer { return #out in this ? this.#out : EMPTY; } // read by the base constructor before fields exist
  /** Replaces the bytes waiting to be sent. */
  set outBuffer(data: Buffer) {
    const was = this.#out.length > 0;
    this.#out = data;
    if (was !== data.length > 0 && !this.#sending) this.interestChanged();
  }
  /** Sends at most 64 KiB of outBuffer. Python: dispatcher_with_send.initiate_send() */
  initiateSend(): void {
    const out = this.outBuffer;
    const n = super.send(out.length <= 65536 ? out : out.subarray(0, 65536));
    this.outBuffer = n === out.length ? EMPTY : out.subarray(n);
  }
  override handleWrite(): void {
    this.initiateSend();
  }
  override writable(): boolean {
    return !this.connected || this.outBuffer.length > 0;
  }
  /**
   * Appends to outBuffer and starts sending; returns the bytes accepted (all of them).
   * Python: dispatcher_with_send.send(data) (which returns None).
   */
  override send(data: Uint8Array): number {
    checkBytes(data, "send()");
    if (this.debug) this.logInfo(`sending ${JSON.stringify(Buffer.from(data).toString("latin1"))}`);
    const queued = this.outBuffer;
    if (queued.length > 0) {
      this.outBuffer = Buffer.concat([queued, data]);
      this.initiateSend();
      return data.length;
    }
    // Nothing queued: initiateSend() gets the caller's bytes as they are (it usually takes them
    // all), and only what it leaves is copied, so later changes to `data` cannot reach the queue.
    // The queue usually goes from empty to empty: the core hears of its emptiness once, at the
    // end, and only when it changed (handlers see outBuffer as CPython's would meanwhile).
    const outer = this.#sending;
    this.#sending = true;
    this.outBuffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    try {
      this.initiateSend();
    } finally {
      this.#sending = outer;
      const rest = this.outBuffer;
      if (rest.length > 0 && rest.buffer === data.buffer) this.outBuffer = Buffer.from(rest);
      if (rest.length > 0 && !outer) this.interestChanged();
    }
    return data.length;
  }
}
// The core tracks a DispatcherWithSend's writability itself (interestChanged), so channels that
// keep its writable() are not asked each pass: 10,000 idle ones cost nothing.
defaultInterest.add(DispatcherWithSend.prototype.writable);
