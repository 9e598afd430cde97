// Hostile datagram use against the runner (issue 19, ABI wasyncore_sock_v3). Two levels:
//   - raw WebAssembly modules under WasmServer (as hostile.test.ts): bad arguments fail with an errno
//     inside the module, a sendto flood to a granted address is held to the send rate, a module that
//     never reads holds at most its datagram queue and budget (the rest dropped and counted) — while a
//     co-hosted echo module keeps answering;
//   - the module's socket table (ModuleSockets) called as a module would, over real loopback UDP:
//     truncation as recvfrom(2), the reply rule (recent senders only, bounded, expiring), descriptors.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { WasmServer, WasmServerError, DEFAULT_SOCKET_LIMITS } from "../../host/sandbox/index.js";
import { ModuleSockets } from "../../host/sandbox/datagrams.js";
import { Grants } from "../../host/sandbox/grants.js";
import { assemble, op, c, call, load, store, I32, type FuncImport } from "./wasm.js";
import { until } from "./helpers.js";
import { Bystander } from "./bystander.js";

const V3 = "wasyncore_sock_v3";
const IMP: Record<string, FuncImport> = {
  proc_exit: { module: "wasi_snapshot_preview1", name: "proc_exit", params: [I32], results: [] },
  sock_open: { module: V3, name: "sock_open", params: [I32], results: [I32] },
  sock_bind: { module: V3, name: "sock_bind", params: [I32, I32, I32, I32], results: [I32] },
  sock_send: { module: V3, name: "sock_send", params: [I32, I32, I32], results: [I32] },
  sock_listen: { module: V3, name: "sock_listen", params: [I32, I32], results: [I32] },
  sock_connect: { module: V3, name: "sock_connect", params: [I32, I32, I32, I32], results: [I32] },
  sock_open_dgram: { module: V3, name: "sock_open_dgram", params: [I32], results: [I32] },
  sock_sendto: { module: V3, name: "sock_sendto", params: [I32, I32, I32, I32, I32, I32], results: [I32] },
  sock_recvfrom: { module: V3, name: "sock_recvfrom", params: [I32, I32, I32, I32, I32], results: [I32] },
};

/** A host-flavour module importing `names` (from IMP): `init` runs as main(), `pass` as server_pass. */
function hostile(names: string[], parts: (fn: (n: string) => number) => { init?: number[]; pass?: number[] }, data: { offset: number; bytes: string }[] = []): Uint8Array {
  const fn = (n: string): number => { const i = names.indexOf(n); if (i < 0) throw new Error(`no import ${n}`); return i; };
  const p = parts(fn);
  return assemble({
    funcImports: names.map((n) => IMP[n]),
    funcs: [
      { export: "_initialize", body: p.init ?? [] },
      { export: "server_pass", results: [I32], body: p.pass ?? c(0) },
    ],
    data,
  });
}

let bystander: Bystander;

/** Pushes 1 << bit onto the running sum when the i32 on the stack equals `expected`. */
const check = (expected: number, bit: number): number[] => [...c(expected), op.i32Eq, ...c(1 << bit), op.i32Mul, op.i32Add];


/** A node:dgram socket on loopback that counts what arrives. */
async function receiver(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[]; from: dgram.RemoteInfo[] }> {
  const sock = dgram.createSocket("udp4");
  const got: Buffer[] = [];
  const from: dgram.RemoteInfo[] = [];
  sock.on("message", (m, r) => { got.push(m); from.push(r); });
  sock.bind(0, "127.0.0.1");
  await once(sock, "listening");
  return { sock, port: sock.address().port, got, from };
}

beforeAll(async () => { bystander = await Bystander.start(); }, 60_000);
afterAll(() => bystander?.close());

const HOST = { offset: 512, bytes: "127.0.0.1" };
const NOT_IP = { offset: 600, bytes: "example.com" };
const V6 = { offset: 640, bytes: "::1" };
const EINVAL = -28, EACCES = -2, EMSGSIZE = -35, EAFNOSUPPORT = -5, ENOTSUP = -58, EDESTADDRREQ = -17, EBADF = -8;

