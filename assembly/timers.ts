// Timers: one binary min-heap per channel map over monotonic deadlines (f64 ms, the host's clock).
//
// A timer id is a token like a channel's (generation << SLOT_BITS | slot), so a stale id is
// rejected, never confused with a newer timer. Cancelling is lazy: the slot is freed at once and
// its heap entry becomes stale (its token no longer matches a live slot, or the slot's seq moved
// on after a reset); stale entries are dropped when they reach the top, and the heap is compacted
// when they dominate it. Ties on a deadline fire in scheduling order (the seq), so two timers
// scheduled for the same instant run in the order they were created or last reset.
import { OK, E_TOKEN, E_RANGE, E_NOMEM, SLOT_BITS, SLOT_MASK, GEN_MASK } from "./layout";

// Timer record, one per slot:
//
//   0        4        8        12       16                20                24
//   +--------+--------+--------+--------+-----------------+-----------------+
//   | gen    | live   | mapId  |nextFree| seq (u64)                         |
//   +--------+--------+--------+--------+-----------------------------------+
//   24: deadline (f64 ms)
@inline const T_GEN: usize = 0;
@inline const T_LIVE: usize = 4;
@inline const T_MAP: usize = 8;
@inline const T_NEXTFREE: usize = 12;
@inline const T_SEQ: usize = 16;
@inline const T_DEADLINE: usize = 24;
@inline const TIMER_SIZE: usize = 32;

// Heap entry: a copy of the key, so ordering never needs the record.
//
//   0                 8                 16       20       24
//   +-----------------+-----------------+--------+--------+
//   | deadline (f64)  | seq (u64)       | token  | (pad)  |
//   +-----------------+-----------------+--------+--------+
@inline const H_DEADLINE: usize = 0;
@inline const H_SEQ: usize = 8;
@inline const H_TOKEN: usize = 16;
@inline const ENTRY_SIZE: usize = 24;

/** Most ids one timer_pop_due call writes. */
@inline export const TIMER_BATCH: u32 = 1024;
// Compact when more than this many entries are stale and they are more than half the heap.
@inline const COMPACT_MIN: u32 = 512;

class TimerHeap {
  buf: usize = 0;
  len: u32 = 0;
  cap: u32 = 0;
  stale: u32 = 0; // entries whose timer was cancelled or reset
  live: u32 = 0; // armed timers of this map
}

let table: usize = 0;
let capacity: u32 = 0;
let used: u32 = 0;
let freeSlot: i32 = -1;
let seqCounter: u64 = 0;
let liveTotal: u32 = 0;
let ids: usize = 0; // TIMER_BATCH i32 ids written by timer_pop_due
const heaps = new Map<u32, TimerHeap>();

@inline function trec(slot: u32): usize {
  return table + <usize>slot * TIMER_SIZE;
}

@inline function entry(h: TimerHeap, i: u32): usize {
  return h.buf + <usize>i * ENTRY_SIZE;
}

function timerSlot(id: i32): i32 {
  if (id <= 0) return -1;
  let slot = <u32>id & SLOT_MASK;
  if (slot >= used) return -1;
  let r = trec(slot);
  if (load<u32>(r, T_LIVE) == 0 || load<u32>(r, T_GEN) != (<u32>id >>> SLOT_BITS)) return -1;
  return <i32>slot;
}

function growTable(): bool {
  let next = capacity == 0 ? <u32>64 : capacity * 2;
  if (next > SLOT_MASK + 1) return false;
  let t = table == 0 ? heap.alloc(<usize>next * TIMER_SIZE) : heap.realloc(table, <usize>next * TIMER_SIZE);
  memory.fill(t + <usize>capacity * TIMER_SIZE, 0, <usize>(next - capacity) * TIMER_SIZE);
  table = t;
  capacity = next;
  return true;
}

function freeTimer(slot: u32): void {
  let r = trec(slot);
  store<u32>(r, 0, T_LIVE);
  store<u32>(r, <u32>freeSlot, T_NEXTFREE);
  freeSlot = <i32>slot;
  liveTotal--;
}

// ---- the heap ----------------------------------------------------------------------------

@inline function less(a: usize, b: usize): bool {
  let da = load<f64>(a, H_DEADLINE), db = load<f64>(b, H_DEADLINE);
  return da < db || (da == db && load<u64>(a, H_SEQ) < load<u64>(b, H_SEQ));
}

