// The net backend's output staging buffer (host/socket/socket.ts): core output is copied into it and written from it.
import { Buffer } from "node:buffer";

// Output is copied out of the core into this buffer and written from it; a write that finishes
// inside the call (the usual case) leaves it free for the next channel, one that completes later
// keeps it and a new one is made.
export const STAGING = 65536;
// Sends of at least this many bytes on an empty output queue are written at once (sendNow).
export const DIRECT_MIN = 16384;
// Staging buffers whose write completed later, kept for the next one: a new buffer costs fresh
// pages (~8 µs of page faults per 64 KiB, more than copying into it), which bulk output paid per write.
const stagings = new WeakSet<ArrayBufferLike>();
const spareStaging: Buffer[] = [];
const MAX_SPARE_STAGING = 4;
function newStaging(): Buffer {
  const b = spareStaging.pop();
  if (b !== undefined) return b;
  const fresh = Buffer.allocUnsafeSlow(STAGING);
  stagings.add(fresh.buffer);
  return fresh;
}
/** A write of `buf` completed: a staging buffer goes back to the spares. */
export function releaseStaging(buf: Uint8Array): void {
  const ab = buf.buffer;
  if (!stagings.has(ab) || ab === staging.buffer || spareStaging.length >= MAX_SPARE_STAGING) return;
  spareStaging.push(Buffer.from(ab, 0, STAGING));
}
export let staging = newStaging();
// The last view of staging handed to write(): flushes of one size (echo, pipelined replies) reuse it.
let lastView: Uint8Array | null = null;

/** A view of the first `n` bytes of staging. */
export function stagingView(n: number): Uint8Array {
  if (lastView === null || lastView.length !== n) lastView = new Uint8Array(staging.buffer, staging.byteOffset, n);
  return lastView;
}

/** The staging buffer went to a write that completes later: later output goes to another. */
export function retireStaging(): void {
  staging = newStaging();
  lastView = null;
}