describe("bad datagram arguments fail with an errno inside the module", () => {
  it("len 0 is a datagram; > 65507, pointers past memory, a name, ports out of range, the wrong family, ungranted: errnos", async () => {
    const r = await receiver();
    const page = 65536;
    // fd in memory[0]; each check adds one bit to the exit code
    const sendto = (ptr: number, len: number, host: { offset: number; bytes: string }, port: number, hostLen = host.bytes.length): number[] =>
      [...load(0), ...c(ptr), ...c(len), ...c(host.offset), ...c(hostLen), ...c(port)];
    const checks: [number[], number][] = [
      [sendto(0, 0, HOST, r.port), 0], // an empty datagram is a datagram
      [sendto(0, 65508, HOST, r.port), EMSGSIZE],
      [sendto(page - 4, 8, HOST, r.port), EINVAL], // data past the end of memory
      [sendto(-16, 8, HOST, r.port), EINVAL], // a "negative" pointer is 4 GiB - 16
      [sendto(0, 8, { offset: page - 2, bytes: "127.0.0.1" }, r.port), EINVAL], // host text past memory
      [sendto(0, 8, NOT_IP, r.port), EINVAL], // no name resolution in the sandbox
      [sendto(0, 8, HOST, 0), EINVAL],
      [sendto(0, 8, HOST, 70000), EINVAL],
      [sendto(0, 8, HOST, -1), EINVAL],
      [sendto(0, 8, V6, r.port), EAFNOSUPPORT], // an IPv6 address from an IPv4 socket
      [sendto(0, 8, HOST, r.port === 65535 ? 65534 : r.port + 1), EACCES], // not granted, never heard from
      [sendto(0, 8, HOST, r.port, 5000), EINVAL], // host text longer than any address
    ];
    const bytes = hostile(["proc_exit", "sock_open_dgram", "sock_sendto", "sock_recvfrom", "sock_bind", "sock_send", "sock_listen", "sock_connect"], (fn) => ({
      init: [
        ...store(0, [...c(4), ...call(fn("sock_open_dgram"))]),
        ...c(0),
        ...checks.flatMap(([args, want], i) => [...args, ...call(fn("sock_sendto")), ...check(want, i)]),
        // recvfrom: address record past memory, a record shorter than 8 bytes, nothing queued (EAGAIN)
        ...load(0), ...c(64), ...c(16), ...c(page - 4), ...c(64), ...call(fn("sock_recvfrom")), ...check(EINVAL, 12),
        ...load(0), ...c(64), ...c(16), ...c(128), ...c(4), ...call(fn("sock_recvfrom")), ...check(EINVAL, 13),
        ...load(0), ...c(64), ...c(16), ...c(128), ...c(64), ...call(fn("sock_recvfrom")), ...check(-6, 14),
        // stream calls on a datagram socket, datagram calls on a bad descriptor
        ...load(0), ...c(64), ...c(4), ...call(fn("sock_send")), ...check(EDESTADDRREQ, 15),
        ...load(0), ...c(8), ...call(fn("sock_listen")), ...check(ENOTSUP, 16),
        ...load(0), ...c(HOST.offset), ...c(HOST.bytes.length), ...c(r.port), ...call(fn("sock_connect")), ...check(ENOTSUP, 17),
        ...c(9999), ...c(0), ...c(8), ...c(HOST.offset), ...c(HOST.bytes.length), ...c(r.port), ...call(fn("sock_sendto")), ...check(EBADF, 18),
        // bind outside the --listen-udp grant (a fresh socket: the first is bound by its sends); an unknown family
        ...c(4), ...call(fn("sock_open_dgram")), ...c(HOST.offset), ...c(HOST.bytes.length), ...c(9), ...call(fn("sock_bind")), ...check(EACCES, 19),
        ...c(5), ...call(fn("sock_open_dgram")), ...check(EAFNOSUPPORT, 20),
        ...call(fn("proc_exit")),
      ],
    }), [HOST, NOT_IP, V6]);
    const err = await bystander.stillServing(WasmServer.start(bytes, { name: "bad-args", allowUdp: [`127.0.0.1:${r.port}`] }).then(() => null, (e: unknown) => e));
    expect(err).toBeInstanceOf(WasmServerError);
    expect((err as Error).message).toBe(`wasyncore: module bad-args stopped: the module exited with code ${(1 << 21) - 1} (proc_exit)`);
    await until(() => r.got.length === 1, 5000, "the empty datagram");
    expect(r.got[0].length).toBe(0);
    r.sock.close();
  });
});

