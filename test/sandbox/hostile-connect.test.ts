// Hostile modules against sock_connect (issue 19), in the style of hostile.test.ts: every bad argument
// — a host pointer or length outside the memory, text that is no IP address, a port out of range, a
// listening, closed or foreign descriptor, a second connect — is an errno inside the module, never a
// runner crash or stall, and nothing outside the grant reaches the network; connect storms to a granted
// address stop at the module's descriptor budget while a co-hosted echo module keeps answering.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { WasmServer, DEFAULT_SOCKET_LIMITS } from "../../host/sandbox/index.js";
import { assemble, withImports, op, c, call, get, set, load, store, I32, type ModuleSpec } from "./wasm.js";
import { until } from "./helpers.js";
import { Bystander } from "./bystander.js";


const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** A loopback listener in this process that counts (and drops) the connections it receives. */
async function trap(host = "127.0.0.1"): Promise<{ port: number; count: () => number; close: () => void }> {
  let n = 0;
  const s = net.createServer((x) => { n++; x.destroy(); });
  s.listen(0, host);
  await once(s, "listening");
  return { port: (s.address() as net.AddressInfo).port, count: () => n, close: () => s.close() };
}

let bystander: Bystander;

/** The same in another process (connect storms would load this one's loop): its count as it prints it. */
async function remoteTrap(): Promise<{ port: number; count: () => number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ["-e", `
    let n = 0, shown = -1;
    const s = require("node:net").createServer((x) => { n++; x.on("error", () => {}); x.destroy(); });
    s.listen(0, "127.0.0.1", () => console.log("port " + s.address().port));
    setInterval(() => { if (n !== shown) { shown = n; console.log("count " + n); } }, 20);`], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  await until(() => /port (\d+)/.test(out), 10_000, "the trap process to listen");
  const count = (): number => Number([...out.matchAll(/count (\d+)/g)].at(-1)?.[1] ?? 0);
  return { port: Number(/port (\d+)/.exec(out)![1]), count, proc };
}

beforeAll(async () => { bystander = await Bystander.start(); }, 60_000);
afterAll(() => bystander?.close());

const NAMES = ["proc_exit", "sock_open", "sock_bind", "sock_listen", "sock_connect", "sock_close", "sock_error"];
/** Texts in the module's memory: [offset, bytes]. */
const V4 = 512, V6 = 600, NAME = 640, NUL = 700;
const DATA: ModuleSpec["data"] = [
  { offset: V4, bytes: "127.0.0.1" }, { offset: V6, bytes: "::1" }, { offset: NAME, bytes: "example.com" }, { offset: NUL, bytes: "127.0.0.1\0" },
];
type Fn = (n: string) => number;
/** fd = sock_open(family) at address 0. */
const OPEN = (fn: Fn, family = 4): number[] => store(0, [...c(family), ...call(fn("sock_open"))]);
/** sock_connect(fd expression, ptr, len, port): leaves rc on the stack. */
const CONNECT = (fn: Fn, fd: number[], ptr: number, len: number, port: number): number[] => [...fd, ...c(ptr), ...c(len), ...c(port), ...call(fn("sock_connect"))];
/** proc_exit(-rc) for the rc on the stack. */
const EXIT_NEG = (fn: Fn): number[] => [...set(0), ...c(0), ...get(0), op.i32Sub, ...call(fn("proc_exit"))];

/** A module whose main() runs `init`, and whose passes run `pass` (returns i32). */
function module(parts: (fn: Fn) => { init?: number[]; pass?: number[]; locals?: number }): Uint8Array {
  const { funcImports, fn } = withImports(NAMES);
  const p = parts(fn);
  return assemble({
    funcImports,
    funcs: [
      { export: "_initialize", locals: p.locals ?? 2, body: p.init ?? [] },
      { export: "server_pass", results: [I32], locals: p.locals ?? 2, body: p.pass ?? c(0) },
    ],
    data: DATA,
  });
}

