// End-of-pass sends of the native streams in one addon call (native/batch.c sendmany).
//
// Every native stream that queued output during a pass is flushed when the pass ends; instead of
// one addon call (send) per stream, each queues its first region here and the end of the flush
// (wake.ts afterFlush) sends them all with one sendmany: one N-API crossing per pass, still one
// send(2) per stream. A single queued send goes through the plain send call. A stream that must
// send before the batch runs (close, shutdown, a forced flush) withdraws its entry first.
import { getEngine } from "../../core/engine.js";
import { afterFlush } from "../../core/wake.js";
import type { Addon } from "./addon.js";

/** What a queued send reports back to: its result (bytes sent or -errno) for `len` bytes asked. */
export interface BatchedSender {
  batchSent(n: number, len: number): void;
}

const QUAD = 4;

/** Counters (tests and benchmarks read them): sendmany calls, and the sends they carried. */
export const batchStats = { calls: 0, sends: 0 };
let list = new Int32Array(QUAD * 64);
let spare = new Int32Array(QUAD * 64);
let owners: (BatchedSender | null)[] = [];
let count = 0;
let addon: Addon | null = null;

/** Queues send(fd, core memory [ptr, ptr + len)) for the end of this flush; returns its slot. */
export function queueSend(a: Addon, owner: BatchedSender, fd: number, ptr: number, len: number): number {
  if (addon === null) { addon = a; afterFlush(runBatch); }
  if (QUAD * (count + 1) > list.length) {
    const grown = new Int32Array(list.length * 2);
    grown.set(list);
    list = grown;
    spare = new Int32Array(grown.length);
  }
  const q = QUAD * count;
  list[q] = fd;
  list[q + 1] = ptr;
  list[q + 2] = len;
  list[q + 3] = 0;
  owners[count] = owner;
  return count++;
}

/** Takes back the queued send in `slot` (its owner sends by itself now). */
export function withdrawSend(slot: number): void {
  if (slot >= count) return;
  list[QUAD * slot] = -1;
  owners[slot] = null;
}

/** Sends everything queued, one addon call, and reports each result to its owner. */
export function runBatch(): void {
  const n = count;
  if (n === 0) return;
  count = 0;
  const a = addon!;
  const taken = owners;
  const l = list;
  owners = [];
  list = spare; // an owner's report may queue again (it does not today): it must not overwrite these
  spare = l;
  if (n === 1) {
    const owner = taken[0];
    if (owner !== null) owner.batchSent(a.send(l[0], getEngine().bytes(), l[1], l[2], 0), l[2]);
    return;
  }
  a.sendmany(getEngine().bytes(), l, n);
  batchStats.calls++;
  batchStats.sends += n;
  for (let i = 0; i < n; i++) {
    const owner = taken[i];
    if (owner !== null) owner.batchSent(l[QUAD * i + 3], l[QUAD * i + 2]);
  }
}
