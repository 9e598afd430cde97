// Byte queues: chains of pooled chunks. A queue record is {head, tail, len}; an empty
// queue holds no chunk (its last chunk goes back to the pool as soon as it drains).
import { Q_HEAD, Q_TAIL, Q_LEN, K_NEXT, K_START, K_END, K_DATA } from "./layout";
import { chunkAlloc, chunkAllocInput, chunkFree, chunkSize } from "./pool";

/** Contiguous length that goes with the pointer the last reserve/peek returned. */
export let resultLen: u32 = 0;

/**
 * Pointer to up to `want` writable bytes at the queue's tail (0 when the pool is at its cap;
 * an input queue stops at three quarters of it).
 */
export function qReserve(q: usize, want: u32, input: bool = false): usize {
  let tail = <usize>load<u32>(q, Q_TAIL);
  if (tail != 0) {
    let end = load<u32>(tail, K_END);
    if (end < chunkSize) {
      resultLen = min(want, chunkSize - end);
      return tail + K_DATA + end;
    }
  }
  let c = input ? chunkAllocInput() : chunkAlloc();
  if (c == 0) { resultLen = 0; return 0; }
  if (tail != 0) store<u32>(tail, <u32>c, K_NEXT);
  else store<u32>(q, <u32>c, Q_HEAD);
  store<u32>(q, <u32>c, Q_TAIL);
  resultLen = min(want, chunkSize);
  return c + K_DATA;
}

/** Where the next reserved byte would go: just past the tail chunk's bytes (0 when no chunk). */
export function qTailPtr(q: usize): usize {
  let tail = <usize>load<u32>(q, Q_TAIL);
  return tail == 0 ? 0 : tail + K_DATA + load<u32>(tail, K_END);
}

/**
 * Marks `n` bytes written at the last reserved position. The caller bounds n by resultLen.
 * Committing 0 to an empty queue (a read that found nothing) returns its reserved chunk.
 */
export function qCommit(q: usize, n: u32): void {
  if (n == 0 && load<u32>(q, Q_LEN) == 0) { qClear(q); return; }
  let tail = <usize>load<u32>(q, Q_TAIL);
  store<u32>(tail, load<u32>(tail, K_END) + n, K_END);
  store<u32>(q, load<u32>(q, Q_LEN) + n, Q_LEN);
}

/** Pointer to the first contiguous run of queued bytes; its length in resultLen (0 if empty). */
export function qPeek(q: usize): usize {
  let head = <usize>load<u32>(q, Q_HEAD);
  if (head == 0) { resultLen = 0; return 0; }
  let start = load<u32>(head, K_START);
  resultLen = load<u32>(head, K_END) - start;
  return head + K_DATA + start;
}

/** Drops up to `n` bytes from the front; returns how many were dropped. */
export function qConsume(q: usize, n: u32): u32 {
  let left = n;
  let head = <usize>load<u32>(q, Q_HEAD);
  while (left > 0 && head != 0) {
    let start = load<u32>(head, K_START);
    let end = load<u32>(head, K_END);
    let take = min(left, end - start);
    start += take;
    left -= take;
    if (start == end) {
      // drained: the chunk goes back to the pool (even the tail, so idle queues hold nothing)
      let next = <usize>load<u32>(head, K_NEXT);
      chunkFree(head);
      head = next;
      store<u32>(q, <u32>head, Q_HEAD);
      if (head == 0) store<u32>(q, 0, Q_TAIL);
    } else {
      store<u32>(head, start, K_START);
    }
  }
  let done = n - left;
  let len = load<u32>(q, Q_LEN) - done;
  store<u32>(q, len, Q_LEN);
  if (len == 0 && head != 0) qClear(q); // only empty reserved chunks are left: an idle queue holds none
  return done;
}

/** Byte at offset `i` from the front (the caller checks i < len). */
export function qByteAt(q: usize, i: u32): u8 {
  let c = <usize>load<u32>(q, Q_HEAD);
  while (c != 0) {
    let start = load<u32>(c, K_START);
    let n = load<u32>(c, K_END) - start;
    if (i < n) return load<u8>(c + K_DATA + start + i);
    i -= n;
    c = <usize>load<u32>(c, K_NEXT);
  }
  return 0;
}

/** Frees every chunk of the queue. */
export function qClear(q: usize): void {
  let c = <usize>load<u32>(q, Q_HEAD);
  while (c != 0) {
    let next = <usize>load<u32>(c, K_NEXT);
    chunkFree(c);
    c = next;
  }
  store<u32>(q, 0, Q_HEAD);
  store<u32>(q, 0, Q_TAIL);
  store<u32>(q, 0, Q_LEN);
}

/** Zeroes resultLen (a failed reserve or peek returns no run). */
export function clearResult(): void { resultLen = 0; }
