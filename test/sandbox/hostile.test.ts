// Hostile modules against the runner (issue 15): each attack, written as raw WebAssembly, must be
// contained — the runner survives, a co-hosted echo module keeps answering (median round trip
// under 50 ms, or under 4× the same run's control on a loaded machine), the offender's memory and
// descriptors stay within its budgets, and the offender is refused or stopped with an error that
// names it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as net from "node:net";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WasmServer, WasmServerError, DEFAULT_SOCKET_LIMITS } from "../../host/sandbox/index.js";
import { assemble, withImports, op, c, call, get, set, load, store, type ModuleSpec, I32 } from "./wasm.js";
import { cliRun } from "./helpers.js";
import { Bystander } from "./bystander.js";

const dir = mkdtempSync(join(tmpdir(), "wasyncore-hostile-"));
let bystander: Bystander;


function outFile(name: string): { fd: number; read: () => string } {
  const path = join(dir, `${name}.out`);
  const fd = openSync(path, "w");
  return { fd, read: () => readFileSync(path, "utf8") };
}

/** A host-flavour module: `init` runs as main(), `pass` as server_pass (returns i32). */
function hostile(imports: string[], parts: (fn: (n: string) => number) => { init?: number[]; pass?: number[]; locals?: number }, extra: Partial<ModuleSpec> = {}): Uint8Array {
  const { funcImports, fn } = withImports(imports);
  const p = parts(fn);
  return assemble({
    funcImports,
    funcs: [
      { export: "_initialize", locals: p.locals, body: p.init ?? [] },
      { export: "server_pass", results: [I32], locals: p.locals, body: p.pass ?? c(0) },
    ],
    ...extra,
  });
}

async function expectRefused(bytes: Uint8Array, name: string, reason: RegExp, opts = {}): Promise<void> {
  const start = WasmServer.start(bytes, { name, listen: ["127.0.0.1:0"], ...opts });
  const err = await bystander.stillServing(start.then(() => null, (e: unknown) => e));
  expect(err).toBeInstanceOf(WasmServerError);
  expect((err as WasmServerError).module).toBe(name);
  expect((err as Error).message).toMatch(new RegExp(`^wasyncore: module ${name} stopped: refused at load: `));
  expect((err as Error).message).toMatch(reason);
}

async function expectExit(bytes: Uint8Array, name: string, code: number, opts = {}): Promise<void> {
  const start = WasmServer.start(bytes, { name, listen: ["127.0.0.1:0"], ...opts });
  const err = await bystander.stillServing(start.then(() => null, (e: unknown) => e));
  expect((err as Error)?.message).toBe(`wasyncore: module ${name} stopped: the module exited with code ${code} (proc_exit)`);
}

/** Descriptors a process holds now (Linux). */
const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

beforeAll(async () => { bystander = await Bystander.start(); }, 60_000);
afterAll(() => bystander?.close());

const LISTEN = (fn: (n: string) => number, backlog = 16): number[] => [
  ...store(0, [...c(4), ...call(fn("sock_open"))]),
  ...load(0), ...c(512), ...c(9), ...c(0), ...call(fn("sock_bind")), op.drop,
  ...load(0), ...c(backlog), ...call(fn("sock_listen")), op.drop,
];
const HOST = { offset: 512, bytes: "127.0.0.1" };

