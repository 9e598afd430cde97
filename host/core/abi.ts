// The core's ABI: every export and import name, once. A test checks these against the .wasm.

/** Functions the core exports (WASI-style area_verb). */
export const CORE_EXPORTS = [
  "engine_init", "scratch_ptr", "scratch_pairs", "result_len",
  "chan_open", "chan_close", "chan_flags", "chan_set_flags", "chan_get", "chan_set",
  "interest_commit", "chan_ready",
  "in_reserve", "in_room", "in_commit", "in_peek", "in_consume",
  "out_reserve", "out_commit", "out_peek", "out_consume", "out_direct",
  "engine_tick", "engine_poll", "events_ptr", "engine_stat", "map_count", "pool_trim",
  "timer_add", "timer_cancel", "timer_reset", "timer_next", "timer_pop_due", "timer_cancel_map",
  "timer_count", "timer_heap_len", "timer_ids_ptr",
  "chat_term", "chat_find", "chat_held", "chat_info", "chat_scanned",
] as const;

/** Functions the core imports, by module. */
export const CORE_IMPORTS = { env: ["abort"] } as const;

/** The core's exports as the host calls them. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  engine_init(chunk: number, cap: number, window: number, pause: number): number;
  scratch_ptr(): number;
  scratch_pairs(): number;
  result_len(): number;
  chan_open(mapId: number): number;
  chan_close(token: number): number;
  chan_flags(token: number): number;
  chan_set_flags(token: number, set: number, clear: number): number;
  chan_get(token: number, field: number): number;
  chan_set(token: number, field: number, value: number): number;
  interest_commit(n: number): number;
  chan_ready(token: number): number;
  in_reserve(token: number, want: number): number;
  in_room(token: number): number;
  in_commit(token: number, n: number): number;
  in_peek(token: number): number;
  in_consume(token: number, n: number): number;
  out_reserve(token: number, want: number): number;
  out_commit(token: number, n: number): number;
  out_direct(token: number, n: number): number;
  out_peek(token: number): number;
  out_consume(token: number, n: number): number;
  engine_tick(t: number): void;
  engine_poll(mapId: number, mode: number): number;
  events_ptr(): number;
  engine_stat(i: number): number;
  map_count(mapId: number): number;
  pool_trim(): void;
  timer_add(mapId: number, deadline: number): number;
  timer_cancel(id: number): number;
  timer_reset(id: number, deadline: number): number;
  timer_next(mapId: number): number;
  timer_pop_due(mapId: number, now: number, max: number): number;
  timer_cancel_map(mapId: number): number;
  timer_count(mapId: number): number;
  timer_heap_len(mapId: number): number;
  timer_ids_ptr(): number;
  chat_term(token: number, len: number): number;
  chat_find(token: number, limit: number): number;
  chat_held(token: number): number;
  chat_info(): number;
  chat_scanned(): number;
}

// Result codes (assembly/layout.ts).
export const OK = 0;
export const E_TOKEN = -1;
export const E_RANGE = -2;
export const E_NOMEM = -3;
export const E_STATE = -4;
export const E_NOTFOUND = -5;

// Channel flags (assembly/layout.ts).
export const F_LIVE = 1 << 0;
export const F_CONNECTED = 1 << 1;
export const F_ACCEPTING = 1 << 2;
export const F_CONNECTING = 1 << 3;
export const F_CLOSING = 1 << 4;
export const F_EOF = 1 << 5;
export const F_OPEN = 1 << 6;
export const F_ALWAYS_R = 1 << 7;
export const F_DGRAM = 1 << 8;
/** Core-owned: the pool had no memory for the channel's output (not write-ready until memory frees). */
export const F_OUTWAIT = 1 << 9;

// Interest / readiness bits.
export const R = 1;
export const W = 2;
/** Host-reported readiness only: urgent (out-of-band) data pending, select()'s exceptional condition. */
export const X = 4;

// Record fields (byte offsets in the channel record).
export const FIELD = {
  interest: 8, hostReady: 12, errno: 16, seq: 20, map: 24, inLen: 40, outLen: 52,
  inflight: 56, window: 60, pause: 64, tick: 72,
} as const;

// engine_stat indices.
export const STAT = {
  channels: 0, chunksLive: 1, chunksFree: 2, chunkBytes: 3, memoryBytes: 4, events: 5,
  bytesIn: 6, bytesOut: 7, chunkSize: 8, memoryCap: 9, ready: 10, outWaiting: 11, outWakes: 12,
} as const;

/** Most ids one timer_pop_due call writes (assembly/timers.ts TIMER_BATCH). */
export const TIMER_BATCH = 1024;

export const MODE_SELECT = 0;
export const MODE_POLL2 = 1;

/** Longest AsyncChat terminator the core takes (the scratch area's size). */
export const MAX_TERMINATOR = 32768;
