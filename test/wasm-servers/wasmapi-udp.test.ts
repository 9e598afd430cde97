// Datagrams in server modules (issue 19): the AssemblyScript UDP echo (examples/assembly/udp-echo.ts)
// answers node:dgram clients byte for byte what its TypeScript twin on the engine's own datagram API
// (examples/udp-echo-server.ts) answers, in the host flavour under the Node runner — in select and
// in poll2 dispatch, from several clients at once, up to the largest datagram. The WASIX flavour:
// @wasmer/sdk 0.16 under Node has no UDP (a WASIX sock_bind of a datagram socket is ENOTSUP), so the
// library's WASIX flavour refuses SOCK_DGRAM with ENOTSUP, and these tests say so.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as dgram from "node:dgram";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { Wasmer } from "@wasmer/sdk/node";
import { ChannelMap, loop, closeAll } from "../../host/index.js";
import { WasmServer } from "../../host/sandbox/index.js";
import { UdpEchoServer } from "../../examples/udp-echo-server.js";
import { built, devNull, fixture, freePort, until } from "./helpers.js";

/** A node:dgram client: sends datagrams, collects replies with their sources. */
class Client {
  readonly got: { data: Buffer; port: number }[] = [];
  private constructor(readonly sock: dgram.Socket) {
    sock.on("message", (data, r) => this.got.push({ data, port: r.port }));
  }

  static async open(): Promise<Client> {
    const sock = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
    sock.bind(0, "127.0.0.1");
    await once(sock, "listening");
    return new Client(sock);
  }

  /** Sends each datagram and waits for its reply before the next (no loss to a full buffer). */
  async exchange(port: number, datagrams: Buffer[]): Promise<Buffer[]> {
    const start = this.got.length;
    for (let i = 0; i < datagrams.length; i++) {
      this.sock.send(datagrams[i], port, "127.0.0.1");
      await until(() => this.got.length > start + i, 10_000, `the reply to datagram ${i} (${datagrams[i].length} bytes)`);
    }
    for (const g of this.got.slice(start)) expect(g.port).toBe(port);
    return this.got.slice(start).map((g) => g.data);
  }

  close(): void { this.sock.close(); }
}

const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff));
const DATAGRAMS = [
  Buffer.alloc(0), Buffer.from("hello, udp"), Buffer.from("h\xe9llo\r\n\0", "latin1"), pattern(256, 1), pattern(1472, 2),
  pattern(1473, 3), pattern(8192, 4), pattern(65507, 5), Buffer.from("last"),
];

