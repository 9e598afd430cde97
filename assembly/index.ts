// wasyncore core: the exports the host calls (names are WASI-style area_verb; host/abi.ts lists them).
// Every token, length and field number that comes in is checked; errors are negative codes.
import {
  OK, E_TOKEN, E_RANGE, E_NOMEM, E_STATE, E_NOTFOUND, F_HOST_FLAGS, R, W, X, POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP,
  MODE_SELECT, MODE_POLL2, C_FLAGS, C_INTEREST, C_ERRNO, C_SEQ, C_MAP, C_IN, C_OUT, C_PAUSE, C_TICK,
  Q_LEN, Q_TAIL, K_END, EVENT_SIZE, SCRATCH_PAIRS,
} from "./layout";
import { qReserve, qCommit, qPeek, qConsume, qTailPtr, resultLen, clearResult } from "./queue";
import { chatSetTerm, chatFind, chatConsumed, chatHeld, chatHold, chatScanned, chatInfo } from "./chat";
import { inputChunkRoom, poolConfigure, chunksLive, chunksFree, bytesAllocated, chunkSize, memoryCap, poolTrim, heapRoom, poolHasRoom } from "./pool";
import {
  rec, slotOf, chanOpen, chanClose, refresh, readiness, chanSetFlags, chanSetField, chanGetField,
  checkField, selected, readyCount, readySlotAt, tokenOf, liveCount, setDefaults, advanceTick, countInMap, tick,
  outWait, wakeOutWaiters, outWaiting, outWakes,
} from "./channels";
import {
  timerAdd, timerCancel, timerReset, timerNext, timerPopDue, timerCancelMap, timerCount, timerHeapLen, timerIdsPtr,
} from "./timers";

let scratch: usize = 0; // SCRATCH_PAIRS * 8 bytes: {token, interest} pairs from the host
let events: usize = 0;
let eventsCap: u32 = 0;
let sortBuf: usize = 0;
let reservedToken: i32 = 0; // the last in/out reservation, so commit can check it
let reservedLen: u32 = 0;
let reservedDir: usize = 0;
let reservedPtr: usize = 0;
let eventsTotal: u64 = 0;
let bytesIn: u64 = 0;
let bytesOut: u64 = 0;

/** Sets engine-wide limits; returns E_RANGE when a value is unusable. */
export function engine_init(chunk: u32, cap: u32, window: u32, pause: u32): i32 {
  ensureScratch();
  if (window == 0 || pause == 0) return E_RANGE;
  if (!poolConfigure(chunk, cap)) return E_RANGE;
  setDefaults(window, pause);
  wakeOutWaiters(); // a higher cap may make room for output
  return OK;
}

function ensureScratch(): usize {
  if (scratch == 0) scratch = heap.alloc(<usize>SCRATCH_PAIRS * 8);
  return scratch;
}

/** Pointer to the interest scratch area ({token, interest} u32 pairs). */
export function scratch_ptr(): usize { return ensureScratch(); }
export function scratch_pairs(): u32 { return SCRATCH_PAIRS; }

/** Length that goes with the pointer the last *_reserve or *_peek returned. */
export function result_len(): u32 { return resultLen; }

/** Opens a channel; the pass's event queue grows here, so engine_poll never allocates. */
export function chan_open(mapId: u32): i32 {
  let token = chanOpen(mapId);
  if (token > 0 && !ensureEvents(liveCount * 3 + 1)) {
    chanClose(token);
    return E_NOMEM;
  }
  return token;
}
export function chan_close(token: i32): i32 {
  let rc = chanClose(token);
  wakeOutWaiters(); // its queues went back to the pool
  return rc;
}

/** The channel's flags, or E_TOKEN. */
export function chan_flags(token: i32): i32 {
  let v = chanGetField(token, C_FLAGS);
  return <i32>v;
}

/** Sets and clears host-owned flags (connected, accepting, connecting, closing, eof, open, ...). */
export function chan_set_flags(token: i32, set: u32, clear: u32): i32 {
  if (((set | clear) & ~F_HOST_FLAGS) != 0) return E_RANGE;
  return chanSetFlags(token, set, clear);
}

/** Reads a record field (byte offset from layout.ts). Returns -1 - code on error as f64. */
export function chan_get(token: i32, field: u32): f64 {
  if (!checkField(field)) return <f64>E_RANGE;
  return <f64>chanGetField(token, field);
}