describe("floods", () => {
  it("sendto without end to a granted address is held to the send rate; the runner and its neighbour go on", async () => {
    const r = await receiver();
    const rate = 2000;
    // every pass: 1000 sendto of 100 bytes, then "call me again"
    const bytes = hostile(["sock_open_dgram", "sock_sendto"], (fn) => ({
      init: [...store(0, [...c(4), ...call(fn("sock_open_dgram"))])],
      pass: [
        ...store(4, c(0)),
        op.loop, op.void,
        ...load(0), ...c(1024), ...c(100), ...c(HOST.offset), ...c(HOST.bytes.length), ...c(r.port), ...call(fn("sock_sendto")), op.drop,
        ...store(4, [...load(4), ...c(1), op.i32Add]),
        ...load(4), ...c(1000), op.i32LtS, op.brIf, 0,
        op.end,
        ...c(1),
      ],
    }), [HOST]);
    const bad = await WasmServer.start(bytes, { name: "udp-flood", allowUdp: [`127.0.0.1:${r.port}`], limits: { dgramSendRate: rate } });
    const t0 = Date.now();
    await bystander.stillServing(new Promise((res) => setTimeout(res, 1500)));
    const stats = await bad.stats();
    const elapsed = (Date.now() - t0) / 1000;
    bad.close();
    await bad.done;
    // a burst of one second's worth, then the rate
    expect(stats.datagrams.sent).toBeLessThanOrEqual(rate + Math.ceil(rate * (elapsed + 0.5)));
    expect(stats.datagrams.sent).toBeGreaterThan(rate / 2);
    expect(stats.datagrams.sendQueued).toBeLessThanOrEqual(DEFAULT_SOCKET_LIMITS.dgramSendBudget);
    expect(r.got.length).toBeLessThanOrEqual(stats.datagrams.sent + rate);
    r.sock.close();
  });

  it("a module that never reads: each socket holds at most dgramQueue datagrams and the module dgramRecvBudget bytes; the rest are dropped and counted", async () => {
    const bytes = hostile(["sock_open_dgram", "sock_bind"], (fn) => ({
      init: [
        ...store(0, [...c(4), ...call(fn("sock_open_dgram"))]),
        ...load(0), ...c(HOST.offset), ...c(HOST.bytes.length), ...c(0), ...call(fn("sock_bind")), op.drop,
      ],
    }), [HOST]);
    const limits = { dgramQueue: 64, dgramRecvBudget: 40_000 };
    const bad = await WasmServer.start(bytes, { name: "never-reads-udp", listenUdp: ["127.0.0.1:0"], limits });
    expect(bad.listeningUdp).toHaveLength(1);
    const port = bad.listeningUdp[0].port;
    const c1 = dgram.createSocket("udp4");
    await bystander.stillServing((async () => {
      // small datagrams fill the count bound; large ones the byte budget
      for (let i = 0; i < 300; i++) c1.send(Buffer.alloc(10, i), port, "127.0.0.1");
      let st = await bad.stats();
      for (let i = 0; i < 200 && st.datagrams.received + st.datagrams.dropped < 300; i++) { await new Promise((r) => setTimeout(r, 10)); st = await bad.stats(); }
      expect(st.datagrams.queued).toBe(limits.dgramQueue);
      expect(st.datagrams.dropped).toBeGreaterThan(0);
    })());
    let st = await bad.stats();
    expect(st.datagrams.queuedBytes).toBeLessThanOrEqual(limits.dgramRecvBudget);
    bad.close();
    await bad.done;
    c1.close();
    // the byte budget: a module with room for many datagrams, but few bytes
    const big = await WasmServer.start(bytes, { name: "never-reads-big", listenUdp: ["127.0.0.1:0"], limits: { dgramRecvBudget: 100_000 } });
    const c2 = dgram.createSocket("udp4");
    const bigPort = big.listeningUdp[0].port;
    for (let i = 0; i < 20; i++) c2.send(Buffer.alloc(30_000, i), bigPort, "127.0.0.1");
    st = await big.stats();
    for (let i = 0; i < 200 && st.datagrams.received + st.datagrams.dropped < 20; i++) { await new Promise((r) => setTimeout(r, 10)); st = await big.stats(); }
    expect(st.datagrams.queuedBytes).toBeLessThanOrEqual(100_000);
    expect(st.datagrams.queued).toBe(3);
    expect(st.datagrams.dropped).toBeGreaterThan(0);
    big.close();
    await big.done;
    c2.close();
  });
});