describe("UDP echo: AssemblyScript module vs TypeScript example (host flavour)", () => {
  let map: ChannelMap;
  let ts: UdpEchoServer;
  let running: Promise<void>;
  let mod: WasmServer;
  let modPort: number;
  let poll2: WasmServer; // the same module with `-- --use-poll`: poll2 dispatch

  beforeAll(async () => {
    map = new ChannelMap();
    ts = new UdpEchoServer("127.0.0.1", 0, map);
    running = loop({ map, timeout: 0.05 });
    mod = await WasmServer.start(built("udp-echo", "host"), { listenUdp: ["127.0.0.1:0"], stdout: devNull() });
    modPort = mod.listeningUdp[0].port;
    poll2 = await WasmServer.start(built("udp-echo", "host"), { listenUdp: ["127.0.0.1:0"], args: ["--use-poll"], stdout: devNull() });
  }, 60_000);
  afterAll(async () => {
    mod?.close();
    poll2?.close();
    closeAll({ map });
    await running;
  });

  it("the runner reports the bound address; the module has no stream listener", () => {
    expect(mod.listeningUdp).toEqual([{ host: "127.0.0.1", port: modPort }]);
    expect(mod.listening).toEqual([]);
  });

  it("the same replies, byte for byte, from empty to 65507-byte datagrams", async () => {
    const c = await Client.open();
    try {
      const fromTs = await c.exchange(ts.port, DATAGRAMS);
      const fromMod = await c.exchange(modPort, DATAGRAMS);
      const fromPoll2 = await c.exchange(poll2.listeningUdp[0].port, DATAGRAMS);
      fromTs.forEach((d, i) => expect(d.equals(DATAGRAMS[i]), `TypeScript reply ${i}`).toBe(true));
      fromMod.forEach((d, i) => expect(d.equals(fromTs[i]), `module reply ${i} (${d.length} bytes)`).toBe(true));
      fromPoll2.forEach((d, i) => expect(d.equals(fromTs[i]), `poll2 module reply ${i} (${d.length} bytes)`).toBe(true));
    } finally {
      c.close();
    }
  }, 60_000);

  it("three clients at once: each gets its own replies, in order, the same as from the TypeScript server", async () => {
    const clients = await Promise.all([1, 2, 3].map(() => Client.open()));
    try {
      const sets = clients.map((_, k) => Array.from({ length: 40 }, (__, i) => pattern(100 + i * 13, k * 100 + i)));
      const fromTs = await Promise.all(clients.map((c, k) => c.exchange(ts.port, sets[k])));
      const fromMod = await Promise.all(clients.map((c, k) => c.exchange(modPort, sets[k])));
      for (let k = 0; k < 3; k++) {
        expect(Buffer.concat(fromMod[k]).equals(Buffer.concat(fromTs[k]))).toBe(true);
        expect(fromMod[k].map((d) => d.length)).toEqual(sets[k].map((d) => d.length));
      }
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);

  it("a burst of 100 datagrams sent at once comes back whole and in order from both", async () => {
    const burst = Array.from({ length: 100 }, (_, i) => pattern(512, i));
    const replies = async (port: number): Promise<Buffer[]> => {
      const c = await Client.open();
      try {
        for (const d of burst) c.sock.send(d, port, "127.0.0.1");
        await until(() => c.got.length === burst.length, 10_000, `100 replies from ${port} (got ${c.got.length})`);
        return c.got.map((g) => g.data);
      } finally {
        c.close();
      }
    };
    const [a, b, p] = [await replies(ts.port), await replies(modPort), await replies(poll2.listeningUdp[0].port)];
    expect(Buffer.concat(b).equals(Buffer.concat(a))).toBe(true);
    expect(Buffer.concat(p).equals(Buffer.concat(a))).toBe(true);
    expect(Buffer.concat(a).equals(Buffer.concat(burst))).toBe(true);
    const st = await mod.stats();
    expect(st.datagrams.dropped).toBe(0);
    expect(st.datagrams.sent).toBe(st.datagrams.received);
  }, 60_000);

  it.each([["select", []], ["poll2", ["--use-poll"]]])("%s: replies the runner cannot take yet (EAGAIN over dgramSendRate) wait in the module and leave from handleWrite(), in order", async (_mode, args) => {
    const slow = await WasmServer.start(built("udp-echo", "host"), { listenUdp: ["127.0.0.1:0"], args, stdout: devNull(), limits: { dgramSendRate: 50 } });
    const c = await Client.open();
    try {
      const burst = Array.from({ length: 100 }, (_, i) => pattern(64, i));
      const t0 = performance.now();
      for (const d of burst) c.sock.send(d, slow.listeningUdp[0].port, "127.0.0.1");
      await until(() => c.got.length === burst.length, 20_000, `100 replies at 50 a second (got ${c.got.length})`);
      // a burst of one second's worth (50) at once, the other 50 as the rate allows
      expect(performance.now() - t0).toBeGreaterThan(500);
      expect(Buffer.concat(c.got.map((g) => g.data)).equals(Buffer.concat(burst))).toBe(true);
      expect((await slow.stats()).datagrams.sent).toBe(100);
    } finally {
      c.close();
      slow.close();
    }
  }, 60_000);

  it("IPv6: bound to [::1], it answers a udp6 client, the sender's address passing through recvfrom/sendto as text", async () => {
    const v6 = await WasmServer.start(built("udp-echo", "host"), { listenUdp: ["[::1]:0"], stdout: devNull() });
    const c = dgram.createSocket("udp6");
    try {
      expect(v6.listeningUdp[0].host).toBe("::1");
      const got: Buffer[] = [];
      c.on("message", (m) => got.push(m));
      c.bind(0, "::1");
      await once(c, "listening");
      for (const d of DATAGRAMS.slice(0, 5)) {
        const n = got.length;
        c.send(d, v6.listeningUdp[0].port, "::1");
        await until(() => got.length > n, 10_000, "an IPv6 reply");
      }
      expect(Buffer.concat(got).equals(Buffer.concat(DATAGRAMS.slice(0, 5)))).toBe(true);
    } finally {
      c.close();
      v6.close();
    }
  });

  it("setIdleTimeout on a datagram channel: datagrams restart the countdown; silence closes it", async () => {
    const idle = await WasmServer.start(await fixture("udp-idle"), { listenUdp: ["127.0.0.1:0"], args: ["--idle", "1"], stdout: devNull() });
    const c = await Client.open();
    try {
      // 1.5 s of a datagram every 100 ms: each echoed, the 1 s idle timeout never runs out
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 1500) await c.exchange(idle.listeningUdp[0].port, [Buffer.from(`tick ${n++}`)]);
      expect(idle.alive).toBe(true);
      // then silence: the channel closes and the module, with nothing left, ends cleanly
      const quiet = performance.now();
      expect(await idle.done).toBeNull();
      expect(performance.now() - quiet).toBeGreaterThan(800);
    } finally {
      c.close();
      idle.close();
    }
  }, 30_000);

  it("without a --listen-udp grant the bind is EACCES inside the module, and the runner reports it", async () => {
    const s = await WasmServer.start(built("udp-echo", "host"), { stdout: devNull() });
    const denied = await s.done; // main() ran: the module closed its socket and ended
    expect(s.denied).toEqual(["listen-udp 127.0.0.1:8007"]);
    expect(String(denied)).toMatch(/could not listen-udp 127\.0\.0\.1:8007: EACCES \(not granted\)/);
  });
});

describe("WASIX flavour: @wasmer/sdk 0.16 under Node has no UDP", () => {
  let wasmer: Wasmer;
  beforeAll(() => { wasmer = new Wasmer(); });
  afterAll(async () => { await wasmer?.close(); });

  /** Runs a WASIX module to its end (or until `done` matches a line); its stdout lines. */
  async function runToEnd(wasm: string, args: string[], done: RegExp): Promise<string[]> {
    const pkg = await wasmer.packages.load(readFileSync(wasm));
    const sandbox = await wasmer.sandboxes.create({ packages: [pkg], network: { mode: "host" } });
    const proc = await sandbox.command(pkg, args).spawn({ stdout: "pipe", stderr: "pipe" });
    const lines: string[] = [];
    try {
      for await (const line of proc.stdout!.lines()) {
        lines.push(line);
        if (done.test(line)) break;
      }
    } finally {
      await sandbox.close();
    }
    return lines;
  }

  it("the runtime opens a WASIX datagram socket but refuses to bind it (ENOTSUP): datagrams cannot flow", async () => {
    const port = await freePort();
    const lines = await runToEnd(await fixture("wasix-udp-probe", "wasix"), ["--listen", `127.0.0.1:${port}`], /done/);
    expect(lines).toContain("udp probe: sock_open errno 0");
    expect(lines).toContain("udp probe: sock_bind errno 58"); // ENOTSUP
  }, 120_000);

  it("so the library's WASIX flavour refuses SOCK_DGRAM with ENOTSUP: the UDP echo says so and ends", async () => {
    const port = await freePort();
    const lines = await runToEnd(built("udp-echo", "wasix"), ["--listen-udp", `127.0.0.1:${port}`], /cannot bind/);
    expect(lines).toContain(`udp-echo: cannot bind 127.0.0.1:${port}: ENOTSUP`);
  }, 120_000);
});
