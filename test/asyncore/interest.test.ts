// Interest of channels that override readable()/writable(): asked every pass (asyncore's contract),
// answers kept in dense arrays, only changed answers handed to the core (host/asyncore/interest.ts).
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { ChannelMap, Dispatcher, closeAll, poll } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { InterestTable } from "../../host/asyncore/interest.js";

/** A loopback listener whose accepted connections stay open and silent. */
function silentServer(): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const conns: net.Socket[] = [];
    const server = net.createServer((c) => { conns.push(c); c.on("error", () => {}); });
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port,
      close: () => { for (const c of conns) c.destroy(); server.close(); },
    }));
  });
}

/** A connected client channel whose writable() answers what `want` says, counting asks and write events. */
class Asked extends Dispatcher {
  want = false;
  asks = 0;
  writes = 0;
  override readable(): boolean { return false; }
  override writable(): boolean { this.asks++; return this.want; }
  override handleWrite(): void { this.writes++; }
  override handleConnect(): void {}
  override handleClose(): void { this.close(); }
}

/** Counts the pairs handed to the core's interest_commit while `fn` runs. */
async function pairsCommitted(fn: () => Promise<void>): Promise<number> {
  const core = getEngine().core as unknown as { interest_commit(n: number): number };
  const original = core.interest_commit;
  let pairs = 0;
  core.interest_commit = (n: number) => { pairs += n; return original.call(core, n); };
  try {
    await fn();
  } finally {
    core.interest_commit = original;
  }
  return pairs;
}

describe("interest of channels that override writable()", () => {
  let server: { close(): void } | null = null;
  afterEach(() => {
    closeAll();
    server?.close();
    server = null;
  });

  async function connected(n: number, map?: ChannelMap): Promise<Asked[]> {
    const s = await silentServer();
    server = s;
    const chans: Asked[] = [];
    for (let i = 0; i < n; i++) {
      const d = new Asked(undefined, map);
      d.createSocket();
      d.connect(["127.0.0.1", s.port]);
      d.want = true; // until connected
      chans.push(d);
    }
    for (let k = 0; k < 500 && chans.some((d) => !d.connected); k++) await poll(0.01, map);
    expect(chans.every((d) => d.connected)).toBe(true);
    for (const d of chans) d.want = false;
    await poll(0, map);
    return chans;
  }

  it("asks every channel every pass and dispatches writes only where the answer is true", async () => {
    const chans = await connected(6);
    for (const d of chans) { d.asks = 0; d.writes = 0; }
    for (let pass = 0; pass < 6; pass++) {
      chans.forEach((d, i) => { d.want = (i + pass) % 2 === 0; });
      await poll(0);
      chans.forEach((d, i) => expect(d.writes, `channel ${i}, pass ${pass}`).toBe(Math.ceil((pass + 1 - (i % 2)) / 2)));
    }
    for (const d of chans) expect(d.asks).toBe(6);
  });

  it("hands the core only the answers that changed since the last pass", async () => {
    const chans = await connected(20);
    expect(await pairsCommitted(async () => { await poll(0); await poll(0); })).toBe(0);
    chans[3].want = true;
    chans[17].want = true;
    expect(await pairsCommitted(() => poll(0))).toBe(2);
    expect(chans[3].writes).toBeGreaterThan(0);
    expect(await pairsCommitted(() => poll(0))).toBe(0); // same answers: nothing to tell
    chans[3].want = false;
    expect(await pairsCommitted(() => poll(0))).toBe(1);
    const before = chans[3].writes;
    await poll(0);
    expect(chans[3].writes).toBe(before);
    expect(chans[17].writes).toBeGreaterThan(2);
  });

  it("survives a writable() that closes other channels and opens a new one during the ask", async () => {
    const map = new ChannelMap();
    const chans = await connected(8, map);
    let extra: Asked | null = null;
    const killer = chans[2];
    killer.writable = function (this: Asked): boolean {
      this.asks++;
      if (!chans[0].isClosed()) { chans[0].close(); chans[7].close(); chans[5].close(); }
      if (extra === null) {
        extra = new Asked(undefined, map);
        extra.createSocket();
      }
      return false;
    };
    for (const d of chans) d.asks = 0;
    chans[4].want = true;
    await poll(0, map);
    const alive = chans.filter((d) => !d.isClosed());
    expect(alive.length).toBe(5);
    for (const d of alive) expect(d.asks).toBeGreaterThanOrEqual(1);
    expect(chans[4].writes).toBeGreaterThan(0);
    expect(map.size).toBe(6); // 5 left + the new one
    // the next passes ask every channel left exactly once each, the new one included
    for (const d of alive) d.asks = 0;
    await poll(0, map);
    await poll(0, map);
    for (const d of alive) expect(d.asks).toBe(2);
    expect(extra!.asks).toBeGreaterThanOrEqual(2);
    expect(map.policy.size).toBe(6);
  });
});

describe("InterestTable", () => {
  it("keeps positions dense across removals and re-adds", () => {
    const t = new InterestTable();
    const entry = { readable: () => true, writable: () => false };
    for (let fd = 1; fd <= 100; fd++) t.set(fd, entry);
    for (let fd = 1; fd <= 100; fd += 3) expect(t.delete(fd)).toBe(true);
    expect(t.delete(1)).toBe(false);
    expect(t.size).toBe(66);
    for (let fd = 1; fd <= 100; fd++) expect(t.has(fd)).toBe((fd - 1) % 3 !== 0);
    t.set(1, entry);
    expect(t.size).toBe(67);
    expect(t.has(1)).toBe(true);
  });
});