/** The module's socket table in this process, with memory of its own, called as a module would. */
function table(grants: Grants, limits = {}) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  let wakes = 0;
  const t = new ModuleSockets(grants, () => memory, () => { wakes++; }, limits);
  const f = t.imports();
  const mem = new Uint8Array(memory.buffer);
  const put = (at: number, s: string): [number, number] => { const b = Buffer.from(s); mem.set(b, at); return [at, b.length]; };
  return {
    t, f, mem, wakes: () => wakes,
    sendto(fd: number, data: string, host: string, port: number): number {
      put(0, data);
      const [h, hl] = put(4096, host);
      return f.sock_sendto(fd, 0, Buffer.byteLength(data), h, hl, port);
    },
    bind(fd: number, host: string, port: number): number {
      const [h, hl] = put(4096, host);
      return f.sock_bind(fd, h, hl, port);
    },
    /** recvfrom into (8192, len): [count, host, port, full length, bytes]. */
    recvfrom(fd: number, len: number): [number, string, number, number, string] {
      const n = f.sock_recvfrom(fd, 8192, len, 16384, 64);
      if (n < 0) return [n, "", 0, 0, ""];
      const v = new DataView(memory.buffer);
      const host = Buffer.from(mem.subarray(16392, 16392 + v.getUint16(16386, true))).toString();
      return [n, host, v.getUint16(16384, true), v.getUint32(16388, true), Buffer.from(mem.subarray(8192, 8192 + n)).toString()];
    },
    port(fd: number): number { return f.sock_local_port(fd); },
    /** sock_poll over one record: its revents. */
    poll(fd: number, events = 0x005): number {
      const v = new DataView(memory.buffer);
      v.setInt32(20000, fd, true);
      v.setUint16(20004, events, true);
      v.setUint16(20006, 0, true);
      f.sock_poll(20000, 1);
      return v.getUint16(20006, true);
    },
  };
}

