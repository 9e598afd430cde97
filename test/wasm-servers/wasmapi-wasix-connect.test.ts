// IPv6 and outbound connects in the WASIX flavour (issue 19), under @wasmer/sdk: the echo example
// listens on [::1] and echoes; the relay example connects out to IPv4 and IPv6 upstreams and relays
// the same bytes as under the Node runner; a refused upstream reaches the module as ECONNREFUSED
// (it does not hang). Under @wasmer/sdk the module has the host's whole network (no grants: README).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Wasmer } from "@wasmer/sdk/node";
import * as net from "node:net";
import { once } from "node:events";
import { built, pattern } from "./helpers.js";
import { runWasix } from "./wasmapi-helpers.js";
import { Upstream, closedPort, hp, session } from "./connect-helpers.js";

let wasmer: Wasmer;
beforeAll(() => { wasmer = new Wasmer(); });
afterAll(async () => { await wasmer?.close(); });

describe("echo over IPv6 (WASIX flavour)", () => {
  it("listens on [::1] and echoes 1 MiB intact", async () => {
    const run = await runWasix(wasmer, built("echo", "wasix"), await closedPort("::1"), [], "::1");
    try {
      expect(run.stdout).toContain(`echo: listening on [::1]:${run.port}`);
      const payload = pattern(1 << 20, 5);
      const c = net.connect(run.port, "::1");
      await once(c, "connect");
      const got: Buffer[] = [];
      let n = 0;
      const done = new Promise<void>((resolve, reject) => {
        c.on("data", (d: Buffer) => { got.push(d); n += d.length; if (n >= payload.length) resolve(); });
        c.on("close", () => reject(new Error(`closed after ${n} bytes`)));
      });
      c.write(payload);
      await done;
      c.destroy();
      expect(Buffer.concat(got).equals(payload)).toBe(true);
    } finally {
      await run.stop();
    }
  }, 120_000);
});

describe.each([["IPv4", "127.0.0.1"], ["IPv6", "::1"]] as const)("relay connecting out over %s (WASIX flavour)", (_family, host) => {
  let up: Upstream;
  let run: Awaited<ReturnType<typeof runWasix>> | undefined;
  beforeAll(async () => {
    up = await Upstream.start(host);
    run = await runWasix(wasmer, built("relay", "wasix"), await closedPort(host), ["--upstream", hp(host, up.port)], host);
  }, 120_000);
  afterAll(async () => { await run?.stop(); up?.close(); });

  it("relays both ways and closes both sides: the bytes the Node runner's relay gives", async () => {
    const before = up.ends;
    const got = await session(host, run!.port, ["abc", "Hello, relay", "x".repeat(3000), "QUIT"]);
    expect(got).toBe(`hello from upstream\r\nUP: ABC\r\nUP: HELLO, RELAY\r\nUP: ${"X".repeat(3000)}\r\nbye\r\n`);
    expect(up.connections).toBeGreaterThanOrEqual(1);
    const end = Date.now() + 10_000;
    while (up.ends === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(up.ends).toBeGreaterThan(before);
  }, 60_000);

  it("a refused upstream reaches the module as ECONNREFUSED, reported to the client (no hang)", async () => {
    const dead = hp(host, await closedPort(host));
    const r = await runWasix(wasmer, built("relay", "wasix"), await closedPort(host), ["--upstream", dead], host);
    try {
      const t0 = performance.now();
      expect(await session(host, r.port, ["never relayed"])).toBe(`relay: cannot reach ${dead}: ECONNREFUSED\r\n`);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      await r.stop();
    }
  }, 120_000);
});
