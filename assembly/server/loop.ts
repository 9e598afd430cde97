// The loop of a server module: one pass = interest, poll, ingest, dispatch, flush.
//
//   1. Interest: every dispatcher's readable()/writable() goes into its channel record.
//   2. Poll: descriptors that can make progress (listeners, open sockets with room in their
//      input queue, sockets with output or a pending connect) go to poll(2). The host flavour
//      never waits (the Node runner calls server_pass when readiness arrives); the WASIX
//      flavour blocks in poll_oneoff unless the core already has ready channels.
//   3. Ingest: received bytes into input queues, EOF and errors into the channel record,
//      pending connections into the listener's readiness.
//   4. Dispatch: the core's engine_poll lists ready channels in asyncore's select order (all
//      reads, then all writes, then exceptional) or, in poll2 mode, one record per channel
//      dispatched read → write → expt → close (asyncore.readwrite); then the due timers run
//      (timers already due when the pass starts run before its I/O, so I/O work cannot delay them).
//   5. Flush: output queued by send() goes to the descriptors, one write run per channel.
// The pass waits (WASIX) or tells the host to wake it (server_timeout) no later than the next timer.
import { engine_init, engine_poll, events_ptr } from "../index";
import { readyCount, chanSetField, liveCount } from "../channels";
import { C_INTEREST, C_PAUSE, MODE_SELECT, MODE_POLL2, POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP, R, W, DEFAULT_CHUNK, DEFAULT_WINDOW, DEFAULT_PAUSE } from "../layout";
import { chanGetField } from "../channels";
import { Socket, MAP_ID, socketAt, socketSlots, ingest, flush, flushDirty, socketCount } from "./socket";
import { ownerAt, ownerOf, ownerSlots } from "./dispatcher";
import { sysPoll, sysError } from "./sys";
import { setDatagramReady } from "./datagram";
import { runDueTimers, pendingTimers, nextTimerDelay, stampNow } from "./timers";

@inline const POLL_ERR: u16 = 0x008;
@inline const POLL_HUP: u16 = 0x010;
@inline const CHUNK_CAP: u32 = 256 << 20; // chunk memory per module; the runtime may cap memory lower

let started = false;
let pollfds: usize = 0; // {fd i32, events u16, revents u16}
let pollCap: i32 = 0;
let polled = new Array<Socket>();
export let passes: u64 = 0;
let mode: u32 = MODE_SELECT;
let readyPasses = 0; // consecutive WASIX passes that found channels ready
// WASIX: passes with ready channels skip poll_oneoff (all but every 16th): @wasmer/sdk 0.16 (Node) can
// ignore poll_oneoff's zero timeout once a connection was closed, and wait for the next socket event.
@inline const WASIX_POLL_EVERY: i32 = 16;

/** Sets up the core once (buffers, limits). */
export function init(): void {
  if (started) return;
  started = true;
  engine_init(DEFAULT_CHUNK, CHUNK_CAP, DEFAULT_WINDOW, DEFAULT_PAUSE);
}

function askInterest(): void {
  let n = ownerSlots();
  for (let i = 0; i < n; i++) {
    let d = ownerAt(i);
    if (d === null) continue;
    let s = d.socket;
    if (s === null || s.closed) continue;
    let bits: u32 = (d.readable() ? R : 0) | (d.writable() ? W : 0);
    chanSetField(s.token, C_INTEREST, bits);
  }
}

function pollSet(): i32 {
  let slots = socketSlots();
  if (slots * 2 > pollCap) {
    pollCap = max(slots * 2, 64);
    if (pollfds != 0) heap.free(pollfds);
    pollfds = heap.alloc(<usize>pollCap << 3);
  }
  polled.length = 0;
  let n = 0;
  for (let i = 0; i < slots; i++) {
    let s = socketAt(i);
    if (s === null) continue;
    let ev: u16 = 0;
    if (s.listening) ev = <u16>POLLIN;
    else if (s.datagram) {
      // a datagram socket is polled for what its dispatcher wants now (the readiness bits come from here)
      let want = <u32>chanGetField(s.token, C_INTEREST);
      ev = <u16>(((want & R) != 0 ? POLLIN : 0) | ((want & W) != 0 ? POLLOUT : 0));
    } else {
      let pause = <u32>chanGetField(s.token, C_PAUSE);
      if (s.open && !s.eof && s.err == 0 && !s.lingering && s.inLen < pause) ev |= <u16>POLLIN;
      if (s.connecting || (s.open && s.err == 0 && s.outLen > 0)) ev |= <u16>POLLOUT;
    }
    if (ev == 0) continue;
    let rec = pollfds + (<usize>n << 3);
    store<i32>(rec, s.fd);
    store<u16>(rec, ev, 4);
    store<u16>(rec, 0, 6);
    polled.push(s);
    n++;
  }
  return n;
}

