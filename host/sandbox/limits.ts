// The runner's limits and their defaults, in one place (the README's limits table is this file).
// Per module: its memory cap, the wall time of one pass, its process's V8 heap, and the socket
// budgets the host socket layer (sockets.ts) enforces; per process: descriptors of all modules.

/** Defaults of the runner's per-module limits: memory cap (MiB), pass budget (ms), V8 heap (MiB). */
export const DEFAULT_LIMITS = {
  /** The module's linear memory cap (MiB). */
  memoryMb: 256,
  /** The wall time one pass may take (ms) before the module is stopped. */
  cpuMs: 200,
  /** The V8 heap of the module's process (MiB). */
  heapMb: 64,
} as const;

/** The host-side budgets of one module's sockets. */
export interface SocketLimits {
  /** Descriptors the module may hold (open, lingering after close, and connections waiting in backlogs). */
  maxFds: number;
  /** Bytes the host holds toward peers for the module, all sockets together. */
  sendBudget: number;
  /** Bytes received and not yet read by the module, all sockets together (reading pauses above it). */
  recvBudget: number;
  /** Bytes one socket buffers toward its peer before sock_send takes no more. */
  highWater: number;
  /** Accepted connections held for one listener (the module's backlog is capped to this). */
  maxBacklog: number;
  /** Listeners a ":0" grant allows at once (and, counted apart, datagram sockets a ":0" --listen-udp grant binds). */
  ephemeralListeners: number;
  /** Milliseconds a closed socket may take to deliver its last bytes before it is destroyed. */
  lingerMs: number;
  /** Records one sock_poll may carry. */
  maxPollRecords: number;
  /** Datagrams waiting for the module on one datagram socket; more are dropped and counted, as a kernel does. */
  dgramQueue: number;
  /** Bytes of datagrams waiting for the module, all its datagram sockets together; more are dropped and counted. */
  dgramRecvBudget: number;
  /** Bytes of datagrams the host holds toward the network for the module (sock_sendto takes no more: EAGAIN). */
  dgramSendBudget: number;
  /** Datagrams per second the module may send, all sockets together (a burst of one second's worth; over it EAGAIN). */
  dgramSendRate: number;
  /** Senders one --listen-udp socket remembers for replies (the oldest is forgotten first). */
  dgramPeers: number;
  /** Milliseconds after its last datagram that a sender may still be replied to without an --allow-udp grant. */
  dgramReplyMs: number;
}

/** Defaults of SocketLimits. */
export const DEFAULT_SOCKET_LIMITS: Readonly<SocketLimits> = {
  maxFds: 1024,
  sendBudget: 16 << 20,
  recvBudget: 16 << 20,
  highWater: 1 << 20,
  maxBacklog: 128,
  ephemeralListeners: 4,
  lingerMs: 10_000,
  maxPollRecords: 16384,
  dgramQueue: 256,
  dgramRecvBudget: 4 << 20,
  dgramSendBudget: 1 << 20,
  dgramSendRate: 20_000,
  dgramPeers: 1024,
  dgramReplyMs: 30_000,
};

/** Descriptors every module of one process may hold together. */
let fdBudget = 4096;

/** The process-wide descriptor budget. */
export function processFdBudget(): number {
  return fdBudget;
}

/** Sets the process-wide descriptor budget of all modules in this process. */
export function setProcessFdBudget(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`process fd budget must be a positive integer, got ${n}`);
  fdBudget = n;
}