/** Writes a host-owned record field (interest, hostReady, errno, map, inflight, window, pause, tick). */
export function chan_set(token: i32, field: u32, value: u32): i32 {
  if (!checkField(field) || field == <u32>C_FLAGS || field == <u32>C_SEQ ||
      field == <u32>(C_IN + Q_LEN) || field == <u32>(C_OUT + Q_LEN)) return E_RANGE;
  if (field == <u32>C_INTEREST && (value & ~(R | W)) != 0) return E_RANGE;
  return chanSetField(token, field, value);
}

/** Applies `n` {token, interest} pairs from the scratch area; returns how many tokens were stale. */
export function interest_commit(n: u32): i32 {
  if (n > SCRATCH_PAIRS) return E_RANGE;
  let scratch = ensureScratch();
  let stale = 0;
  for (let i: u32 = 0; i < n; i++) {
    let p = scratch + (<usize>i << 3);
    let slot = slotOf(load<i32>(p));
    if (slot < 0) { stale++; continue; }
    store<u32>(rec(<u32>slot), load<u32>(p, 4) & (R | W), C_INTEREST);
    refresh(<u32>slot);
  }
  return stale;
}

/** Is the channel in the ready set? (1/0, or E_TOKEN) */
export function chan_ready(token: i32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  return selected(readiness(rec(<u32>slot)), load<u32>(rec(<u32>slot), C_INTEREST)) != 0 ? 1 : 0;
}

// ---- byte queues -------------------------------------------------------------------------

function reserve(token: i32, want: u32, dir: usize): usize {
  reservedToken = 0;
  let slot = slotOf(token);
  if (slot < 0 || want == 0) { return 0; }
  let r = rec(<u32>slot);
  let p = qReserve(r + dir, want, dir == C_IN);
  if (p != 0) { reservedToken = token; reservedLen = resultLen; reservedDir = dir; }
  return p;
}

// Remembers where the reservation points (commit checks it is still the queue's tail); a
// failed reserve leaves no run behind in result_len.
function reserveChecked(token: i32, want: u32, dir: usize): usize {
  let p = reserve(token, want, dir);
  reservedPtr = p;
  if (p == 0) clearResult();
  // Output the pool cannot take makes the channel unwritable until memory frees (no busy loop).
  if (dir == C_OUT && want != 0) {
    let slot = slotOf(token);
    if (slot >= 0) outWait(<u32>slot, p == 0);
  }
  return p;
}

// A reservation holds only while its bytes are still the queue's next write position: a
// consume that drained (and freed) the tail chunk, or a close, voids it.
function commit(token: i32, n: u32, dir: usize): i32 {
  if (token != reservedToken || dir != reservedDir) return E_TOKEN;
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let q = rec(<u32>slot) + dir;
  if (qTailPtr(q) != reservedPtr) { reservedToken = 0; return E_STATE; }
  if (n > reservedLen) return E_RANGE;
  reservedToken = 0;
  qCommit(q, n);
  refresh(<u32>slot);
  return OK;
}

/** Space for incoming bytes at the tail of the input queue (0 = pool at its cap or bad token). */
export function in_reserve(token: i32, want: u32): usize { return reserveChecked(token, want, C_IN); }

/** Input bytes the channel could take right now without pausing for memory (tail room + new chunks). */
export function in_room(token: i32): f64 {
  let slot = slotOf(token);
  if (slot < 0) return <f64>E_TOKEN;
  let tail = <usize>load<u32>(rec(<u32>slot) + C_IN, Q_TAIL);
  let room: u64 = inputChunkRoom();
  if (tail != 0) room += <u64>(chunkSize - load<u32>(tail, K_END));
  return <f64>room;
}

/** Commits `n` received bytes; returns 1 when the queue has reached its pause bound. */
export function in_commit(token: i32, n: u32): i32 {
  let rc = commit(token, n, C_IN);
  if (rc < 0) return rc;
  bytesIn += n;
  let r = rec(<u32>slotOf(token));
  store<u32>(r, tick, C_TICK); // bytes arriving count as activity (idle timeouts)
  return load<u32>(r, C_IN + Q_LEN) >= load<u32>(r, C_PAUSE) ? 1 : 0;
}

/** First contiguous run of received bytes (length in result_len). */
export function in_peek(token: i32): usize {
  let slot = slotOf(token);
  if (slot < 0) { clearResult(); return 0; }
  return qPeek(rec(<u32>slot) + C_IN);
}

/**
 * Drops `n` received bytes; returns 1 when the queue has drained to half its pause bound or less
 * (resume reading). The gap between pausing (at the bound) and resuming (at half) keeps a reader
 * that takes a little per pass from stopping and restarting the socket on every pass.
 */
