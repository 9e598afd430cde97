// The process of one server module (forked by server.ts): runs a ModuleInstance, answers the
// parent over IPC, and keeps a watchdog thread that kills this process when a pass (or main())
// runs longer than its wall-time budget (--cpu-ms), after telling the parent why on fd 4.
//
// Messages in:  start {bytes, opts, cpuMs} | stop | drain {timeoutMs} | stats {id}
// Messages out: ready {listening, listeningUdp, denied} | failed {message} | denied {text} | ended {message|null}
//               | stats {id, ...}
import { Worker } from "node:worker_threads";
import { ModuleInstance, WasmServerError, type InstanceOptions } from "./instance.js";

/** The first message from the parent. */
export interface StartMessage {
  type: "start";
  bytes: Uint8Array;
  opts: Omit<InstanceOptions, "onPass">;
  cpuMs: number;
}

// [0] running (1 during a pass), [1] pass sequence number, [2] stop signal for the watchdog.
const state = new Int32Array(new SharedArrayBuffer(12));

// The watchdog samples the pass counter; a pass seen running for cpuMs is over budget.
const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { state, cpuMs } = workerData;
const tick = Math.max(2, Math.min(50, cpuMs / 8));
let seen = -1, since = 0;
while (Atomics.wait(state, 2, 0, tick) === "timed-out") {
  if (Atomics.load(state, 0) !== 1) { seen = -1; continue; }
  const seq = Atomics.load(state, 1);
  const now = Date.now();
  if (seq !== seen) { seen = seq; since = now; continue; }
  if (now - since >= cpuMs) {
    try { writeSync(4, "cpu " + (now - since) + "\\n"); } catch {}
    process.kill(process.pid, "SIGKILL");
  }
}`;

function send(msg: object): void {
  process.send?.(msg);
}

let instance: ModuleInstance | null = null;

function ended(err: WasmServerError | null): void {
  Atomics.store(state, 2, 1);
  Atomics.notify(state, 2);
  const exit = (): never => process.exit(0);
  if (process.send) process.send({ type: "ended", message: err ? err.message : null }, exit);
  else exit();
}

function start(m: StartMessage): void {
  const watchdog = new Worker(WATCHDOG, { eval: true, workerData: { state, cpuMs: m.cpuMs } });
  watchdog.unref();
  let seq = 0;
  const onPass = (running: boolean): void => {
    if (running) Atomics.store(state, 1, ++seq);
    Atomics.store(state, 0, running ? 1 : 0);
  };
  let deniedSent = 0;
  try {
    instance = new ModuleInstance(m.bytes, { ...m.opts, onPass });
  } catch (err) {
    send({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    ended(null);
    return;
  }
  const inst = instance;
  deniedSent = inst.denied.length;
  send({ type: "ready", listening: inst.listening, listeningUdp: inst.listeningUdp, denied: [...inst.denied] });
  // later denials, without a timer of their own: checked after each pass's I/O settles
  const check = setInterval(() => {
    while (deniedSent < inst.denied.length) send({ type: "denied", text: inst.denied[deniedSent++] });
  }, 50);
  check.unref();
  void inst.done.then((err) => {
    clearInterval(check);
    while (deniedSent < inst.denied.length) send({ type: "denied", text: inst.denied[deniedSent++] });
    ended(err);
  });
}

process.on("message", (m: { type: string; id?: number; timeoutMs?: number } & Partial<StartMessage>) => {
  if (m.type === "start") start(m as StartMessage);
  else if (m.type === "stop") {
    if (instance) instance.close();
    else ended(null);
  } else if (m.type === "drain") instance?.drain(m.timeoutMs ?? 5000);
  else if (m.type === "stats") {
    const mem = process.memoryUsage();
    send({ type: "stats", id: m.id, rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, ...(instance?.stats() ?? {}) });
  }
});
// Signals are the runner's to act on (Ctrl-C reaches the whole process group): it drains, then stops us.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
// the parent is gone: nothing may outlive it
process.on("disconnect", () => { if (instance?.alive) instance.close(); setTimeout(() => process.exit(0), 200).unref(); });