describe("preview1 and socket calls on stdio descriptors", () => {
  it("answer ENOSYS/EBADF instead of crashing the process (sock_* on fd 0–2, sock_error on a bad fd)", async () => {
    const names = ["proc_exit", "p1_sock_recv", "p1_sock_send", "p1_sock_accept", "p1_sock_shutdown", "sock_send", "sock_recv", "sock_accept", "sock_close", "sock_error"];
    const bytes = hostile(names, (fn) => ({
      init: [
        ...c(0), ...c(64), ...c(1), ...c(0), ...c(80), ...c(84), ...call(fn("p1_sock_recv")),
        ...c(1), ...c(64), ...c(1), ...c(0), ...c(80), ...call(fn("p1_sock_send")), op.i32Add,
        ...c(2), ...c(0), ...c(80), ...call(fn("p1_sock_accept")), op.i32Add,
        ...c(0), ...c(2), ...call(fn("p1_sock_shutdown")), op.i32Add,
        ...c(1), ...c(64), ...c(4), ...call(fn("sock_send")), op.i32Sub,
        ...c(0), ...c(64), ...c(4), ...call(fn("sock_recv")), op.i32Sub,
        ...c(2), ...call(fn("sock_accept")), op.i32Sub,
        ...c(0), ...call(fn("sock_close")), op.i32Sub,
        ...c(999), ...call(fn("sock_error")), op.i32Sub,
        ...call(fn("proc_exit")),
      ],
    }));
    await expectExit(bytes, "stdio-sock", 4 * 52 + 5 * 8);
  });
});

describe("memory, tables and features", () => {
  it("memory.grow then fd_write from the new pages works and is prefixed with the module's name", async () => {
    const END = 33 * 65536;
    const bytes = hostile(["proc_exit", "fd_write"], (fn) => ({
      init: [
        ...c(32), op.memoryGrow, 0, op.drop,
        ...store(END - 8, c(0x0a216968)), // "hi!\n"
        ...store(END - 16, c(END - 8)), ...store(END - 12, c(4)),
        ...c(1), ...c(END - 16), ...c(1), ...c(END - 4), ...call(fn("fd_write")),
        ...c(7), op.i32Add, ...call(fn("proc_exit")),
      ],
    }));
    const out = outFile("grow-write");
    await expectExit(bytes, "grow-write", 7, { stdout: out.fd });
    closeSync(out.fd);
    expect(out.read()).toBe("[grow-write] hi!\n");
  });

  it("memory.grow stops at the cap (--memory-mb)", async () => {
    const bytes = hostile(["proc_exit"], (fn) => ({
      init: [op.block, op.void, op.loop, op.void, ...c(1), op.memoryGrow, 0, ...c(-1), op.i32Ne, op.brIf, 0, op.end, op.end, 0x3f, 0, ...call(fn("proc_exit"))],
    }));
    await expectExit(bytes, "grow-to-cap", 4 * 16, { memoryMb: 4 });
  });

  it.each([
    ["huge-table", { tables: [{ min: 10_000_000, max: 10_000_000 }] }, /table 0 declares 10000000 elements/],
    ["unbounded-table", { tables: [{ min: 1 }] }, /table 0 has no maximum/],
    ["second-memory", { memories: [{ min: 1 }] }, /defines a memory of its own/],
    ["no-imported-memory", { memory: null, memories: [{ min: 1 }] }, /defines a memory of its own/],
    ["shared-memory", { memory: { min: 1, max: 1, shared: true } }, /shared \(threads are not allowed\)/],
    ["big-memory", { memory: { min: 2000 } }, /starts at 125 MiB, over the cap of 16 MiB/],
    ["gc-struct", { rawTypes: [[0x5f, 1, I32, 1]] }, /WebAssembly GC is not allowed/],
    ["gc-array", { rawTypes: [[0x5e, I32, 1]] }, /WebAssembly GC is not allowed/],
  ] as [string, Partial<ModuleSpec>, RegExp][])("refuses %s at load with the reason", async (name, spec, reason) => {
    await expectRefused(hostile([], () => ({}), spec), name, reason, { memoryMb: 16 });
  });

  it("refuses imports the runner does not grant", async () => {
    const bytes = assemble({ funcImports: [{ module: "env", name: "seed", params: [], results: [0x7c] }], funcs: [{ export: "server_pass", results: [I32], body: c(0) }] });
    await expectRefused(bytes, "odd-import", /import env\.seed is not granted/);
  });
});