export function in_consume(token: i32, n: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  if (n > load<u32>(r, C_IN + Q_LEN)) return E_RANGE;
  qConsume(r + C_IN, n);
  chatConsumed(r, n);
  store<u32>(r, tick, C_TICK);
  refresh(<u32>slot);
  wakeOutWaiters();
  return load<u32>(r, C_IN + Q_LEN) <= (load<u32>(r, C_PAUSE) >> 1) ? 1 : 0;
}

/** Space at the tail of the output queue (0 = pool at its cap or bad token); the host bounds it by the send window. */
export function out_reserve(token: i32, want: u32): usize { return reserveChecked(token, want, C_OUT); }

export function out_commit(token: i32, n: u32): i32 {
  let rc = commit(token, n, C_OUT);
  if (rc >= 0) store<u32>(rec(<u32>slotOf(token)), tick, C_TICK);
  return rc;
}

export function out_peek(token: i32): usize {
  let slot = slotOf(token);
  if (slot < 0) { clearResult(); return 0; }
  return qPeek(rec(<u32>slot) + C_OUT);
}

/**
 * May the host write `n` bytes to the socket straight from the application's data, past the
 * output queue (a large send on an empty queue)? Only where the queue could have taken a chunk,
 * so output stops at the memory cap the same way (the channel waits for memory, unwritable):
 * returns 1 and counts the bytes (activity, bytesOut), or 0.
 */
export function out_direct(token: i32, n: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let room = poolHasRoom();
  outWait(<u32>slot, !room);
  if (!room) return 0;
  store<u32>(rec(<u32>slot), tick, C_TICK);
  bytesOut += n;
  return 1;
}

export function out_consume(token: i32, n: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  if (n > load<u32>(r, C_OUT + Q_LEN)) return E_RANGE;
  qConsume(r + C_OUT, n);
  bytesOut += n;
  refresh(<u32>slot);
  wakeOutWaiters();
  return OK;
}

// ---- AsyncChat framing (assembly/chat.ts) ---------------------------------------------------

/** Sets the channel's terminator to the first `len` bytes of the scratch area (0 = none). */
export function chat_term(token: i32, len: u32): i32 {
  return chatSetTerm(token, scratch, len);
}

/**
 * Offset of the terminator in the first `limit` input bytes, or E_NOTFOUND with the
 * hold-back (the terminator prefix the window ends with) in result_len.
 */
export function chat_find(token: i32, limit: u32): i32 {
  let rc = chatFind(token, limit);
  if (rc == E_NOTFOUND) resultLen = chatHold;
  return rc;
}

/** Input bytes already searched: asynchat's ac_in_buffer, not readable news (or E_TOKEN). */
export function chat_held(token: i32): i32 { return chatHeld(token); }

/** Pointer to {front u32, contiguous u32}: where the input queue starts after a chat_find found. */
export function chat_info(): usize { return chatInfo; }

/** Input bytes chat_find has examined since the engine started. */
export function chat_scanned(): f64 { return <f64>chatScanned; }

/** Advances the coarse clock used for last-activity stamps. */
export function engine_tick(t: u32): void { advanceTick(t); }

// ---- timers (timers.ts) ------------------------------------------------------------------

/** Arms a timer of map `mapId` at `deadline` (monotonic ms); returns its id or an error code. */
export function timer_add(mapId: u32, deadline: f64): i32 { return timerAdd(mapId, deadline); }
/** Cancels an armed timer; E_TOKEN for a stale id. */
export function timer_cancel(id: i32): i32 { return timerCancel(id); }
/** Re-arms an armed timer at a new deadline; E_TOKEN for a stale id. */
export function timer_reset(id: i32, deadline: f64): i32 { return timerReset(id, deadline); }
/** Nearest deadline of the map's armed timers, or -1. */
export function timer_next(mapId: u32): f64 { return timerNext(mapId); }
/** Takes up to `max` due timers of the map, in firing order, into timer_ids_ptr(); returns the count. */
export function timer_pop_due(mapId: u32, now: f64, max: u32): i32 { return timerPopDue(mapId, now, max); }
/** Cancels every armed timer of the map; returns how many. */
export function timer_cancel_map(mapId: u32): i32 { return timerCancelMap(mapId); }
/** Armed timers of the map (0 = all maps). */
export function timer_count(mapId: u32): u32 { return timerCount(mapId); }
/** Heap entries of the map including stale ones (compaction is observable). */
export function timer_heap_len(mapId: u32): u32 { return timerHeapLen(mapId); }
/** Where timer_pop_due writes ids (i32 each). */
export function timer_ids_ptr(): usize { return timerIdsPtr(); }

// ---- one pass ----------------------------------------------------------------------------

