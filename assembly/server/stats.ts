// loopStats() for server modules: channel states, the core's counters and memory, pending timers
// (the same fields as the Node host's loopStats(), where the module can know them).
import { engine_stat } from "../index";
import { ownerAt, ownerSlots } from "./dispatcher";
import { pendingTimers } from "./timers";

/** What loopStats() reports. */
export class LoopStats {
  /** Open channels (dispatchers with a live socket). */
  channels: i32 = 0;
  connected: i32 = 0;
  accepting: i32 = 0;
  connecting: i32 = 0;
  /** Events the core queued for dispatch since the module started. */
  eventsDispatched: f64 = 0;
  bytesIn: f64 = 0;
  bytesOut: f64 = 0;
  timersPending: i32 = 0;
  /** Datagrams dropped (over a channel's receive bound or the memory cap). */
  datagramsDropped: f64 = 0;
  /** Bytes of the core's buffer chunks in use. */
  coreMemoryInUse: f64 = 0;
  /** The module's linear memory, in bytes. */
  coreMemoryReserved: f64 = 0;
  chunksInUse: f64 = 0;
  chunksFree: f64 = 0;
  /** "host" (under the Node runner) or "wasix". */
  backend: string = WASYNCORE_WASIX ? "wasix" : "host";
}

let dropped: f64 = 0;

/** Counts a datagram the module had to drop (datagram sockets call this). */
export function countDroppedDatagram(): void { dropped += 1; }

/** Counters of the engine and the channel states of the module's map. Python: — (wasyncore loopStats) */
export function loopStats(): LoopStats {
  let st = new LoopStats();
  let n = ownerSlots();
  for (let i = 0; i < n; i++) {
    let d = ownerAt(i);
    if (d === null || d.fileno() < 0) continue;
    st.channels++;
    if (d.connected) st.connected++;
    if (d.accepting) st.accepting++;
    if (d.connecting) st.connecting++;
  }
  let chunk = engine_stat(8) + 16;
  st.eventsDispatched = engine_stat(5);
  st.bytesIn = engine_stat(6);
  st.bytesOut = engine_stat(7);
  st.timersPending = <i32>pendingTimers();
  st.datagramsDropped = dropped;
  st.chunksInUse = engine_stat(1);
  st.chunksFree = engine_stat(2);
  st.coreMemoryInUse = st.chunksInUse * chunk;
  st.coreMemoryReserved = engine_stat(4);
  return st;
}
