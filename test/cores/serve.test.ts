// serveOnCores(): 2–4 workers (processes; threads on native) on one port over loopback — 1,000 connections spread over
// every worker, a worker killed mid-load loses no connection another accepted, SIGTERM drains and exits.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { missing, onBackend } from "../support/index.js";
import { backend, built, serve, visits, visit, spread, refused, type Served } from "./helpers.js";

// "Both backends": native for processes and threads, net for processes (Node 20's net cannot share a handle between threads).
const modes: ("process" | "thread")[] = backend === "native" ? ["process", "thread"] : ["process"];
const running: Served[] = [];
afterEach(() => { for (const s of running.splice(0)) s.proc.kill("SIGKILL"); });

async function start(n: number, mode: "process" | "thread"): Promise<Served> {
  const s = await serve(n, mode);
  running.push(s);
  return s;
}

describe.skipIf(missing("the built host (npm run build)", !built)).each(modes)("serveOnCores() with %s workers", (mode) => {
  it("spreads 1,000 connections over all 3 workers; stats() agrees per worker and in total", { timeout: 120_000 }, async () => {
    const s = await start(3, mode);
    expect(s.workers.length).toBe(3);
    if (mode === "process") expect(new Set(s.workers.map((w) => w.pid)).size).toBe(3);
    else expect(new Set(s.workers.map((w) => w.threadId)).size).toBe(3);
    const vs = await visits(s.port, 1000, 32);
    expect(vs.filter((v) => !v.ok)).toEqual([]);
    const by = spread(vs);
    // the kernel's hash (native) or whichever process accept()s first (net) is uneven: each gets a share, not a third
    for (const w of [0, 1, 2]) expect(by[w] ?? 0).toBeGreaterThan(0);
    const st = await s.stats();
    expect(st.total.workers).toBe(3);
    expect(st.total.counters.accepted).toBe(1000);
    for (const w of st.workers) {
      expect(w.counters.accepted).toBe(by[w.index]);
      expect(w.backend).toBe(backend);
    }
    s.command("stop");
    expect((await s.line<{ stopped: number[] }>("stopped")).stopped).toEqual([0, 0, 0]);
    expect((await s.exit).code).toBe(0);
  });

  it("a worker killed mid-load loses no connection another worker accepted; the rest keep serving", { timeout: 120_000 }, async () => {
    const s = await start(3, mode);
    let killedAt = -1;
    const first = await visits(s.port, 600, 24, (done) => {
      if (done === 200) { killedAt = done; s.command("kill 0"); }
    });
    const killed = await s.line<{ killed: number; code: number }>("killed");
    expect(killed.killed).toBe(0);
    expect(killedAt).toBe(200);
    // every connection greeted by a survivor completed; a failure is one the killed worker had (or had queued: native)
    const lost = first.filter((v) => !v.ok);
    for (const v of lost) expect(v.worker === null || v.worker === 0).toBe(true);
    expect(first.filter((v) => v.ok && v.worker !== 0).length).toBeGreaterThan(0);
    // after the kill: the survivors serve every new connection
    const after = await visits(s.port, 300, 24);
    expect(after.filter((v) => !v.ok)).toEqual([]);
    const by = spread(after);
    expect(by[0] ?? 0).toBe(0);
    expect(by[1] ?? 0).toBeGreaterThan(0);
    expect(by[2] ?? 0).toBeGreaterThan(0);
    const st = await s.stats();
    expect(st.workers.map((w) => w.index).sort()).toEqual([1, 2]);
  });

  it("SIGTERM: stops accepting, delivers every byte already asked for, exits", { timeout: 120_000 }, async () => {
    const s = await start(2, mode);
    const SIZE = 4 * 1024 * 1024;
    // four clients asked for 4 MiB each and got their first bytes; they then stop reading for a while
    const clients = await Promise.all([0, 1, 2, 3].map(() => new Promise<{ c: net.Socket; parts: Buffer[]; end: Promise<void> }>((resolve, reject) => {
      const c = net.connect(s.port, "127.0.0.1");
      const parts: Buffer[] = [];
      let greeted = false;
      let begun = false;
      const end = new Promise<void>((r) => c.once("end", () => r()));
      c.on("error", reject);
      c.on("data", (d: Buffer) => {
        if (!greeted) {
          greeted = true;
          const i = d.indexOf(10);
          d = d.subarray(i + 1);
          c.write(`BIG ${SIZE}\n`);
        }
        if (d.length > 0) parts.push(d);
        if (!begun && d.length > 0) {
          begun = true;
          c.pause();
          resolve({ c, parts, end });
        }
      });
    })));
    s.proc.kill("SIGTERM");
    // the listeners close: new connections are refused (soon; the workers hear the primary first)
    const t0 = Date.now();
    while (!(await refused(s.port))) {
      if (Date.now() - t0 > 15_000) throw new Error("still accepting 15 s after SIGTERM");
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const k of clients) k.c.resume();
    await Promise.all(clients.map((k) => k.end));
    for (const k of clients) {
      const b = Buffer.concat(k.parts);
      expect(b.length).toBe(SIZE);
      let bad = -1;
      for (let i = 0; i < b.length; i++) if (b[i] !== i % 251) { bad = i; break; }
      expect(bad).toBe(-1);
      k.c.destroy();
    }
    const exit = await s.exit;
    expect(exit.code).toBe(0);
    expect(s.lines.find((l) => "exited" in l)).toEqual({ exited: [0, 0] });
  });

  it("a second SIGTERM kills the workers: the primary exits without waiting for a client that stopped reading", { timeout: 120_000 }, async () => {
    const s = await start(2, mode);
    const c = net.connect(s.port, "127.0.0.1");
    c.on("error", () => {});
    await new Promise<void>((resolve) => {
      let greeted = false;
      c.on("data", (d: Buffer) => {
        if (!greeted) { greeted = true; c.write(`BIG ${16 * 1024 * 1024}\n`); return; }
        c.pause(); // never reads again: a drain would wait its whole drainTimeout (60 s) for it
        resolve();
      });
    });
    s.proc.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    s.proc.kill("SIGTERM");
    const exit = await s.exit;
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 60 s drain timeout
    expect(exit.code).toBe(0);
    const codes = (s.lines.find((l) => "exited" in l) as { exited: number[] }).exited;
    expect(codes.some((code) => code !== 0)).toBe(true); // the worker holding the client was killed
    c.destroy();
  });
});