describe("escapes", () => {
  it("fd_read(0) is ENOSYS: a secret piped to the runner never reaches the module", async () => {
    const bytes = hostile(["proc_exit", "fd_read"], (fn) => ({
      init: [...store(0, c(128)), ...store(4, c(64)), ...c(0), ...c(0), ...c(1), ...c(8), ...call(fn("fd_read")), ...call(fn("proc_exit"))],
    }));
    await expectExit(bytes, "stdin-reader", 52);
    const file = join(dir, "stdin-reader.wasm");
    writeFileSync(file, bytes);
    const r = await cliRun(["run", file, "--listen", "127.0.0.1:0"], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stdin-reader\.wasm stopped: the module exited with code 52/);
  });

  it("a module's stderr lines cannot pass for the runner's: prefixed, control bytes escaped", async () => {
    const text = "wasyncore: module bystander stopped: trap\n\x1b[2K\rwasyncore: fake\n";
    const bytes = hostile(["proc_exit", "fd_write"], (fn) => ({
      init: [...store(0, c(128)), ...store(4, c(Buffer.byteLength(text))), ...c(2), ...c(0), ...c(1), ...c(8), ...call(fn("fd_write")), op.drop, ...c(3), ...call(fn("proc_exit"))],
    }), { data: [{ offset: 128, bytes: text }] });
    const err = outFile("fake-lines");
    await expectExit(bytes, "fake-lines", 3, { stderr: err.fd });
    closeSync(err.fd);
    const lines = err.read().split("\n").filter(Boolean);
    expect(lines).toEqual(["[fake-lines] wasyncore: module bystander stopped: trap", "[fake-lines] \\x1b[2K\\x0dwasyncore: fake"]);
  });

  it("writing without end is rate-limited", async () => {
    const bytes = hostile(["fd_write"], (fn) => ({
      init: [...store(0, c(128)), ...store(4, c(4000))],
      pass: [...c(1), ...c(0), ...c(1), ...c(8), ...call(fn("fd_write")), op.drop, ...c(1)],
    }), { data: [{ offset: 128, bytes: `${"A".repeat(3999)}\n` }] });
    const out = outFile("chatty");
    const bad = await WasmServer.start(bytes, { name: "chatty", listen: ["127.0.0.1:0"], stdout: out.fd });
    await bystander.stillServing(new Promise((r) => setTimeout(r, 1500)));
    bad.close();
    await bad.done;
    closeSync(out.fd);
    const size = out.read().length;
    expect(size).toBeGreaterThan(16 << 10);
    expect(size).toBeLessThan(160 << 10); // 16 KiB/s after a 64 KiB burst, not the megabytes it wrote
    expect(out.read()).toMatch(/^\[chatty\] \(\d+ bytes of output dropped: over 16384 B\/s\)$/m);
  });
});

