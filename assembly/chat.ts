// AsyncChat framing: the terminator search over a channel's input queue (Python: asynchat's
// handle_read loop, minus the bytes).
//
// One pass, no re-scanning: the search is a KMP automaton whose state survives between calls.
// The channel record keeps `scan` (bytes at the front of the input queue already searched) and
// `match` (how many terminator bytes those searched bytes end with). When a window holds no
// whole terminator, `match` is exactly find_prefix_at_end(window, terminator): the bytes asynchat
// holds back. The next call resumes at `scan` with that state, so no byte is looked at twice.
//
// Terminator block (heap, per channel, freed when the terminator changes or the channel closes):
//
//   0                 len          align4(len)
//   +-----------------+------------+-------------------------------+
//   | terminator bytes| (pad)      | fail: u32[len] (KMP table)    |
//   +-----------------+------------+-------------------------------+
import {
  OK, E_TOKEN, E_RANGE, E_NOMEM, E_STATE, E_NOTFOUND, C_IN, C_SCAN, C_MATCH, C_TERM, C_TERMLEN,
  Q_HEAD, Q_LEN, K_NEXT, K_START, K_END, K_DATA, SCRATCH_PAIRS,
} from "./layout";
import { rec, slotOf, refresh, chatRelease } from "./channels";

/** Longest terminator the core accepts (it arrives through the host's scratch area). */
@inline export const MAX_TERM: u32 = SCRATCH_PAIRS * 8;

/** The hold-back of the last chat_find that found nothing (find_prefix_at_end). */
export let chatHold: u32 = 0;
/**
 * Where the input queue starts, written by every chat_find that finds a terminator, so the
 * host can copy a frame out without another call: {front pointer u32, contiguous bytes u32}.
 */
export const chatInfo: usize = memory.data(8);

/** Input bytes the search has looked at, ever (a test checks no byte is searched twice). */
export let chatScanned: u64 = 0;

@inline function failTable(term: usize, len: u32): usize {
  return term + ((<usize>len + 3) & ~<usize>3);
}


/**
 * Installs the `len` bytes at `src` as the channel's terminator (0 = none) and forgets the
 * search state: bytes searched for the old terminator are searched again for the new one.
 */
export function chatSetTerm(token: i32, src: usize, len: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  if (len > MAX_TERM) return E_RANGE;
  let r = rec(<u32>slot);
  chatRelease(r);
  if (len > 0) {
    let term = heap.alloc(((<usize>len + 3) & ~<usize>3) + (<usize>len << 2));
    if (term == 0) return E_NOMEM;
    memory.copy(term, src, len);
    buildFail(term, len);
    store<u32>(r, <u32>term, C_TERM);
    store<u32>(r, len, C_TERMLEN);
  }
  refresh(<u32>slot); // bytes held back for the old terminator count as unread again
  return OK;
}

// fail[i] = length of the longest proper prefix of term[0..i] that is also its suffix.
function buildFail(term: usize, len: u32): void {
  let fail = failTable(term, len);
  store<u32>(fail, 0);
  let k: u32 = 0;
  for (let i: u32 = 1; i < len; i++) {
    let c = load<u8>(term + i);
    while (k > 0 && load<u8>(term + k) != c) k = load<u32>(fail + (<usize>(k - 1) << 2));
    if (load<u8>(term + k) == c) k++;
    store<u32>(fail + (<usize>i << 2), k);
  }
}

/**
 * Searches input bytes [scan, limit) for the terminator. Returns its offset from the front
 * of the queue, or E_NOTFOUND with the hold-back (the terminator prefix the window ends
 * with) in chatHold. `limit` is the window asynchat would hold: at most the queued length.
 */