/** Is process `pid` gone? */
function gone(pid: number): boolean {
  try { process.kill(pid, 0); return false; } catch { return true; }
}

async function untilGone(pids: number[], ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pids.every(gone)) {
    if (Date.now() - t0 > ms) throw new Error(`workers ${pids.filter((p) => !gone(p)).join(", ")} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(missing("the built host (npm run build)", !built))("serveOnCores() worker processes on their own", () => {
  it("one SIGTERMed alone drains and ends while the other serves; when the primary dies (SIGKILL) the rest drain and exit", { timeout: 120_000 }, async () => {
    const s = await start(2, "process");
    const [a, b] = s.workers.map((w) => w.pid);
    process.kill(a, "SIGTERM");
    await untilGone([a]);
    expect((await s.stats()).workers.map((w) => w.index)).toEqual([1]);
    const vs = await visits(s.port, 50, 8);
    expect(vs.filter((v) => !v.ok)).toEqual([]);
    expect(spread(vs)).toEqual({ 1: 50 });
    // a client has asked for 1 MiB and read only its first bytes when the primary is killed
    const SIZE = 1024 * 1024;
    const c = net.connect(s.port, "127.0.0.1");
    const parts: Buffer[] = [];
    const end = new Promise<void>((r) => c.once("end", () => r()));
    await new Promise<void>((resolve) => {
      let greeted = false;
      let begun = false;
      c.on("data", (d: Buffer) => {
        if (!greeted) { greeted = true; d = d.subarray(d.indexOf(10) + 1); c.write(`BIG ${SIZE}\n`); }
        if (d.length > 0) parts.push(d);
        if (d.length > 0 && !begun) { begun = true; c.pause(); resolve(); }
      });
    });
    s.proc.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    c.resume();
    await end;
    expect(Buffer.concat(parts).length).toBe(SIZE);
    c.destroy();
    await untilGone([b]); // it drained (its connection closed itself) and ended: no orphan
  });
});

describe.skipIf(missing("the built host (npm run build)", !built) || onBackend("native", "`serveOnCores()` threads"))("serveOnCores() threads on net", () => {
  it("are refused with an error that says what is needed", async () => {
    const { serveOnCores } = await import("../../host/index.js");
    await expect(serveOnCores(2, () => {}, { mode: "thread" })).rejects.toThrow(/threads need the native backend.*mode: 'process'/);
  });
});

describe("serveOnCores() arguments", () => {
  it("checks count, setup and options", async () => {
    const { serveOnCores } = await import("../../host/index.js");
    await expect(serveOnCores(0, () => {})).rejects.toThrow(/count must be an integer in 1\.\.1024, got 0/);
    await expect(serveOnCores(2, "x" as never)).rejects.toThrow(/setup must be a function/);
    await expect(serveOnCores(2, () => {}, { mode: "fiber" as never })).rejects.toThrow(/mode must be 'process' or 'thread'/);
    await expect(serveOnCores(2, () => {}, { nope: 1 } as never)).rejects.toThrow(/unknown option "nope"/);
    await expect(serveOnCores(2, () => {}, { drainTimeout: -1 })).rejects.toThrow(/drainTimeout must be a number of seconds >= 0/);
    void visit;
  });
});