describe("time", () => {
  it("an infinite loop in a pass is killed by the watchdog, naming the module and --cpu-ms", async () => {
    const bytes = hostile([], () => ({ pass: [op.loop, op.void, op.br, 0, op.end, ...c(0)] }));
    const bad = await WasmServer.start(bytes, { name: "spinner", listen: ["127.0.0.1:0"], cpuMs: 1000 });
    const err = await bystander.stillServing(bad.done);
    expect(err?.message).toMatch(/^wasyncore: module spinner stopped: a pass ran for \d+ ms, over its budget of 1000 ms \(--cpu-ms\): killed$/);
  });

  it("an infinite loop in main() is killed too", async () => {
    const bytes = hostile([], () => ({ init: [op.loop, op.void, op.br, 0, op.end] }));
    const err = await bystander.stillServing(WasmServer.start(bytes, { name: "spin-main", cpuMs: 300 }).then(() => null, (e: unknown) => e));
    expect((err as Error).message).toMatch(/module spin-main stopped: a pass ran for \d+ ms, over its budget of 300 ms/);
  });

  it("poll_oneoff cannot sleep: ENOSYS at once", async () => {
    const bytes = hostile(["proc_exit", "poll_oneoff"], (fn) => ({ init: [...c(0), ...c(64), ...c(1), ...c(128), ...call(fn("poll_oneoff")), ...call(fn("proc_exit"))] }));
    const t0 = Date.now();
    await expectExit(bytes, "sleeper", 52);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("sock_poll over 131 M records is refused at once (EINVAL)", async () => {
    const bytes = hostile(["proc_exit", "sock_poll"], (fn) => ({ init: [...c(0), ...c(0), ...c(131_000_000), ...call(fn("sock_poll")), op.i32Sub, ...call(fn("proc_exit"))] }));
    await expectExit(bytes, "poll-bomb", 28);
  });
});

describe("sockets", () => {
  const ACCEPT_AND_SEND = (fn: (n: string) => number, len: number, after: number[] = [], repeat = 1): number[] => [
    // accept one; remember it at 16 + 4*count
    ...load(0), ...call(fn("sock_accept")), op.localTee, 0, ...c(0), op.i32GeS, op.if, op.void,
    ...c(16), ...load(4), ...c(4), op.i32Mul, op.i32Add, ...get(0), op.i32Store, 2, 0,
    ...store(4, [...load(4), ...c(1), op.i32Add]),
    op.end,
    // sock_send(fd, 0, len) to every one
    ...c(0), ...set(1),
    op.block, op.void, op.loop, op.void,
    ...get(1), ...load(4), op.i32GeS, op.brIf, 1,
    ...c(16), ...get(1), ...c(4), op.i32Mul, op.i32Add, op.i32Load, 2, 0, ...set(0),
    ...Array.from({ length: repeat }, () => [...get(0), ...c(0), ...c(len), ...call(fn("sock_send")), op.drop]).flat(),
    ...after,
    ...get(1), ...c(1), op.i32Add, ...set(1), op.br, 0,
    op.end, op.end,
    ...c(0),
  ];

  async function idleClients(port: number, n: number): Promise<net.Socket[]> {
    const out: net.Socket[] = [];
    for (let i = 0; i < n; i++) {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.on("error", () => {});
      s.pause();
      out.push(s);
    }
    await Promise.all(out.map((s) => once(s, "connect").catch(() => null)));
    return out;
  }

  it("100 MiB sock_send per peer: the host holds at most the module's send budget", async () => {
    const MiB100 = 100 << 20;
    const bytes = hostile(["sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_send"], (fn) => ({
      init: LISTEN(fn), pass: ACCEPT_AND_SEND(fn, MiB100), locals: 2,
    }), { memory: { min: 1601 }, data: [HOST] });
    const bad = await WasmServer.start(bytes, { name: "send-flood", listen: ["127.0.0.1:0"], memoryMb: 128 });
    const clients = await idleClients(bad.listening[0].port, 8);
    let peak = { rss: 0, queued: 0, fds: 0 };
    await bystander.stillServing((async () => {
      for (let i = 0; i < 20; i++) {
        const s = await bad.stats();
        peak = { rss: Math.max(peak.rss, s.rss), queued: Math.max(peak.queued, s.sockets.sendQueued), fds: Math.max(peak.fds, fdsOf(bad.pid)) };
        await new Promise((r) => setTimeout(r, 75));
      }
    })());
    expect(peak.queued).toBeGreaterThan(0);
    expect(peak.queued).toBeLessThanOrEqual(DEFAULT_SOCKET_LIMITS.sendBudget);
    // memory cap 128 + V8 heap 64 + budgets 32 + Node itself: far below the 800 MiB 8 × 100 MiB would take
    expect(peak.rss).toBeLessThan(400 << 20);
    expect(bad.alive).toBe(true);
    clients.forEach((s) => s.destroy());
    bad.close();
    expect(await bad.done).toBe(null);
  });

  it("a socket closed with bytes in flight lingers at most lingerMs, then is destroyed; close-then-trap destroys at once", async () => {
    const names = ["sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_send", "sock_close"];
    const closer = (trap: boolean) => hostile(names, (fn) => ({
      init: LISTEN(fn), locals: 2,
      pass: ACCEPT_AND_SEND(fn, 4 << 20, [...get(0), ...call(fn("sock_close")), op.drop, ...(trap ? [op.unreachable] : []), ...store(4, c(0))], 32),
    }), { memory: { min: 65 }, data: [HOST] });
    const lingerer = await WasmServer.start(closer(false), { name: "lingerer", listen: ["127.0.0.1:0"], limits: { lingerMs: 500 } });
    const [c1] = await idleClients(lingerer.listening[0].port, 1);
    let seen = 0;
    await bystander.stillServing((async () => {
      for (let i = 0; i < 300 && seen === 0; i++) { seen = (await lingerer.stats()).sockets.lingering; if (!seen) await new Promise((r) => setTimeout(r, 10)); }
      expect(seen).toBe(1);
      for (let i = 0; i < 500 && (await lingerer.stats()).sockets.lingering > 0; i++) await new Promise((r) => setTimeout(r, 20));
    })());
    expect((await lingerer.stats()).sockets).toMatchObject({ lingering: 0, fds: 1 }); // only the listener
    c1.destroy();
    lingerer.close();

    const trapper = await WasmServer.start(closer(true), { name: "close-then-trap", listen: ["127.0.0.1:0"] });
    const [c2] = await idleClients(trapper.listening[0].port, 1);
    const closed = new Promise((r) => { c2.on("close", r); c2.on("end", r); c2.resume(); });
    const err = await bystander.stillServing(trapper.done);
    expect(err?.message).toMatch(/^wasyncore: module close-then-trap stopped: trap: unreachable/);
    await closed; // the peer sees the end: nothing of the module is held
  });

  it("a :0 grant allows a bounded number of listeners; sock_open stops at the fd budget", async () => {
    const flood = hostile(["proc_exit", "sock_open", "sock_bind", "sock_listen"], (fn) => ({
      locals: 2,
      init: [
        op.block, op.void, op.loop, op.void,
        ...get(1), ...c(100), op.i32GeS, op.brIf, 1,
        ...c(4), ...call(fn("sock_open")), ...set(0),
        ...get(0), ...c(512), ...c(9), ...c(0), ...call(fn("sock_bind")), op.i32Eqz, op.if, op.void,
        ...get(0), ...c(16), ...call(fn("sock_listen")), op.i32Eqz, op.if, op.void, ...store(4, [...load(4), ...c(1), op.i32Add]), op.end,
        op.end,
        ...get(1), ...c(1), op.i32Add, ...set(1), op.br, 0,
        op.end, op.end,
        ...load(4), ...call(fn("proc_exit")),
      ],
    }), { data: [HOST] });
    await expectExit(flood, "listener-flood", DEFAULT_SOCKET_LIMITS.ephemeralListeners);
    const opener = hostile(["proc_exit", "sock_open"], (fn) => ({
      locals: 1,
      init: [
        op.block, op.void, op.loop, op.void,
        ...get(0), ...c(5000), op.i32GeS, op.brIf, 1,
        ...c(4), ...call(fn("sock_open")), ...c(0), op.i32GeS, op.if, op.void, ...store(4, [...load(4), ...c(1), op.i32Add]), op.end,
        ...get(0), ...c(1), op.i32Add, ...set(0), op.br, 0,
        op.end, op.end,
        ...load(4), ...call(fn("proc_exit")),
      ],
    }));
    await expectExit(opener, "fd-flood", 100, { limits: { maxFds: 100 } });
  });

  it("a module that never reads: the host holds at most the module's receive budget", async () => {
    const bytes = hostile(["sock_open", "sock_bind", "sock_listen", "sock_accept", "sock_send"], (fn) => ({
      init: LISTEN(fn), pass: ACCEPT_AND_SEND(fn, 0), locals: 2,
    }), { data: [HOST] });
    // 6 sockets × 1 MiB each (highWater) would be 6 MiB: the module's budget of 3 MiB binds first
    const recvBudget = 3 << 20;
    const bad = await WasmServer.start(bytes, { name: "never-reads", listen: ["127.0.0.1:0"], limits: { recvBudget } });
    // 6 clients writing as fast as they can, from another process
    const flood = spawn(process.execPath, ["-e", `
      const net = require("node:net"); const chunk = Buffer.alloc(1 << 20, 120);
      for (let i = 0; i < 6; i++) { const s = net.connect(${bad.listening[0].port}, "127.0.0.1"); s.on("error", () => {});
        const pump = () => { while (s.write(chunk)); }; s.on("connect", pump); s.on("drain", pump); }
      setTimeout(() => {}, 60000);`], { stdio: ["ignore", "ignore", "inherit"] });
    let peak = { buffered: 0, rss: 0 };
    try {
      await bystander.stillServing((async () => {
        for (let i = 0; i < 25; i++) {
          const st = await bad.stats();
          peak = { buffered: Math.max(peak.buffered, st.sockets.recvBuffered), rss: Math.max(peak.rss, st.rss) };
          await new Promise((r) => setTimeout(r, 80));
        }
      })());
    } finally {
      flood.kill();
    }
    expect(peak.buffered).toBeGreaterThan(1 << 20);
    // at most one read past the line per socket: the 6 sockets' reads of one libuv iteration land before each is paused
    expect(peak.buffered).toBeLessThanOrEqual(recvBudget + 6 * (64 << 10));
    expect(peak.rss).toBeLessThan(300 << 20);
    bad.close();
    expect(await bad.done).toBe(null);
  }, 60_000);

  it("a module process that dies from outside (an OOM killer, kill -9) is reported naming it", async () => {
    const bytes = hostile(["sock_open", "sock_bind", "sock_listen"], (fn) => ({ init: LISTEN(fn) }), { data: [HOST] });
    const victim = await WasmServer.start(bytes, { name: "victim", listen: ["127.0.0.1:0"] });
    process.kill(victim.pid, "SIGKILL");
    const err = await bystander.stillServing(victim.done);
    expect(err?.message).toBe("wasyncore: module victim stopped: its process died (signal SIGKILL)");
  });

  it("a listener that never accepts: the host holds at most its backlog (128), whatever the clients do", async () => {
    const bytes = hostile(["sock_open", "sock_bind", "sock_listen"], (fn) => ({ init: LISTEN(fn, 100000) }), { data: [HOST] });
    const bad = await WasmServer.start(bytes, { name: "never-accepts", listen: ["127.0.0.1:0"] });
    const before = fdsOf(bad.pid);
    // 400 clients from another process, so this one's loop only measures
    const flood = spawn(process.execPath, ["-e", `
      const net = require("node:net"); let n = 0;
      for (let i = 0; i < 400; i++) { const s = net.connect(${bad.listening[0].port}, "127.0.0.1"); s.on("error", () => {}); s.pause(); s.on("connect", () => { if (++n === 400) console.log("connected"); }); }
      setTimeout(() => {}, 60000);`], { stdio: ["ignore", "pipe", "inherit"] });
    let stats = await bad.stats();
    try {
      await bystander.stillServing((async () => {
        for (let i = 0; i < 300 && stats.sockets.pending + stats.sockets.refused < 400; i++) {
          await new Promise((r) => setTimeout(r, 20));
          stats = await bad.stats();
        }
      })());
    } finally {
      flood.kill();
    }
    expect(stats.sockets.pending).toBe(DEFAULT_SOCKET_LIMITS.maxBacklog);
    expect(stats.sockets.refused).toBeGreaterThan(0);
    expect(fdsOf(bad.pid) - before).toBeLessThanOrEqual(DEFAULT_SOCKET_LIMITS.maxBacklog + 2);
    bad.close();
    expect(await bad.done).toBe(null);
  }, 60_000);
});
