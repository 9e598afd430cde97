// The native backend in worker_threads (issue 14, bug 2), and the net backend as a control: workers that each run an asyncore echo
// server on the native backend exit — by process.exit() with their sockets open, after closing
// them, and by worker.terminate() — while the main thread serves round trips throughout. Each
// scenario runs in a child process, so a crash (before the fix: SIGSEGV, exit 139, when a
// worker's environment went away) fails the test instead of killing the test runner.
import { describe, it, expect } from "vitest";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import { missing } from "../support/index.js";

const lib = fileURLToPath(new URL("../../build/host/index.js", import.meta.url));
const built = native() !== null && existsSync(lib);

// A worker: an echo server on 127.0.0.1:0 (native backend); the port goes to the parent, which
// then says how to end: "exit" (process.exit with the listener and connections open), "close"
// (closeAll: loop() returns and the thread ends by itself), or nothing (the parent terminates it).
const worker = (backend: string) => `
import { parentPort } from "node:worker_threads";
const { Dispatcher, ChannelMap, AF_INET, configure, loop, closeAll } = await import(${JSON.stringify(lib)});
configure({ backend: ${JSON.stringify(backend)} });
const map = new ChannelMap();
class Echo extends Dispatcher {
  handleRead() { const d = this.recv(4096); if (d.length > 0) this.send(d); }
  handleClose() { this.close(); }
}
class Server extends Dispatcher {
  handleAccepted(sock) { new Echo(sock, map); }
}
const s = new Server(null, map);
s.createSocket(AF_INET); s.setReuseAddr(); s.bind(["127.0.0.1", 0]); s.listen(5);
const want = ${JSON.stringify(backend === "native" ? "NativeSocket" : "Socket")};
if (s.socket.constructor.name !== want) throw new Error("not the ${backend} backend: " + s.socket.constructor.name);
parentPort.on("message", (m) => {
  if (m === "exit") process.exit(7);
  if (m === "close") { closeAll({ map }); parentPort.close(); }
});
parentPort.postMessage(s.socket.getsockname()[1]);
await loop({ map, timeout: 0.05 });
`;

