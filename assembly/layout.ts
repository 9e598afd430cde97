// Compile-time layout of everything the core keeps in linear memory.

/** Result codes. Expected conditions are negative return values, never traps. */
@inline export const OK: i32 = 0;
@inline export const E_TOKEN: i32 = -1; // stale or malformed token
@inline export const E_RANGE: i32 = -2; // pointer/length/argument out of range
@inline export const E_NOMEM: i32 = -3; // memory cap reached
@inline export const E_STATE: i32 = -4; // operation not valid in this state
@inline export const E_NOTFOUND: i32 = -5; // chat_find: no terminator in the window (hold-back in result_len)

// Token = generation << SLOT_BITS | slot. Generation 0 never appears, so 0 is never a token.
@inline export const SLOT_BITS: u32 = 20;
@inline export const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
@inline export const GEN_MASK: u32 = (1 << (31 - SLOT_BITS)) - 1; // tokens stay positive i32

// Channel flags (the asyncore state flags plus the socket's own state).
@inline export const F_LIVE: u32 = 1 << 0;
@inline export const F_CONNECTED: u32 = 1 << 1;
@inline export const F_ACCEPTING: u32 = 1 << 2;
@inline export const F_CONNECTING: u32 = 1 << 3;
@inline export const F_CLOSING: u32 = 1 << 4;
@inline export const F_EOF: u32 = 1 << 5; // peer sent FIN
@inline export const F_OPEN: u32 = 1 << 6; // the OS socket is connected and can take bytes
@inline export const F_ALWAYS_R: u32 = 1 << 7; // readable until EOF (regular files)
@inline export const F_DGRAM: u32 = 1 << 8; // input queue holds length-prefixed datagrams
// Core-owned: the pool had no memory for this channel's output; not write-ready until memory frees.
@inline export const F_OUTWAIT: u32 = 1 << 9;
@inline export const F_HOST_FLAGS: u32 = F_CONNECTED | F_ACCEPTING | F_CONNECTING | F_CLOSING | F_EOF | F_OPEN | F_ALWAYS_R | F_DGRAM;

// Interest and host-reported readiness bits.
@inline export const R: u32 = 1;
@inline export const W: u32 = 2;
@inline export const X: u32 = 4; // host-reported only: urgent (out-of-band) data, select()'s exceptional set

// poll(2) flags, as Linux numbers them; events carry them to the host.
@inline export const POLLIN: u32 = 0x001;
@inline export const POLLPRI: u32 = 0x002;
@inline export const POLLOUT: u32 = 0x004;
@inline export const POLLERR: u32 = 0x008;
@inline export const POLLHUP: u32 = 0x010;

// Dispatch modes for engine_poll.
@inline export const MODE_SELECT: u32 = 0;
@inline export const MODE_POLL2: u32 = 1;

// Channel record, one per slot:
//
//   0        4        8        12       16       20       24       28
//   +--------+--------+--------+--------+--------+--------+--------+--------+
//   | gen    | flags  |interest|hostRdy | errno  | seq    | mapId  |readyPos|
//   +--------+--------+--------+--------+--------+--------+--------+--------+
//   32: in queue  {head, tail, len}      44: out queue {head, tail, len}
//   56: inflight   60: sendWindow   64: recvPause   68: nextFree   72: lastActive
//   80: chat scan offset   84: chat match length   88: terminator ptr   92: terminator length
//   +--------------------------------------------------------------------+
@inline export const C_GEN: usize = 0;
@inline export const C_FLAGS: usize = 4;
@inline export const C_INTEREST: usize = 8;
@inline export const C_HOSTREADY: usize = 12;
@inline export const C_ERRNO: usize = 16;
@inline export const C_SEQ: usize = 20;
@inline export const C_MAP: usize = 24;
@inline export const C_READYPOS: usize = 28;
@inline export const C_IN: usize = 32;
@inline export const C_OUT: usize = 44;
@inline export const C_INFLIGHT: usize = 56;
@inline export const C_WINDOW: usize = 60;
@inline export const C_PAUSE: usize = 64;
@inline export const C_NEXTFREE: usize = 68;
@inline export const C_TICK: usize = 72;
// AsyncChat framing (assembly/chat.ts). Input bytes [0, scan) were searched already: they hold no
// whole terminator, end in `match` bytes of one, and do not make the channel readable again.
@inline export const C_SCAN: usize = 80;
@inline export const C_MATCH: usize = 84;
@inline export const C_TERM: usize = 88; // heap block: terminator bytes, then a u32 KMP table
@inline export const C_TERMLEN: usize = 92;
@inline export const CHAN_SIZE: usize = 96;

// Queue record (inside a channel record): head chunk, tail chunk, byte count.
@inline export const Q_HEAD: usize = 0;
@inline export const Q_TAIL: usize = 4;
@inline export const Q_LEN: usize = 8;

// Chunk: a pooled block; bytes live in [start, end) of its data area.
//
//   0        4        8        12       16
//   +--------+--------+--------+--------+------------------- chunkSize ---+
//   | next   | start  | end    | (pad)  | data ...                        |
//   +--------+--------+--------+--------+---------------------------------+
@inline export const K_NEXT: usize = 0;
@inline export const K_START: usize = 4;
@inline export const K_END: usize = 8;
@inline export const K_DATA: usize = 16;

// Event record written by engine_poll: {token u32, flags u32}.
@inline export const EVENT_SIZE: usize = 8;

// Scratch area the host fills with {token, interest} pairs before interest_commit.
@inline export const SCRATCH_PAIRS: u32 = 4096;

@inline export const DEFAULT_CHUNK: u32 = 16384;
@inline export const DEFAULT_WINDOW: u32 = 65536;
@inline export const DEFAULT_PAUSE: u32 = 262144;
@inline export const DEFAULT_CAP: u32 = 1 << 30;
