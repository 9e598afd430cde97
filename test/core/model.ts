// A reference model of the core in plain TypeScript: what every export should return and
// what state it should leave, written from the contract (host/abi.ts, assembly/layout.ts).
import {
  OK, E_TOKEN, E_RANGE, E_STATE, F_LIVE, F_ACCEPTING, F_EOF, F_OPEN, F_ALWAYS_R, F_OUTWAIT, R, W, FIELD,
} from "../../host/core/abi.js";
import type { Dir } from "./wasm.js";

export const K_DATA = 16; // chunk header bytes
export const GEN_MASK = (1 << 11) - 1;
export const HOST_FLAGS = 0x1fe; // every flag but F_LIVE
const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;

/** The chunk pool's counters. */
export class PoolModel {
  live = 0;
  free = 0;
  allocated = 0;
  constructor(public chunk = 16384, public cap = 2 ** 30) {}

  /** Takes a chunk; an input queue stops at three quarters of the cap (the rest stays for output). */
  alloc(input = false): boolean {
    const total = K_DATA + this.chunk;
    if (input && (this.live + 1) * total > this.cap - Math.floor(this.cap / 4)) return false;
    if (this.free > 0) this.free--;
    else if (this.allocated + K_DATA + this.chunk > this.cap) return false;
    else this.allocated += K_DATA + this.chunk;
    this.live++;
    return true;
  }

  /** Could a chunk be handed out now (from the free list or under the cap)? */
  hasRoom(): boolean {
    return this.free > 0 || this.allocated + K_DATA + this.chunk <= this.cap;
  }

  release(): void {
    this.live--;
    this.free++;
  }

  trim(): void {
    this.allocated -= this.free * (K_DATA + this.chunk);
    this.free = 0;
  }
}

interface Chunk {
  start: number;
  end: number;
}

/** One byte queue: its bytes and the chunk chain that holds them. */
export class QueueModel {
  bytes: number[] = [];
  chunks: Chunk[] = [];
  constructor(private pool: PoolModel, private input = false) {}

  tail(): Chunk | undefined {
    return this.chunks[this.chunks.length - 1];
  }

  /** Contiguous room at the tail for `want` bytes, allocating a chunk if needed (0 at the cap). */
  reserve(want: number): number {
    const t = this.tail();
    if (t && t.end < this.pool.chunk) return Math.min(want, this.pool.chunk - t.end);
    if (!this.pool.alloc(this.input)) return 0;
    this.chunks.push({ start: 0, end: 0 });
    return Math.min(want, this.pool.chunk);
  }

  commit(data: ArrayLike<number>): void {
    if (data.length === 0 && this.bytes.length === 0) {
      this.clear(); // a read that found nothing returns the reserved chunk (an idle queue holds none)
      return;
    }
    this.tail()!.end += data.length;
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
  }

  /** Length of the first contiguous run (what peek reports). */
  firstRun(): number {
    return this.chunks.length ? this.chunks[0].end - this.chunks[0].start : 0;
  }

  consume(n: number): number[] {
    let left = n;
    while (left > 0 && this.chunks.length) {
      const c = this.chunks[0];
      const take = Math.min(left, c.end - c.start);
      c.start += take;
      left -= take;
      if (c.start === c.end) {
        this.chunks.shift();
        this.pool.release();
      }
    }
    const out = this.bytes.splice(0, n - left);
    if (this.bytes.length === 0 && this.chunks.length) this.clear(); // only empty reserved chunks left
    return out;
  }

  clear(): void {
    for (let i = 0; i < this.chunks.length; i++) this.pool.release();
    this.chunks = [];
    this.bytes = [];
  }
}

/** One channel record. */
export class ChanModel {
  flags = F_LIVE;
  interest = R | W;
  hostReady = 0;
  errno = 0;
  inflight = 0;
  tick: number;
  in: QueueModel;
  out: QueueModel;
  constructor(pool: PoolModel, public token: number, public seq: number, public map: number,
    public window: number, public pause: number, tick: number) {
    this.in = new QueueModel(pool, true);
    this.out = new QueueModel(pool);
    this.tick = tick;
  }

  q(dir: Dir): QueueModel {
    return dir === "in" ? this.in : this.out;
  }