/** Runs `bytes`, expecting it to exit with `code` (its errno), while the co-hosted module keeps serving. */
async function expectExit(bytes: Uint8Array, name: string, code: number, opts: { allowConnect?: string[]; listen?: string[] } = {}): Promise<void> {
  const run = (async () => {
    const s = await WasmServer.start(bytes, { name, listen: opts.listen ?? ["127.0.0.1:0"], allowConnect: opts.allowConnect ?? [] });
    return s.done;
  })();
  const err = await bystander.stillServing(run.then((e) => e, (e: unknown) => e));
  expect((err as Error | null)?.message).toBe(`wasyncore: module ${name} stopped: the module exited with code ${code} (proc_exit)`);
}

const [EACCES, EAFNOSUPPORT, EALREADY, EBADF, ECONNREFUSED, EINVAL, EISCONN] = [2, 5, 7, 8, 14, 28, 30];

describe("sock_connect arguments: an errno inside the module, nothing on the network", () => {
  let target: Awaited<ReturnType<typeof trap>>;
  let grant: string[];
  beforeAll(async () => {
    target = await trap();
    grant = [`127.0.0.1:${target.port}`, "127.0.0.1:0", `[::1]:${target.port}`];
  });
  afterAll(() => target.close());

  const cases: [string, (fn: Fn, port: number) => number[], number][] = [
    ["a host pointer past the memory", (fn, p) => CONNECT(fn, load(0), 70_000, 9, p), EINVAL],
    ["a host pointer at 4 GiB − 16", (fn, p) => CONNECT(fn, load(0), -16, 9, p), EINVAL],
    ["a huge host length (2 GiB)", (fn, p) => CONNECT(fn, load(0), V4, 0x7fffffff, p), EINVAL],
    ["a host length of −1 (4 GiB)", (fn, p) => CONNECT(fn, load(0), V4, -1, p), EINVAL],
    ["an empty host", (fn, p) => CONNECT(fn, load(0), V4, 0, p), EAFNOSUPPORT],
    ["a name, not an IP address", (fn, p) => CONNECT(fn, load(0), NAME, 11, p), EAFNOSUPPORT],
    ["an IP address with a trailing NUL", (fn, p) => CONNECT(fn, load(0), NUL, 10, p), EAFNOSUPPORT],
    ["IPv6 text on an IPv4 socket", (fn, p) => CONNECT(fn, load(0), V6, 3, p), EAFNOSUPPORT],
    ["port −1", (fn) => CONNECT(fn, load(0), V4, 9, -1), EINVAL],
    ["port 65536", (fn) => CONNECT(fn, load(0), V4, 9, 65536), EINVAL],
    ["port 0 (even when a grant names it)", (fn) => CONNECT(fn, load(0), V4, 9, 0), EINVAL],
    ["a listening descriptor", (fn, p) => [
      ...store(4, [...c(4), ...call(fn("sock_open"))]),
      ...load(4), ...c(V4), ...c(9), ...c(0), ...call(fn("sock_bind")), op.drop,
      ...load(4), ...c(4), ...call(fn("sock_listen")), op.drop,
      ...CONNECT(fn, load(4), V4, 9, p)], EINVAL],
    ["a bound descriptor", (fn, p) => [
      ...load(0), ...c(V4), ...c(9), ...c(0), ...call(fn("sock_bind")), op.drop,
      ...CONNECT(fn, load(0), V4, 9, p)], EINVAL],
    ["a closed descriptor", (fn, p) => [...load(0), ...call(fn("sock_close")), op.drop, ...CONNECT(fn, load(0), V4, 9, p)], EBADF],
    ["stdout's descriptor", (fn, p) => CONNECT(fn, c(1), V4, 9, p), EBADF],
    ["descriptor −1", (fn, p) => CONNECT(fn, c(-1), V4, 9, p), EBADF],
    ["an address outside the grant", (fn, p) => CONNECT(fn, load(0), V4, 9, p === 65535 ? 65534 : p + 1), EACCES],
    ["an IPv6 socket to an ungranted IPv6 address", (fn, p) => [...OPEN(fn, 6), ...CONNECT(fn, load(0), V6, 3, p === 65535 ? 65534 : p + 1)], EACCES],
    // exit code 100 × the first connect's errno + the second's: EALREADY when the first started
    ["a second connect while the first is in flight", (fn, p) => [
      ...CONNECT(fn, load(0), V4, 9, p), ...c(100), op.i32Mul, ...CONNECT(fn, load(0), V4, 9, p), op.i32Add], EALREADY],
  ];

  it.each(cases)("%s", async (what, body, errno) => {
    const name = what.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").slice(0, 40);
    const before = target.count();
    const bytes = module((fn) => ({ init: [...OPEN(fn), ...body(fn, target.port), ...EXIT_NEG(fn)] }));
    await expectExit(bytes, name, errno, { allowConnect: grant });
    if (errno !== EALREADY) {
      await new Promise((r) => setTimeout(r, 100)); // time for a leaked connect to arrive
      expect(target.count() - before).toBe(0);
    }
  });

  it("a second connect once connected: EISCONN (the first completed through a pass)", async () => {
    const bytes = module((fn) => ({
      init: [...OPEN(fn), ...CONNECT(fn, load(0), V4, 9, target.port), op.i32Eqz, op.if, op.void, op.else, ...c(100), ...call(fn("proc_exit")), op.end],
      // each pass: connect again; EALREADY while in flight, then EISCONN → exit
      pass: [...CONNECT(fn, load(0), V4, 9, target.port), op.localTee, 0, ...c(-EALREADY), op.i32Ne, op.if, op.void, ...c(0), ...get(0), op.i32Sub, ...call(fn("proc_exit")), op.end, ...c(0)],
    }));
    await expectExit(bytes, "connect-twice", EISCONN, { allowConnect: grant });
  });

  it("a granted port nobody listens on: sock_connect starts (0), then sock_error says ECONNREFUSED (IPv4 and IPv6)", async () => {
    for (const [family, ptr, len, host] of [[4, V4, 9, "127.0.0.1"], [6, V6, 3, "::1"]] as const) {
      const s = net.createServer().listen(0, host);
      await once(s, "listening");
      const port = (s.address() as net.AddressInfo).port;
      await new Promise((r) => s.close(r));
      const bytes = module((fn) => ({
        init: [...OPEN(fn, family), ...CONNECT(fn, load(0), ptr, len, port), op.i32Eqz, op.if, op.void, op.else, ...c(100), ...call(fn("proc_exit")), op.end],
        pass: [...load(0), ...call(fn("sock_error")), op.localTee, 0, op.if, op.void, ...get(0), ...call(fn("proc_exit")), op.end, ...c(0)],
      }));
      await expectExit(bytes, `refused-v${family}`, ECONNREFUSED, { allowConnect: [host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`] });
    }
  });
});

describe("connect storms to a granted address", () => {
  let target: Awaited<ReturnType<typeof remoteTrap>>;
  beforeAll(async () => { target = await remoteTrap(); });
  afterAll(() => { target.proc.kill(); });

  it("5,000 connects in main(): the module's descriptor budget (256 here) holds: exactly 256 connections reach the target (a connect in flight holds a descriptor)", async () => {
    const before = target.count();
    // open + connect 5,000 times (opens past the budget fail with EMFILE)
    const bytes = module((fn) => ({
      init: [
        op.block, op.void, op.loop, op.void,
        ...get(1), ...c(5000), op.i32GeS, op.brIf, 1,
        ...c(4), ...call(fn("sock_open")), op.localTee, 0, ...c(0), op.i32GeS,
        op.if, op.void,
        ...CONNECT(fn, get(0), V4, 9, target.port), op.i32Eqz, op.if, op.void, ...store(4, [...load(4), ...c(1), op.i32Add]), op.end,
        op.else, ...store(8, [...load(8), ...c(1), op.i32Add]),
        op.end,
        ...get(1), ...c(1), op.i32Add, ...set(1), op.br, 0,
        op.end, op.end,
      ],
    }));
    // a budget below the default (1,024) so the machine's own descriptor limit is never what stops it
    const budget = 256;
    expect(budget).toBeLessThan(DEFAULT_SOCKET_LIMITS.maxFds);
    const mod = await WasmServer.start(bytes, { name: "connect-storm", listen: ["127.0.0.1:0"], allowConnect: [`127.0.0.1:${target.port}`], limits: { maxFds: budget } });
    try {
      await bystander.stillServing(until(() => target.count() - before >= budget, 30_000, `the trap to see ${budget} connections`));
      await new Promise((r) => setTimeout(r, 200));
      expect(target.count() - before).toBe(budget);
      expect((await mod.stats()).sockets.fds).toBe(budget);
      expect(fdsOf(mod.pid)).toBeLessThan(budget + 64);
      expect(mod.alive).toBe(true);
    } finally {
      mod.close();
    }
    expect(await mod.done).toBe(null);
  }, 60_000);

  it("close-and-reconnect churn (2,000 connects, 64 descriptors): bounded descriptors, the runner keeps serving", async () => {
    const before = target.count();
    const SLOTS = 64;
    // each pass: for every slot, close its descriptor (if any), open and connect anew; until 2,000 connects
    const bytes = module((fn) => ({
      locals: 2,
      pass: [
        op.block, op.void,
        ...load(4), ...c(2000), op.i32GeS, op.brIf, 0,
        ...c(0), ...set(1),
        op.loop, op.void,
        ...c(16), ...get(1), ...c(4), op.i32Mul, op.i32Add, op.i32Load, 2, 0, op.localTee, 0,
        op.if, op.void, ...get(0), ...call(fn("sock_close")), op.drop, op.end,
        ...c(16), ...get(1), ...c(4), op.i32Mul, op.i32Add, ...c(4), ...call(fn("sock_open")), op.localTee, 0, op.i32Store, 2, 0,
        ...get(0), ...c(0), op.i32GeS, op.if, op.void,
        ...CONNECT(fn, get(0), V4, 9, target.port), op.i32Eqz, op.if, op.void, ...store(4, [...load(4), ...c(1), op.i32Add]), op.end,
        op.else, ...c(16), ...get(1), ...c(4), op.i32Mul, op.i32Add, ...c(0), op.i32Store, 2, 0,
        op.end,
        ...get(1), ...c(1), op.i32Add, op.localTee, 1, ...c(SLOTS), op.i32LtS, op.brIf, 0,
        op.end,
        op.end,
        ...load(4), ...c(2000), op.i32LtS, // call again soon while churning
      ],
    }));
    const mod = await WasmServer.start(bytes, { name: "connect-churn", listen: ["127.0.0.1:0"], allowConnect: [`127.0.0.1:${target.port}`], limits: { maxFds: SLOTS + 1 } });
    const base = fdsOf(mod.pid);
    let peak = 0;
    try {
      await bystander.stillServing((async () => {
        const end = Date.now() + 30_000;
        while (target.count() - before < 1000 && Date.now() < end) {
          peak = Math.max(peak, fdsOf(mod.pid) - base);
          await new Promise((r) => setTimeout(r, 10));
        }
      })());
      expect(target.count() - before).toBeGreaterThanOrEqual(1000);
      expect(peak).toBeLessThanOrEqual(2 * SLOTS + 8); // closes of one pass may be released after its opens
      expect((await mod.stats()).sockets.fds).toBeLessThanOrEqual(SLOTS + 1);
      expect(mod.alive).toBe(true);
    } finally {
      mod.close();
    }
    expect(await mod.done).toBe(null);
  }, 60_000);
});