function swap(a: usize, b: usize): void {
  let d = load<f64>(a, H_DEADLINE), s = load<u64>(a, H_SEQ), t = load<i32>(a, H_TOKEN);
  store<f64>(a, load<f64>(b, H_DEADLINE), H_DEADLINE);
  store<u64>(a, load<u64>(b, H_SEQ), H_SEQ);
  store<i32>(a, load<i32>(b, H_TOKEN), H_TOKEN);
  store<f64>(b, d, H_DEADLINE);
  store<u64>(b, s, H_SEQ);
  store<i32>(b, t, H_TOKEN);
}

function siftUp(h: TimerHeap, i: u32): void {
  while (i > 0) {
    let parent = (i - 1) >> 1;
    if (!less(entry(h, i), entry(h, parent))) break;
    swap(entry(h, i), entry(h, parent));
    i = parent;
  }
}

function siftDown(h: TimerHeap, i: u32): void {
  let n = h.len;
  while (true) {
    let l: u32 = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    if (l + 1 < n && less(entry(h, l + 1), entry(h, l))) m = l + 1;
    if (!less(entry(h, m), entry(h, i))) break;
    swap(entry(h, m), entry(h, i));
    i = m;
  }
}

function push(h: TimerHeap, deadline: f64, seq: u64, token: i32): bool {
  if (h.len == h.cap) {
    let next = h.cap == 0 ? <u32>16 : h.cap * 2;
    h.buf = h.buf == 0 ? heap.alloc(<usize>next * ENTRY_SIZE) : heap.realloc(h.buf, <usize>next * ENTRY_SIZE);
    h.cap = next;
  }
  let e = entry(h, h.len);
  store<f64>(e, deadline, H_DEADLINE);
  store<u64>(e, seq, H_SEQ);
  store<i32>(e, token, H_TOKEN);
  h.len++;
  siftUp(h, h.len - 1);
  return true;
}

function removeTop(h: TimerHeap): void {
  h.len--;
  if (h.len > 0) {
    memory.copy(entry(h, 0), entry(h, h.len), ENTRY_SIZE);
    siftDown(h, 0);
  }
}

/** Does this entry still stand for an armed timer? */
function valid(e: usize): bool {
  let slot = timerSlot(load<i32>(e, H_TOKEN));
  return slot >= 0 && load<u64>(trec(<u32>slot), T_SEQ) == load<u64>(e, H_SEQ);
}

/** Drops stale entries and rebuilds the heap bottom-up (O(n)). */
function compact(h: TimerHeap): void {
  let n: u32 = 0;
  for (let i: u32 = 0; i < h.len; i++) {
    let e = entry(h, i);
    if (!valid(e)) continue;
    if (n != i) memory.copy(entry(h, n), e, ENTRY_SIZE);
    n++;
  }
  h.len = n;
  h.stale = 0;
  if (n > 1) for (let i = <i32>(n >> 1) - 1; i >= 0; i--) siftDown(h, <u32>i);
}

function markStale(h: TimerHeap): void {
  h.stale++;
  if (h.stale > COMPACT_MIN && h.stale * 2 > h.len) compact(h);
}

/** Frees a map's heap once it holds no armed timer (maps come and go). */
function releaseIfIdle(mapId: u32, h: TimerHeap): void {
  if (h.live != 0) return;
  if (h.buf != 0) heap.free(h.buf);
  heaps.delete(mapId);
}

/** Drops stale entries from the top; returns false when the heap is empty. */
function settleTop(h: TimerHeap): bool {
  while (h.len > 0) {
    if (valid(entry(h, 0))) return true;
    removeTop(h);
    h.stale--;
  }
  return false;
}

@inline function goodDeadline(d: f64): bool {
  return d >= 0 && d < Infinity; // false for NaN too
}

// ---- exports (index.ts re-exports them under their ABI names) -------------------------------