  /** Readable/writable as the core derives them. */
  readiness(): number {
    let bits = this.hostReady;
    if (this.errno || this.in.bytes.length || this.flags & (F_EOF | F_ALWAYS_R)) bits |= R;
    if (this.flags & F_ACCEPTING) return bits & R;
    if (this.errno) bits |= W;
    // a channel whose output the pool could not take waits for memory (F_OUTWAIT)
    else if ((this.flags & (F_OPEN | F_OUTWAIT)) === F_OPEN && this.out.bytes.length + this.inflight < this.window) bits |= W;
    return bits;
  }

  ready(): number {
    // urgent data (X = 4) counts for any channel that asks for anything, as select()'s `e` set
    return this.readiness() & (this.interest !== 0 ? this.interest | 4 : 0);
  }
}

const u32 = (v: number) => v >>> 0;
const i32 = (v: number) => v | 0;
const FIELD_KEYS = Object.fromEntries(Object.entries(FIELD).map(([k, v]) => [v, k])) as Record<number, keyof typeof FIELD>;
const WRITABLE = new Set<number>([FIELD.interest, FIELD.hostReady, FIELD.errno, FIELD.map, FIELD.inflight, FIELD.window, FIELD.pause, FIELD.tick]);

interface Reservation {
  token: number;
  dir: Dir;
  chunk: Chunk;
  end: number;
  len: number;
}

/** The whole core: channel table (slots with generations), pool, one reservation, stats. */
export class CoreModel {
  pool = new PoolModel();
  chans = new Map<number, ChanModel>(); // by token
  gens: number[] = []; // generation per slot ever used
  freeSlots: number[] = []; // a stack, as the core's free list
  seq = 0;
  tick = 0;
  window = 65536;
  pause = 262144;
  res: Reservation | null = null;
  resultLen = 0;
  bytesIn = 0;
  bytesOut = 0;
  eventsTotal = 0;
  outWakes = 0;

  /** Channels waiting for output memory. */
  outWaiting(): number {
    return [...this.chans.values()].filter((c) => c.flags & F_OUTWAIT).length;
  }

  /** After memory may have freed: channels waiting for output memory are writable again. */
  wakeOutWaiters(): void {
    if (this.outWaiting() === 0 || !this.pool.hasRoom()) return;
    this.outWakes++;
    for (const c of this.chans.values()) c.flags &= ~F_OUTWAIT;
  }

  init(chunk: number, cap: number, window: number, pause: number): number {
    [chunk, cap, window, pause] = [u32(chunk), u32(cap), u32(window), u32(pause)];
    if (window === 0 || pause === 0) return E_RANGE;
    if (chunk !== this.pool.chunk) {
      if (this.pool.live !== 0 || chunk < 64 || chunk > 1 << 24) return E_RANGE;
      this.pool.trim();
      this.pool.chunk = chunk;
    }
    this.pool.cap = cap;
    this.window = window;
    this.pause = pause;
    this.wakeOutWaiters();
    return OK;
  }

  open(map: number): number {
    const slot = this.freeSlots.length ? this.freeSlots.pop()! : this.gens.push(0) - 1;
    const gen = ++this.gens[slot];
    const token = (gen << 20) | slot;
    this.chans.set(token, new ChanModel(this.pool, token, ++this.seq, u32(map), this.window, this.pause, this.tick));
    return token;
  }

  live(token: number): ChanModel | undefined {
    return this.chans.get(i32(token));
  }

  close(token: number): number {
    const c = this.live(token);
    if (!c) return E_TOKEN;
    c.in.clear();
    c.out.clear();
    this.chans.delete(c.token);
    const slot = c.token & 0xfffff;
    if (this.gens[slot] < GEN_MASK) this.freeSlots.push(slot);
    this.wakeOutWaiters();
    return OK;
  }

  setFlags(token: number, set: number, clear: number): number {
    if ((u32(set) | u32(clear)) & ~HOST_FLAGS) return E_RANGE;
    const c = this.live(token);
    if (!c) return E_TOKEN;
    c.flags = ((c.flags & ~clear) | set | F_LIVE) >>> 0;
    return OK;
  }

  get(token: number, field: number): number {
    field = u32(field);
    const known = field === 4 || field in FIELD_KEYS;
    if (!known) return E_RANGE;
    const c = this.live(token);
    if (!c) return E_TOKEN;
    if (field === 4) return c.flags;
    const k = FIELD_KEYS[field];
    if (k === "inLen") return c.in.bytes.length;
    if (k === "outLen") return c.out.bytes.length;
    return c[k];
  }