function onRevents(s: Socket, rev: u16): void {
  if (s.datagram) {
    setDatagramReady(s, (rev & (<u16>POLLIN | POLL_ERR)) != 0, (rev & <u16>POLLOUT) != 0);
    return;
  }
  if (s.listening) {
    if (rev & <u16>POLLIN) s.setAcceptReady(true);
    return;
  }
  if (s.connecting && (rev & (<u16>POLLOUT | POLL_ERR | POLL_HUP)) != 0) {
    let e = sysError(s.fd);
    s.connecting = false;
    if (e != 0) s.setError(e);
    else s.markOpen();
  }
  if (!s.open) return;
  if ((rev & (<u16>POLLIN | POLL_ERR | POLL_HUP)) != 0) ingest(s);
  if ((rev & <u16>POLLOUT) != 0 && s.outLen > 0) {
    flush(s);
    if (s.lingering) s.markDirty(); // flushDirty releases it once drained
  }
}

function dispatch(): void {
  let k = engine_poll(MAP_ID, mode);
  let ev = events_ptr();
  for (let i = 0; i < k; i++) {
    let token = load<i32>(ev + (<usize>i << 3));
    let flags = load<u32>(ev + (<usize>i << 3), 4);
    let d = ownerOf(token);
    if (d === null) continue; // closed by an earlier handler in this pass
    if (mode == MODE_POLL2) {
      // Python: asyncore.readwrite — no handler runs on a channel after it closed in this pass
      if (flags & POLLIN) d.handleReadEvent();
      if ((flags & POLLOUT) != 0 && !d.isClosed()) d.handleWriteEvent();
      if ((flags & POLLPRI) != 0 && !d.isClosed()) d.handleExptEvent();
      if ((flags & (POLLHUP | POLLERR)) != 0 && !d.isClosed()) d.handleClose();
    } else if (flags & POLLIN) d.handleReadEvent();
    else if (flags & POLLOUT) d.handleWriteEvent();
    else d.handleExptEvent();
  }
  runDueTimers();
}

/**
 * One pass of the loop. Returns -1 when no channel and no timer is left, 1 when another pass
 * should follow at once (something happened or is still ready), 0 when the module waits for I/O
 * or its next timer (server_timeout() says how long). `timeoutMs` < 0 waits without a limit
 * (WASIX flavour; the host flavour never waits).
 */
export function pass(timeoutMs: i32): i32 {
  init();
  passes++;
  askInterest();
  let n = pollSet();
  let got = 0;
  let wait = timeoutMs;
  if (readyCount > 0) wait = 0;
  else {
    let next = nextTimerDelay();
    if (next >= 0) {
      let ms = <i32>Math.ceil(min(next, 2147483647));
      if (wait < 0 || ms < wait) wait = ms;
    }
  }
  let skip = false;
  if (WASYNCORE_WASIX && wait == 0 && readyCount > 0) skip = ++readyPasses % WASIX_POLL_EVERY != 0;
  else readyPasses = 0;
  if (skip) n = 0;
  if (n > 0) got = sysPoll(pollfds, n, wait);
  else if (WASYNCORE_WASIX && wait != 0) sysPoll(pollfds, 0, wait); // nothing to poll: sleep until the next timer
  stampNow(); // the core's activity clock (idle timeouts), after the wait: bytes taken in now are stamped now
  runDueTimers(); // timers due when the pass starts run before its I/O work, so a busy pass does not delay them
  for (let i = 0; i < n; i++) {
    let rev = load<u16>(pollfds + (<usize>i << 3), 6);
    let s = unchecked(polled[i]);
    if (rev != 0 || s.datagram) onRevents(s, rev); // a datagram socket's readiness is this poll's answer, none included
  }
  dispatch();
  flushDirty();
  if ((socketCount == 0 || liveCount == 0) && pendingTimers() == 0) return -1;
  return got > 0 || readyCount > 0 ? 1 : 0;
}

/** Milliseconds until the next timer is due (0: overdue), or -1 without timers. */
export function timeoutMs(): f64 {
  return nextTimerDelay();
}

/** Dispatch in poll2 order (per channel: read, write, expt, close) rather than select's. Python: loop(use_poll=True) */
export function usePoll(on: bool): void {
  mode = on ? MODE_POLL2 : MODE_SELECT;
}

/** Runs passes until no channel and no timer is left (WASIX flavour: blocks in poll_oneoff). Python: asyncore.loop() */
export function loop(usePollMode: bool = false): void {
  usePoll(usePollMode);
  while (pass(-1) >= 0) {}
}

/**
 * Runs a server: `main` creates its dispatchers; then the WASIX flavour loops here, and the
 * host flavour returns so the Node runner can drive passes through server_pass.
 */
export function serve(main: () => void, usePollMode: bool = false): void {
  init();
  usePoll(usePollMode);
  main();
  if (WASYNCORE_WASIX) loop(usePollMode);
}