/** Arms a timer in map `mapId` (non-zero) at `deadline` ms; returns its id, E_RANGE or E_NOMEM. */
export function timerAdd(mapId: u32, deadline: f64): i32 {
  if (mapId == 0 || !goodDeadline(deadline)) return E_RANGE;
  let slot: u32;
  if (freeSlot >= 0) {
    slot = <u32>freeSlot;
    freeSlot = <i32>load<u32>(trec(slot), T_NEXTFREE);
  } else {
    if (used == capacity && !growTable()) return E_NOMEM;
    slot = used++;
  }
  let r = trec(slot);
  let gen = (load<u32>(r, T_GEN) + 1) & GEN_MASK;
  if (gen == 0) gen = 1;
  let seq = ++seqCounter;
  store<u32>(r, gen, T_GEN);
  store<u32>(r, 1, T_LIVE);
  store<u32>(r, mapId, T_MAP);
  store<u64>(r, seq, T_SEQ);
  store<f64>(r, deadline, T_DEADLINE);
  liveTotal++;
  let h: TimerHeap;
  if (heaps.has(mapId)) h = heaps.get(mapId);
  else { h = new TimerHeap(); heaps.set(mapId, h); }
  let id = <i32>((gen << SLOT_BITS) | slot);
  push(h, deadline, seq, id);
  h.live++;
  return id;
}

/** Cancels an armed timer (its id goes stale); E_TOKEN when it already fired or was cancelled. */
export function timerCancel(id: i32): i32 {
  let slot = timerSlot(id);
  if (slot < 0) return E_TOKEN;
  let mapId = load<u32>(trec(<u32>slot), T_MAP);
  freeTimer(<u32>slot);
  let h = heaps.get(mapId);
  h.live--;
  markStale(h);
  releaseIfIdle(mapId, h);
  return OK;
}

/** Moves an armed timer to a new deadline; it then ties after everything already scheduled. */
export function timerReset(id: i32, deadline: f64): i32 {
  if (!goodDeadline(deadline)) return E_RANGE;
  let slot = timerSlot(id);
  if (slot < 0) return E_TOKEN;
  let r = trec(<u32>slot);
  let h = heaps.get(load<u32>(r, T_MAP));
  let seq = ++seqCounter;
  store<u64>(r, seq, T_SEQ);
  store<f64>(r, deadline, T_DEADLINE);
  push(h, deadline, seq, id);
  markStale(h);
  return OK;
}

/** The nearest deadline of map `mapId`'s armed timers, or -1 when it has none. */
export function timerNext(mapId: u32): f64 {
  if (!heaps.has(mapId)) return -1;
  let h = heaps.get(mapId);
  return settleTop(h) ? load<f64>(entry(h, 0), H_DEADLINE) : -1;
}

/**
 * Takes up to `max` timers of `mapId` whose deadline is <= `now`, in firing order, writes their
 * ids at timer_ids_ptr() and returns the count (E_RANGE for a bad argument). Fired ids go stale.
 */
export function timerPopDue(mapId: u32, now: f64, max: u32): i32 {
  if (now != now || max > TIMER_BATCH) return E_RANGE;
  if (ids == 0) ids = heap.alloc(<usize>TIMER_BATCH * 4);
  if (!heaps.has(mapId)) return 0;
  let h = heaps.get(mapId);
  let n: u32 = 0;
  while (n < max && settleTop(h)) {
    let top = entry(h, 0);
    if (load<f64>(top, H_DEADLINE) > now) break;
    let id = load<i32>(top, H_TOKEN);
    store<i32>(ids + (<usize>n << 2), id);
    n++;
    freeTimer(<u32>timerSlot(id));
    removeTop(h);
    h.live--;
  }
  releaseIfIdle(mapId, h);
  return <i32>n;
}

/** Cancels every armed timer of `mapId`; returns how many there were. */
export function timerCancelMap(mapId: u32): i32 {
  if (!heaps.has(mapId)) return 0;
  let h = heaps.get(mapId);
  let n: u32 = 0;
  for (let i: u32 = 0; i < h.len; i++) {
    let e = entry(h, i);
    if (!valid(e)) continue;
    freeTimer(<u32>timerSlot(load<i32>(e, H_TOKEN)));
    n++;
  }
  h.live = 0;
  h.len = 0;
  h.stale = 0;
  releaseIfIdle(mapId, h);
  return <i32>n;
}

/** Armed timers in map `mapId` (0 = in every map). */
export function timerCount(mapId: u32): u32 {
  if (mapId == 0) return liveTotal;
  return heaps.has(mapId) ? heaps.get(mapId).live : 0;
}

/** Heap entries of `mapId`, stale ones included (to watch compaction). */
export function timerHeapLen(mapId: u32): u32 {
  return heaps.has(mapId) ? heaps.get(mapId).len : 0;
}

/** Where timer_pop_due writes ids. */
export function timerIdsPtr(): usize {
  if (ids == 0) ids = heap.alloc(<usize>TIMER_BATCH * 4);
  return ids;
}