  set(token: number, field: number, value: number): number {
    [field, value] = [u32(field), u32(value)];
    if (!WRITABLE.has(field)) return E_RANGE;
    if (field === FIELD.interest && value & ~(R | W)) return E_RANGE;
    const c = this.live(token);
    if (!c) return E_TOKEN;
    const k = FIELD_KEYS[field] as Exclude<keyof typeof FIELD, "seq" | "inLen" | "outLen">;
    if (k === "map" && c.map !== value) c.seq = ++this.seq;
    c[k] = value;
    return OK;
  }

  interest(pairs: [number, number][]): number {
    let stale = 0;
    for (const [t, i] of pairs) {
      const c = this.live(t);
      if (c) c.interest = i & (R | W);
      else stale++;
    }
    return stale;
  }

  /** in_reserve/out_reserve: the contiguous length granted (0 for a null pointer). */
  reserve(dir: Dir, token: number, want: number): number {
    this.res = null;
    const c = this.live(token);
    want = u32(want);
    if (!c || want === 0) return (this.resultLen = 0);
    const q = c.q(dir);
    const len = q.reserve(want);
    this.resultLen = len;
    if (dir === "out") c.flags = len === 0 ? c.flags | F_OUTWAIT : c.flags & ~F_OUTWAIT;
    if (len) this.res = { token: c.token, dir, chunk: q.tail()!, end: q.tail()!.end, len };
    return len;
  }

  /** in_commit/out_commit of `n` bytes, taken from the front of `written` (what the host put at the pointer). */
  commit(dir: Dir, token: number, n: number, written: ArrayLike<number>): number {
    n = u32(n);
    const r = this.res;
    if (!r || r.token !== i32(token) || r.dir !== dir) return E_TOKEN;
    const c = this.live(token);
    if (!c) return E_TOKEN;
    const q = c.q(dir);
    if (q.tail() !== r.chunk || r.chunk.end !== r.end) {
      this.res = null;
      return E_STATE;
    }
    if (n > r.len) return E_RANGE;
    this.res = null;
    q.commit(Array.prototype.slice.call(written, 0, n));
    c.tick = this.tick; // bytes queued either way count as activity
    if (dir === "out") return OK;
    this.bytesIn += n;
    return c.in.bytes.length >= c.pause ? 1 : 0;
  }

  /** in_peek/out_peek: the length of the first run (0 for a null pointer). */
  peek(dir: Dir, token: number): number {
    const c = this.live(token);
    return (this.resultLen = c ? c.q(dir).firstRun() : 0);
  }

  consume(dir: Dir, token: number, n: number): number {
    const c = this.live(token);
    if (!c) return E_TOKEN;
    n = u32(n);
    const q = c.q(dir);
    if (n > q.bytes.length) return E_RANGE;
    q.consume(n);
    this.wakeOutWaiters();
    if (dir === "out") {
      this.bytesOut += n;
      return OK;
    }
    c.tick = this.tick;
    return c.in.bytes.length <= c.pause >>> 1 ? 1 : 0; // reading resumes at half the pause bound (hysteresis)
  }

  /** engine_poll's events. */
  poll(map: number, mode: number): { token: number; flags: number }[] | number {
    mode = u32(mode);
    if (mode !== 0 && mode !== 1) return E_RANGE;
    const ready = [...this.chans.values()].filter((c) => c.map === u32(map) && c.ready()).sort((a, b) => a.seq - b.seq);
    if (mode === 0) {
      const evs = [
        ...ready.filter((c) => c.ready() & R).map((c) => ({ token: c.token, flags: POLLIN })),
        ...ready.filter((c) => c.ready() & W).map((c) => ({ token: c.token, flags: POLLOUT })),
        ...ready.filter((c) => c.ready() & 4).map((c) => ({ token: c.token, flags: 0x002 })), // X → POLLPRI
      ];
      this.eventsTotal += evs.length;
      return evs;
    }
    this.eventsTotal += ready.length;
    return ready.map((c) => ({
      token: c.token,
      flags: (c.ready() & R ? POLLIN : 0) | (c.ready() & W ? POLLOUT : 0) | (c.ready() & 4 ? 0x002 : 0) | (c.errno ? POLLERR | POLLHUP : 0),
    }));
  }

  readyCount(): number {
    return [...this.chans.values()].filter((c) => c.ready()).length;
  }

  mapCount(map: number): number {
    return [...this.chans.values()].filter((c) => u32(map) === 0 || c.map === u32(map)).length;
  }
}