describe("the datagram table (ModuleSockets) over loopback", () => {
  it("a datagram longer than the buffer is truncated as recvfrom(2) does: the rest is gone, the full length is reported", async () => {
    const m = table(new Grants([], [], ["127.0.0.1:0"]));
    const fd = m.f.sock_open_dgram(4);
    expect(m.bind(fd, "127.0.0.1", 0)).toBe(0);
    expect(m.poll(fd)).toBe(0x004); // writable, nothing to read
    const c1 = dgram.createSocket("udp4");
    c1.bind(0, "127.0.0.1");
    await once(c1, "listening");
    c1.send(Buffer.from("0123456789".repeat(100)), m.port(fd), "127.0.0.1");
    c1.send(Buffer.from("next"), m.port(fd), "127.0.0.1");
    await until(() => m.t.datagramStats().queued === 2, 5000, "two datagrams");
    expect(m.poll(fd)).toBe(0x005);
    expect(m.recvfrom(fd, 10)).toEqual([10, "127.0.0.1", c1.address().port, 1000, "0123456789"]);
    expect(m.recvfrom(fd, 100)).toEqual([4, "127.0.0.1", c1.address().port, 4, "next"]);
    expect(m.recvfrom(fd, 100)[0]).toBe(-6); // EAGAIN: the truncated rest did not stay behind
    expect(m.poll(fd)).toBe(0x004);
    m.t.closeAll();
    c1.close();
  });

  it("the reply rule: a --listen-udp socket may answer recent senders only; the table is bounded and entries expire", async () => {
    const m = table(new Grants([], [], ["127.0.0.1:0"]), { dgramPeers: 2, dgramReplyMs: 300 });
    const fd = m.f.sock_open_dgram(4);
    expect(m.bind(fd, "127.0.0.1", 0)).toBe(0);
    const clients = await Promise.all([0, 1, 2].map(() => receiver()));
    const [a, b, cc] = clients;
    // never heard from: EACCES
    expect(m.sendto(fd, "x", "127.0.0.1", a.port)).toBe(-2);
    a.sock.send("hi", m.port(fd), "127.0.0.1");
    await until(() => m.t.datagramStats().received === 1, 5000, "a's datagram");
    expect(m.sendto(fd, "re a", "127.0.0.1", a.port)).toBe(4);
    await until(() => a.got.length === 1, 5000, "the reply");
    expect(a.got[0].toString()).toBe("re a");
    // b and c write too: the table holds 2 senders, a (the oldest) is forgotten
    b.sock.send("hi", m.port(fd), "127.0.0.1");
    await until(() => m.t.datagramStats().received === 2, 5000, "b's datagram");
    cc.sock.send("hi", m.port(fd), "127.0.0.1");
    await until(() => m.t.datagramStats().received === 3, 5000, "c's datagram");
    expect(m.sendto(fd, "re a", "127.0.0.1", a.port)).toBe(-2);
    expect(m.sendto(fd, "re b", "127.0.0.1", b.port)).toBe(4);
    expect(m.sendto(fd, "re c", "127.0.0.1", cc.port)).toBe(4);
    // after dgramReplyMs without a datagram from them: EACCES again
    await new Promise((r) => setTimeout(r, 400));
    expect(m.sendto(fd, "late", "127.0.0.1", b.port)).toBe(-2);
    // another socket of the module (not bound under --listen-udp) may not answer them either
    const other = m.f.sock_open_dgram(4);
    cc.sock.send("again", m.port(fd), "127.0.0.1");
    await until(() => m.t.datagramStats().received === 4, 5000, "c's second datagram");
    expect(m.sendto(other, "re c", "127.0.0.1", cc.port)).toBe(-2);
    expect(m.sendto(fd, "re c", "127.0.0.1", cc.port)).toBe(4);
    expect(m.t.denied.filter((d) => d.startsWith("sendto"))).toHaveLength(4);
    // a flood of refused sends is counted, and only the first 100 are listed for the logs
    for (let i = 0; i < 10_000; i++) expect(m.sendto(other, "x", "127.0.0.1", 1 + (i % 60000))).toBe(-2);
    expect(m.t.datagramStats().denied).toBe(10_004);
    expect(m.t.denied.filter((d) => d.startsWith("sendto"))).toHaveLength(100);
    m.t.closeAll();
    for (const c2 of clients) c2.sock.close();
  });

  it("a client socket (no bind) sends to an --allow-udp address from an ephemeral port and receives the answer", async () => {
    const r = await receiver();
    const m = table(new Grants([], [], [], [`127.0.0.1:${r.port}`]));
    const fd = m.f.sock_open_dgram(4);
    expect(m.port(fd)).toBe(0);
    expect(m.sendto(fd, "ping", "127.0.0.1", r.port)).toBe(4);
    await until(() => r.got.length === 1, 5000, "the ping");
    expect(m.port(fd)).toBe(r.from[0].port);
    r.sock.send("pong", r.from[0].port, "127.0.0.1");
    await until(() => m.t.datagramStats().queued === 1, 5000, "the pong");
    expect(m.recvfrom(fd, 100)).toEqual([4, "127.0.0.1", r.port, 4, "pong"]);
    // bind after the implicit bind, and binding an IPv6 address from IPv4: EINVAL / EAFNOSUPPORT
    expect(m.bind(fd, "127.0.0.1", 0)).toBe(-28);
    expect(m.bind(m.f.sock_open_dgram(4), "::1", 0)).toBe(-5);
    m.t.closeAll();
    r.sock.close();
  });

  it("datagram descriptors count against the module's descriptor budget; closing frees them; closed is EBADF", () => {
    const m = table(new Grants(), { maxFds: 3 });
    const fds = [m.f.sock_open_dgram(4), m.f.sock_open(4), m.f.sock_open_dgram(6)];
    expect(fds.every((fd) => fd > 0)).toBe(true);
    expect(new Set(fds).size).toBe(3); // one numbering for streams and datagrams
    expect(m.f.sock_open_dgram(4)).toBe(-33); // EMFILE
    expect(m.f.sock_open(4)).toBe(-33);
    expect(m.f.sock_close(fds[0])).toBe(0);
    expect(m.f.sock_close(fds[0])).toBe(-8);
    expect(m.recvfrom(fds[0], 10)[0]).toBe(-8);
    expect(m.f.sock_recvfrom(fds[1], 0, 10, 0, 0)).toBe(-58); // a stream: ENOTSUP
    const fresh = m.f.sock_open_dgram(4);
    expect(fresh).toBeGreaterThan(0);
    // one sock_poll over a stream, a datagram socket and an unknown descriptor: each answered by its table
    const v = new DataView(m.mem.buffer);
    [[fds[1], 0x005], [fresh, 0x005], [4242, 0x001]].forEach(([fd, ev], i) => {
      v.setInt32(30000 + i * 8, fd, true);
      v.setUint16(30004 + i * 8, ev, true);
      v.setUint16(30006 + i * 8, 0xffff, true);
    });
    expect(m.f.sock_poll(30000, 3)).toBe(2);
    expect([0, 1, 2].map((i) => v.getUint16(30006 + i * 8, true))).toEqual([0, 0x004, 0x008]);
    m.t.closeAll();
    expect(m.f.sock_open_dgram(4)).toBe(-8); // the module is gone
    // a :0 --listen-udp grant binds at most ephemeralListeners sockets at once
    const e = table(new Grants([], [], ["127.0.0.1:0"]), { ephemeralListeners: 2 });
    const bound = [0, 1, 2].map(() => e.bind(e.f.sock_open_dgram(4), "127.0.0.1", 0));
    expect(bound).toEqual([0, 0, -33]);
    expect(e.t.listenFailures).toEqual(["listen-udp 127.0.0.1:0: EMFILE (a :0 grant allows 2 sockets)"]);
    e.t.closeAll();
  });
});
