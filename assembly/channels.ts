// The channel table: tokens, asyncore state flags, interest, readiness and the ready set.
//
// A channel is "ready" when what it is ready for intersects what it is interested in.
// Every mutator ends in refresh(), which keeps the ready set exact, so a pass costs
// time in proportion to ready channels, not to all channels.
import {
  OK, E_TOKEN, E_RANGE, SLOT_BITS, SLOT_MASK, GEN_MASK, F_LIVE, F_ACCEPTING, F_EOF, F_OPEN,
  F_ALWAYS_R, F_OUTWAIT, R, W, X, C_GEN, C_FLAGS, C_INTEREST, C_HOSTREADY, C_ERRNO, C_SEQ, C_MAP, C_READYPOS,
  C_IN, C_OUT, C_INFLIGHT, C_WINDOW, C_PAUSE, C_NEXTFREE, C_TICK, C_SCAN, C_MATCH, C_TERM, C_TERMLEN, CHAN_SIZE, Q_LEN,
  DEFAULT_WINDOW, DEFAULT_PAUSE,
} from "./layout";
import { qClear } from "./queue";
import { heapRoom, poolHasRoom } from "./pool";

let table: usize = 0; // CHAN_SIZE * capacity bytes
let capacity: u32 = 0;
let used: u32 = 0; // slots ever handed out (high-water mark)
let freeSlot: i32 = -1; // head of the free-slot list
let seqCounter: u32 = 0;
export let liveCount: u32 = 0;
export let defaultWindow: u32 = DEFAULT_WINDOW;
export let defaultPause: u32 = DEFAULT_PAUSE;
export let tick: u32 = 0; // a coarse clock the host advances (idle accounting)
export let outWaiting: u32 = 0; // live channels with F_OUTWAIT
export let outWakes: u32 = 0; // times memory freed while channels waited for it

// Ready set: dense array of slots; each channel's C_READYPOS is its index or -1.
let readySlots: usize = 0;
let readyCap: u32 = 0;
export let readyCount: u32 = 0;

@inline export function rec(slot: u32): usize {
  return table + <usize>slot * CHAN_SIZE;
}

/** Slot of a live channel with this token, or -1. One compare per check, as in std. */
export function slotOf(token: i32): i32 {
  if (token <= 0) return -1;
  let slot = <u32>token & SLOT_MASK;
  if (slot >= used) return -1;
  let r = rec(slot);
  if ((load<u32>(r, C_FLAGS) & F_LIVE) == 0) return -1;
  if (load<u32>(r, C_GEN) != (<u32>token >>> SLOT_BITS)) return -1;
  return <i32>slot;
}

@inline export function tokenOf(slot: u32): i32 {
  return <i32>((load<u32>(rec(slot), C_GEN) << SLOT_BITS) | slot);
}

function grow(): bool {
  let next = capacity == 0 ? <u32>64 : capacity * 2;
  if (next > SLOT_MASK + 1 || !heapRoom(<u64>next * (CHAN_SIZE + 4))) return false;
  let t = table == 0 ? heap.alloc(<usize>next * CHAN_SIZE) : heap.realloc(table, <usize>next * CHAN_SIZE);
  memory.fill(t + <usize>capacity * CHAN_SIZE, 0, <usize>(next - capacity) * CHAN_SIZE);
  table = t;
  let rs = readySlots == 0 ? heap.alloc(<usize>next * 4) : heap.realloc(readySlots, <usize>next * 4);
  readySlots = rs;
  readyCap = next;
  capacity = next;
  return true;
}

/** Opens a channel in map `mapId` and returns its token (E_RANGE when the table is full or cannot grow). */
export function chanOpen(mapId: u32): i32 {
  let slot: u32;
  if (freeSlot >= 0) {
    slot = <u32>freeSlot;
    freeSlot = <i32>load<u32>(rec(slot), C_NEXTFREE);
  } else {
    if (used == capacity && !grow()) return E_RANGE;
    slot = used++;
  }
  let r = rec(slot);
  let gen = load<u32>(r, C_GEN) + 1; // never past GEN_MASK: chanClose retires such slots
  memory.fill(r, 0, CHAN_SIZE);
  store<u32>(r, gen, C_GEN);
  store<u32>(r, F_LIVE, C_FLAGS);
  store<u32>(r, R | W, C_INTEREST); // asyncore's default readable() and writable()
  store<u32>(r, ++seqCounter, C_SEQ);
  store<u32>(r, mapId, C_MAP);
  store<i32>(r, -1, C_READYPOS);
  store<u32>(r, defaultWindow, C_WINDOW);
  store<u32>(r, defaultPause, C_PAUSE);
  store<u32>(r, tick, C_TICK);
  liveCount++;
  return tokenOf(slot);
}

/** Frees a channel's terminator block (chanClose and chat.ts's chat_term call this): kept here so channels.ts needs nothing of chat.ts. */
export function chatRelease(r: usize): void {
  let term = <usize>load<u32>(r, C_TERM);
  if (term != 0) heap.free(term);
  store<u32>(r, 0, C_TERM);
  store<u32>(r, 0, C_TERMLEN);
  store<u32>(r, 0, C_SCAN);
  store<u32>(r, 0, C_MATCH);
}

/** Closes a channel: its buffers return to the pool and its token goes stale for good. */
export function chanClose(token: i32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  readyRemove(<u32>slot);
  qClear(r + C_IN);
  qClear(r + C_OUT);
  chatRelease(r);
  if ((load<u32>(r, C_FLAGS) & F_OUTWAIT) != 0) outWaiting--;
  store<u32>(r, 0, C_FLAGS);
  // A slot whose generations are used up is retired, so no token is ever handed out twice.
  if (load<u32>(r, C_GEN) < GEN_MASK) {
    store<u32>(r, <u32>freeSlot, C_NEXTFREE);
    freeSlot = slot;
  }
  liveCount--;
  return OK;
}