// The child's main thread: optionally its own native echo server, pinged all along by a node:net
// client; workers started in rounds, each served a few round trips, then ended three ways.
const main = (mainServes: boolean, backend = "native") => `
import { Worker } from "node:worker_threads";
import { connect } from "node:net";
const lib = ${JSON.stringify(lib)};
const workerCode = ${JSON.stringify(worker(backend))};

function client(port) {
  const c = connect(port, "127.0.0.1");
  c.setNoDelay(true);
  let buf = "", want = null, ended = false, onEnd = [];
  c.on("data", (d) => { buf += d; if (want && buf.length >= want.n) { const w = want; want = null; const out = buf; buf = ""; w.resolve(out); } });
  c.on("error", () => {});
  c.on("close", () => { ended = true; for (const f of onEnd) f(); if (want) want.reject(new Error("closed")); });
  return {
    trip: (text) => new Promise((resolve, reject) => { want = { n: text.length, resolve, reject }; c.write(text); }),
    closed: () => new Promise((r) => (ended ? r() : onEnd.push(r))),
    end: () => c.end(),
    socket: c,
  };
}
const refused = (port) => new Promise((r) => { const c = connect(port, "127.0.0.1"); c.on("connect", () => { c.destroy(); r(false); }); c.on("error", (e) => r(e.code === "ECONNREFUSED")); });

let mainTrips = 0, stopPinging = false, pinger = null, mainDone = null, closeMain = null;
if (${mainServes}) {
  const { Dispatcher, ChannelMap, AF_INET, configure, loop, closeAll } = await import(lib);
  configure({ backend: ${JSON.stringify(backend)} });
  const map = new ChannelMap();
  class Echo extends Dispatcher {
    handleRead() { const d = this.recv(4096); if (d.length > 0) this.send(d); }
    handleClose() { this.close(); }
  }
  class Server extends Dispatcher { handleAccepted(sock) { new Echo(sock, map); } }
  const s = new Server(null, map);
  s.createSocket(AF_INET); s.setReuseAddr(); s.bind(["127.0.0.1", 0]); s.listen(5);
  mainDone = loop({ map, timeout: 0.05 });
  closeMain = () => closeAll({ map });
  const c = client(s.socket.getsockname()[1]);
  pinger = (async () => {
    for (let i = 0; !stopPinging; i++) {
      const text = "main " + i + ";";
      const got = await c.trip(text);
      if (got !== text) throw new Error("main echo: " + JSON.stringify(got));
      mainTrips++;
      await new Promise((r) => setTimeout(r, 2));
    }
    c.end();
  })();
}

async function runWorker(how, id) {
  const w = new Worker(workerCode, { eval: true });
  const exited = new Promise((r) => w.on("exit", r));
  const errors = [];
  w.on("error", (e) => errors.push(String(e)));
  const port = await new Promise((r, j) => { w.once("message", r); w.once("error", j); });
  const c = client(port);
  for (let i = 0; i < 5; i++) {
    const text = "w" + id + " trip " + i + ";";
    const got = await c.trip(text);
    if (got !== text) throw new Error("worker echo: " + JSON.stringify(got));
  }
  const before = mainTrips;
  if (how === "exit") w.postMessage("exit");
  else if (how === "close") { c.end(); await c.closed(); w.postMessage("close"); }
  else await w.terminate();
  const code = await exited;
  // the worker's sockets are gone with it: its connection ends, its port refuses
  const peerClosed = await Promise.race([c.closed().then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!peerClosed) c.socket.destroy();
  return { how, code, errors, peerClosed, refused: await refused(port) };
}

const results = [];
for (let round = 0; round < 2; round++) {
  results.push(...await Promise.all(["exit", "close", "terminate"].map((how, i) => runWorker(how, round * 3 + i))));
}
const tripsBefore = mainTrips;
for (let t = 0; t < 500 && mainTrips - tripsBefore < 3 && pinger; t++) await new Promise((r) => setTimeout(r, 10));
stopPinging = true;
if (pinger) await pinger;
if (closeMain) { closeMain(); await mainDone; }
console.log(JSON.stringify({ results, mainTrips, tripsAfterWorkers: mainTrips - tripsBefore }));
`;

interface Outcome { code: number | null; signal: string | null; out: string; err: string }

function runChild(source: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
      stdio: ["ignore", "pipe", "pipe"], timeout: 60_000, env: { ...process.env, WASYNCORE_BACKEND: "native" },
    });
    let out = "", err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    child.on("exit", (code, signal) => resolve({ code, signal, out, err }));
  });
}

describe.skipIf(missing("the native addon and the built host", !built))(`native sockets in worker_threads${built ? "" : ` (skipped: ${nativeUnavailable() ?? "build/host is not built"})`}`, () => {
  it.each([
    { name: "while the main thread serves on the native backend", mainServes: true, backend: "native" },
    { name: "when only the workers loaded the addon", mainServes: false, backend: "native" },
    { name: "on the net backend (the control)", mainServes: true, backend: "net" },
  ])("workers exit three ways and the process survives $name", async ({ mainServes, backend }) => {
    const r = await runChild(main(mainServes, backend));
    expect({ code: r.code, signal: r.signal, err: r.err }).toEqual({ code: 0, signal: null, err: "" });
    const report = JSON.parse(r.out) as {
      results: { how: string; code: number; errors: string[]; peerClosed: boolean; refused: boolean }[];
      mainTrips: number; tripsAfterWorkers: number;
    };
    expect(report.results.map((x) => x.how)).toEqual(["exit", "close", "terminate", "exit", "close", "terminate"]);
    for (const x of report.results) {
      expect(x.errors).toEqual([]);
      expect(x.code).toBe(x.how === "exit" ? 7 : x.how === "close" ? 0 : 1);
      expect(x.peerClosed).toBe(true); // the worker's accepted socket was closed with its environment
      expect(x.refused).toBe(true); // and its listener: nothing holds the port
    }
    if (mainServes) {
      expect(report.mainTrips).toBeGreaterThan(0);
      expect(report.tripsAfterWorkers).toBeGreaterThanOrEqual(3); // still serving after every worker is gone
    }
  }, 90_000);
});