function ensureEvents(n: u32): bool {
  if (n <= eventsCap) return true;
  let cap = max(n, eventsCap * 2);
  if (!heapRoom(<u64>cap * (EVENT_SIZE + 4))) return false;
  events = events == 0 ? heap.alloc(<usize>cap * EVENT_SIZE) : heap.realloc(events, <usize>cap * EVENT_SIZE);
  sortBuf = sortBuf == 0 ? heap.alloc(<usize>cap * 4) : heap.realloc(sortBuf, <usize>cap * 4);
  eventsCap = cap;
  return true;
}

// Shell sort of slots by insertion sequence: map order, as CPython iterates its dict.
function sortBySeq(n: u32): void {
  let gap = n >> 1;
  while (gap > 0) {
    for (let i = gap; i < n; i++) {
      let s = load<u32>(sortBuf + (<usize>i << 2));
      let key = load<u32>(rec(s), C_SEQ);
      let j = i;
      while (j >= gap) {
        let t = load<u32>(sortBuf + (<usize>(j - gap) << 2));
        if (load<u32>(rec(t), C_SEQ) <= key) break;
        store<u32>(sortBuf + (<usize>j << 2), t);
        j -= gap;
      }
      store<u32>(sortBuf + (<usize>j << 2), s);
    }
    gap = gap == 2 ? 1 : (gap * 5) / 11;
  }
}

/**
 * Fills the event queue for map `mapId` and returns the event count. Select mode: every
 * read event, then every write event, then every exceptional (urgent data) event. Poll2 mode:
 * one record per channel with all its flags.
 */
export function engine_poll(mapId: u32, mode: u32): i32 {
  if (mode != MODE_SELECT && mode != MODE_POLL2) return E_RANGE;
  if (!ensureEvents(readyCount * 3 + 1)) return E_NOMEM;
  let n: u32 = 0;
  for (let i: u32 = 0; i < readyCount; i++) {
    let s = readySlotAt(i);
    if (load<u32>(rec(s), C_MAP) == mapId) { store<u32>(sortBuf + (<usize>n << 2), s); n++; }
  }
  sortBySeq(n);
  let e: u32 = 0;
  if (mode == MODE_SELECT) {
    for (let pass: u32 = 0; pass < 3; pass++) {
      let bit = pass == 0 ? R : pass == 1 ? W : X;
      for (let i: u32 = 0; i < n; i++) {
        let s = load<u32>(sortBuf + (<usize>i << 2));
        let r = rec(s);
        if ((selected(readiness(r), load<u32>(r, C_INTEREST)) & bit) == 0) continue;
        emit(e++, tokenOf(s), bit == R ? POLLIN : bit == W ? POLLOUT : POLLPRI);
      }
    }
  } else {
    for (let i: u32 = 0; i < n; i++) {
      let s = load<u32>(sortBuf + (<usize>i << 2));
      let r = rec(s);
      let ready = selected(readiness(r), load<u32>(r, C_INTEREST));
      let flags: u32 = 0;
      if (ready & R) flags |= POLLIN;
      if (ready & W) flags |= POLLOUT;
      if (ready & X) flags |= POLLPRI;
      if (load<u32>(r, C_ERRNO) != 0) flags |= POLLERR | POLLHUP;
      emit(e++, tokenOf(s), flags);
    }
  }
  eventsTotal += e;
  return <i32>e;
}

@inline function emit(i: u32, token: i32, flags: u32): void {
  let p = events + <usize>i * EVENT_SIZE;
  store<i32>(p, token);
  store<u32>(p, flags, 4);
}

/** Pointer to the event records of the last engine_poll. */
export function events_ptr(): usize { return events; }

/** Engine statistics by index (see host/abi.ts STAT_*). */
export function engine_stat(i: u32): f64 {
  switch (i) {
    case 0: return <f64>liveCount;
    case 1: return <f64>chunksLive;
    case 2: return <f64>chunksFree;
    case 3: return <f64>bytesAllocated;
    case 4: return <f64>(<u64>memory.size() << 16);
    case 5: return <f64>eventsTotal;
    case 6: return <f64>bytesIn;
    case 7: return <f64>bytesOut;
    case 8: return <f64>chunkSize;
    case 9: return <f64>memoryCap;
    case 10: return <f64>readyCount;
    case 11: return <f64>outWaiting;
    case 12: return <f64>outWakes;
  }
  return <f64>E_RANGE;
}

/** Live channels in a map (0 = all). */
export function map_count(mapId: u32): u32 { return countInMap(mapId); }

/** Returns the free chunks to the runtime heap. */
export function pool_trim(): void { poolTrim(); }