export function chatFind(token: i32, limit: u32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  let r = rec(<u32>slot);
  let len = load<u32>(r, C_TERMLEN);
  if (len == 0) return E_STATE;
  if (limit > load<u32>(r, C_IN + Q_LEN) || limit > <u32>i32.MAX_VALUE) return E_RANGE;
  let term = <usize>load<u32>(r, C_TERM);
  let fail = failTable(term, len);
  let pos = load<u32>(r, C_SCAN);
  let k = load<u32>(r, C_MATCH);
  if (pos > limit) { pos = 0; k = 0; } // the window shrank under us: start over
  let first = load<u8>(term);
  let firstx8 = <u64>first * 0x0101010101010101;

  // Walk to the chunk holding offset `pos` (pos < terminator length in steady state).
  let c = <usize>load<u32>(r, C_IN + Q_HEAD);
  let skip = pos;
  while (c != 0) {
    let n = load<u32>(c, K_END) - load<u32>(c, K_START);
    if (skip < n) break;
    skip -= n;
    c = <usize>load<u32>(c, K_NEXT);
  }
  while (c != 0 && pos < limit) {
    let base = c + K_DATA + load<u32>(c, K_START);
    let p = base + skip;
    let avail = load<u32>(c, K_END) - load<u32>(c, K_START) - skip;
    let end = p + min(avail, limit - pos);
    while (p < end) {
      if (k == 0) {
        // nothing matched yet: skip ahead to the terminator's first byte, 8 bytes at a time
        while (p + 8 <= end) {
          let w = load<u64>(p) ^ firstx8;
          if (((w - 0x0101010101010101) & ~w & 0x8080808080808080) != 0) break; // a byte equals `first`
          p += 8;
        }
        while (p < end && load<u8>(p) != first) p++;
        if (p == end) break;
        k = 1;
        p++;
      } else {
        let b = load<u8>(p);
        while (k > 0 && load<u8>(term + k) != b) k = load<u32>(fail + (<usize>(k - 1) << 2));
        if (load<u8>(term + k) == b) k++;
        p++;
      }
      if (k == len) {
        chatScanned += <u64>(p - (base + skip));
        let at = pos + <u32>(p - (base + skip)) - len;
        store<u32>(r, 0, C_SCAN);
        store<u32>(r, 0, C_MATCH);
        refresh(<u32>slot);
        let head = <usize>load<u32>(r, C_IN + Q_HEAD);
        let start = load<u32>(head, K_START);
        store<u32>(chatInfo, <u32>(head + K_DATA + start));
        store<u32>(chatInfo, load<u32>(head, K_END) - start, 4);
        return <i32>at;
      }
    }
    pos += <u32>(end - (base + skip));
    chatScanned += <u64>(end - (base + skip));
    skip = 0;
    c = <usize>load<u32>(c, K_NEXT);
  }
  store<u32>(r, pos, C_SCAN);
  store<u32>(r, k, C_MATCH);
  refresh(<u32>slot);
  chatHold = k;
  return E_NOTFOUND;
}

/** Keeps the search state right after `n` bytes left the front of the input queue. */
export function chatConsumed(r: usize, n: u32): void {
  let scan = load<u32>(r, C_SCAN);
  if (scan == 0) return;
  if (n >= scan) {
    store<u32>(r, 0, C_SCAN);
    store<u32>(r, 0, C_MATCH);
    return;
  }
  scan -= n;
  let k = load<u32>(r, C_MATCH);
  let len = load<u32>(r, C_TERMLEN);
  if (len != 0) {
    // the searched bytes got shorter: fall back to the longest match that still fits
    let fail = failTable(<usize>load<u32>(r, C_TERM), len);
    while (k > scan) k = load<u32>(fail + (<usize>(k - 1) << 2));
  } else k = 0;
  store<u32>(r, scan, C_SCAN);
  store<u32>(r, k, C_MATCH);
}

/** Bytes at the front of the input queue already searched (asynchat's ac_in_buffer). */
export function chatHeld(token: i32): i32 {
  let slot = slotOf(token);
  if (slot < 0) return E_TOKEN;
  return <i32>load<u32>(rec(<u32>slot), C_SCAN);
}