/** Bytes-ready test: readable and writable as the OS would report them. */
export function readiness(r: usize): u32 {
  let flags = load<u32>(r, C_FLAGS);
  let host = load<u32>(r, C_HOSTREADY);
  let err = load<u32>(r, C_ERRNO) != 0;
  let bits = host;
  // input AsyncChat already searched (C_SCAN) is not news: only bytes beyond it make a channel readable
  if (err || load<u32>(r, C_IN + Q_LEN) > load<u32>(r, C_SCAN) || (flags & (F_EOF | F_ALWAYS_R)) != 0) bits |= R;
  if ((flags & F_ACCEPTING) != 0) return bits & R; // accepting channels are never polled for writing
  if (err) bits |= W;
  else if ((flags & (F_OPEN | F_OUTWAIT)) == F_OPEN) { // waiting for output memory: not writable
    let pending = <u64>load<u32>(r, C_OUT + Q_LEN) + load<u32>(r, C_INFLIGHT);
    if (pending < <u64>load<u32>(r, C_WINDOW)) bits |= W;
  }
  return bits;
}

/**
 * The readiness bits a channel's interest selects: R and W as asked, and X (exceptional) whenever
 * it asks for anything, as asyncore puts every readable or writable channel in select()'s `e` set.
 * asyncore: poll2 gets X the same way (CPython's poll2 asks POLLPRI only of readable channels).
 */
@inline export function selected(ready: u32, interest: u32): u32 {
  return ready & (interest != 0 ? interest | X : 0);
}

/** Re-derives whether the channel belongs in the ready set. */
export function refresh(slot: u32): void {
  let r = rec(slot);
  let ready = selected(readiness(r), load<u32>(r, C_INTEREST)) != 0;
  let pos = load<i32>(r, C_READYPOS);
  if (ready && pos < 0) {
    store<i32>(r, <i32>readyCount, C_READYPOS);
    store<u32>(readySlots + (<usize>readyCount << 2), slot);
    readyCount++;
  } else if (!ready && pos >= 0) {
    readyRemove(slot);
  }
}

function readyRemove(slot: u32): void {
  let r = rec(slot);
  let pos = load<i32>(r, C_READYPOS);
  if (pos < 0) return;
  readyCount--;
  let last = load<u32>(readySlots + (<usize>readyCount << 2));
  store<u32>(readySlots + (<usize>pos << 2), last);
  store<i32>(rec(last), pos, C_READYPOS);
  store<i32>(r, -1, C_READYPOS);
}

@inline export function readySlotAt(i: u32): u32 {
  return load<u32>(readySlots + (<usize>i << 2));
}

/**
 * Marks (or, once it got memory, unmarks) a channel whose output the pool could not take, so
 * it stops being write-ready instead of failing every pass.
 */
export function outWait(slot: u32, waiting: bool): void {
  let r = rec(slot);
  let flags = load<u32>(r, C_FLAGS);
  if (((flags & F_OUTWAIT) != 0) == waiting) return;
  store<u32>(r, waiting ? flags | F_OUTWAIT : flags & ~F_OUTWAIT, C_FLAGS);
  if (waiting) outWaiting++;
  else outWaiting--;
  refresh(slot);
}

/** Makes the channels waiting for output memory write-ready again once the pool has room. */
export function wakeOutWaiters(): void {
  if (outWaiting == 0 || !poolHasRoom()) return;
  outWakes++;
  for (let s: u32 = 0; s < used && outWaiting > 0; s++) {
    if ((load<u32>(rec(s), C_FLAGS) & F_OUTWAIT) != 0) outWait(s, false);
  }
}

/** Sets and clears host-owned flag bits. */
export function chanSetFlags(token: i32, set: u32, clear: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  store<u32>(r, (load<u32>(r, C_FLAGS) & ~clear) | set | F_LIVE, C_FLAGS);
  refresh(<u32>slot);
  return OK;
}

/** Sets a 32-bit field of the channel record and refreshes readiness (a new map means a new seq). */
export function chanSetField(token: i32, field: usize, value: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  // Joining another map is an insertion: events follow map order, as CPython iterates its dict.
  if (field == C_MAP && load<u32>(r, C_MAP) != value) store<u32>(r, ++seqCounter, C_SEQ);
  store<u32>(r + field, value);
  refresh(<u32>slot);
  return OK;
}

/** Reads a 32-bit field of the channel record (E_TOKEN for a stale token). */
export function chanGetField(token: i32, field: usize): i64 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  return <i64>load<u32>(rec(<u32>slot) + field);
}

export function setDefaults(window: u32, pause: u32): void {
  defaultWindow = window;
  defaultPause = pause;
}

export function advanceTick(t: u32): void {
  tick = t;
}

/** Live channels in map `mapId` (0 = every map). */
export function countInMap(mapId: u32): u32 {
  let n: u32 = 0;
  for (let s: u32 = 0; s < used; s++) {
    let r = rec(s);
    if ((load<u32>(r, C_FLAGS) & F_LIVE) != 0 && (mapId == 0 || load<u32>(r, C_MAP) == mapId)) n++;
  }
  return n;
}

export function checkField(field: u32): bool {
  return field == <u32>C_INTEREST || field == <u32>C_HOSTREADY || field == <u32>C_ERRNO ||
    field == <u32>C_MAP || field == <u32>C_INFLIGHT || field == <u32>C_WINDOW || field == <u32>C_PAUSE ||
    field == <u32>C_FLAGS || field == <u32>C_SEQ || field == <u32>C_TICK || field == <u32>(C_IN + Q_LEN) ||
    field == <u32>(C_OUT + Q_LEN);
}
