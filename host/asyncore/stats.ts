// Engine-wide configuration and statistics.
import { getEngine } from "../core/engine.js";
import { ChannelMap, socketMap } from "./map.js";
import { describe } from "../core/address.js";
import { pendingTimers } from "./timers.js";
import { datagramsDropped } from "../sys/records.js";
import { setBackend, backendStatus, type BackendName } from "../socket/backend.js";
import { memoryFreed } from "../core/wake.js";
import { nativeStats } from "../sys/native/addon.js";

/** Engine-wide defaults for new channels and the core's memory. */
export interface EngineOptions {
  /** Bytes a channel may have queued or in flight before send() returns 0 (default 64 KiB). */
  sendWindow?: number;
  /** Buffered input above which a channel's socket stops reading (default 256 KiB). */
  recvPause?: number;
  /** Size of the core's buffer chunks (default 16 KiB; settable only while no buffer is in use). */
  chunkSize?: number;
  /** Cap on the core's buffer memory (default 1 GiB); at the cap, reads pause. */
  memoryCap?: number;
  /**
   * Syscall backend of sockets created from now on: 'native' (epoll addon, Linux; the default where
   * it built) or 'net' (node:net); null goes back to WASYNCORE_BACKEND or the default.
   */
  backend?: BackendName | null;
}

function positive(v: unknown, name: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`configure(): ${name} must be an integer, got ${describe(v)}`);
  if (v < 1 || v > max) throw new RangeError(`configure(): ${name} must be in 1..${max}, got ${v}`);
  return v;
}

const OPTIONS = new Set(["sendWindow", "recvPause", "chunkSize", "memoryCap", "backend"]);

/** Sets engine-wide defaults (new channels take them). */
export function configure(options: EngineOptions = {}): void {
  if (typeof options !== "object" || options === null) throw new TypeError(`configure(): options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new TypeError(`configure(): unknown option ${JSON.stringify(key)} (known: ${[...OPTIONS].join(", ")})`);
  }
  const e = getEngine();
  const next = { ...e.limits };
  if (options.sendWindow !== undefined) next.sendWindow = positive(options.sendWindow, "sendWindow", 2 ** 31);
  if (options.recvPause !== undefined) next.recvPause = positive(options.recvPause, "recvPause", 2 ** 31);
  if (options.chunkSize !== undefined) next.chunkSize = positive(options.chunkSize, "chunkSize", 2 ** 24);
  if (options.memoryCap !== undefined) next.memoryCap = positive(options.memoryCap, "memoryCap", 2 ** 32 - 1);
  if (options.backend !== undefined) setBackend(options.backend);
  e.configure(next);
  memoryFreed(); // a higher cap may let channels waiting for output memory write again
}

/** What loopStats() reports. */
export interface LoopStats {
  /** Channels in the map. */
  channels: number;
  /** Channels whose `connected` flag is set. */
  connected: number;
  /** Channels whose `accepting` flag is set (listening). */
  accepting: number;
  /** Channels whose `connecting` flag is set. */
  connecting: number;
  /** Handler events dispatched engine-wide since the engine started. */
  eventsDispatched: number;
  /** Bytes received engine-wide. */
  bytesIn: number;
  /** Bytes sent engine-wide. */
  bytesOut: number;
  /** Timers waiting to run on this map. */
  timersPending: number;
  /** Datagrams dropped engine-wide: over a channel's receive bound or the memory cap, or (Linux) by the kernel. */
  datagramsDropped: number;
  /** Bytes of the core's linear memory holding buffered data now. */
  coreMemoryInUse: number;
  /** Bytes of linear memory the core has reserved (grows up to configure()'s memoryCap). */
  coreMemoryReserved: number;
  /** Buffer chunks holding data now. */
  chunksInUse: number;
  /** Buffer chunks allocated and free for reuse. */
  chunksFree: number;
  /** The syscall backend sockets created now get: 'native' (the epoll addon) or 'net' (node:net). */
  backend: BackendName;
  /**
   * Why `backend` is not 'native' although native was wanted (the default, where the addon is
   * missing or does not load; or WASYNCORE_BACKEND asking for what cannot be had), and on 'net'
   * that sockets use the public node:net/node:dgram API and why (Node's internal bindings refused by its
   * permission model, or WASYNCORE_NET_PUBLIC=1); else null.
   */
  backendReason: string | null;
}

/** Counters of the engine and channel states of a map. */
export function loopStats({ map = socketMap }: { map?: ChannelMap } = {}): LoopStats {
  if (!(map instanceof ChannelMap)) throw new TypeError(`loopStats(): map must be a ChannelMap, got ${describe(map)}`);
  const e = getEngine();
  let connected = 0, accepting = 0, connecting = 0;
  for (const v of map.values() as Iterable<{ connected?: boolean; accepting?: boolean; connecting?: boolean }>) {
    if (v.connected) connected++;
    if (v.accepting) accepting++;
    if (v.connecting) connecting++;
  }
  const chunk = e.stat("chunkSize") + 16;
  return {
    channels: map.size,
    connected, accepting, connecting,
    eventsDispatched: e.stat("events"),
    bytesIn: e.stat("bytesIn"),
    bytesOut: e.stat("bytesOut") + nativeStats.bytesOut, // the native backend's direct send(2)s pass the core
    timersPending: pendingTimers(map),
    datagramsDropped: datagramsDropped(),
    coreMemoryInUse: e.stat("chunksLive") * chunk,
    coreMemoryReserved: e.stat("memoryBytes"),
    chunksInUse: e.stat("chunksLive"),
    chunksFree: e.stat("chunksFree"),
    ...backendFields(),
  };
}

function backendFields(): { backend: BackendName; backendReason: string | null } {
  const { backend, reason } = backendStatus();
  return { backend, backendReason: reason };
}
