// AsyncChat integrity: many concurrent connections to an AsyncChat server on the engine that
// mixes CRLF lines, byte counts and an SMTP-style DATA terminator switched inside
// foundTerminator, with requests written in random splits. Every reply comes back byte-exact
// (SHA-256 per connection, on both sides), and QUIT's closeWhenDone() delivers everything
// queued before it, then closes.
import { describe, it, expect, afterEach } from "vitest";
import { ChannelMap, closeAll, loopStats } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { ChatServer } from "./chat-helpers.js";
import { runLoop, runClient, waitFor, size, report, KiB, SOAK } from "./helpers.js";

const CONNS = size(100, 1000);
const MAX_BYTES = size(192 * KiB, 1024 * KiB);
const TIME = SOAK ? 600_000 : 40_000;

interface ChatResult {
  i: number; frames: number; sent: number; expected: number; received: number;
  expectHash: string; recvHash: string; ended: boolean; error: string | null;
}

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

describe.each([
  { mode: "select", usePoll: false, conns: CONNS },
  { mode: "poll2", usePoll: true, conns: SOAK ? CONNS : CONNS / 2 },
])("AsyncChat integrity ($mode)", ({ mode, usePoll, conns }) => {
  it(`returns every frame byte-exact on ${conns} concurrent connections (lines, counts, DATA blocks; random splits)`, async () => {
    map = new ChannelMap();
    const server = new ChatServer(map);
    const run = runLoop(map, { usePoll });
    const scannedBefore = getEngine().core.chat_scanned();
    const bytesInBefore = loopStats({ map }).bytesIn;
    const seed = (Date.now() ^ (usePoll ? 0x3c3c : 0)) >>> 0;
    const out = await runClient<{ results: ChatResult[]; ms: number }>("chat-client.mjs", {
      host: "127.0.0.1", port: server.port, conns, concurrency: conns, maxBytes: MAX_BYTES,
      maxBin: size(64 * KiB, 256 * KiB), maxWrite: 8 * KiB, maxPause: 5, seed,
    }, TIME);
    await waitFor(() => server.records.length === conns, `${conns} server channels to close (have ${server.records.length})`);
    const stats = loopStats({ map });
    await run.stop();

    const bad = out.results.filter((r) => r.error !== null || !r.ended || r.received !== r.expected || r.recvHash !== r.expectHash);
    expect(bad.map((r) => ({ ...r, seed }))).toEqual([]);
    expect(server.errors).toEqual([]);
    // The server framed exactly what the clients sent: its reply digests are the ones they were owed.
    expect(server.records.map((r) => r.replyHash).sort()).toEqual(out.results.map((r) => r.expectHash).sort());
    expect(server.records.map((r) => r.frames).sort()).toEqual(out.results.map((r) => r.frames).sort());
    // Each closed once, through closeWhenDone() after QUIT (its sentinel calls handleClose, as asynchat's does).
    expect(server.records.filter((r) => r.closes !== 1 || r.queuedAtQuit < 0)).toEqual([]);
    expect(stats.channels).toBe(1);
    expect(stats.chunksInUse).toBe(0);
    // The terminator search never looked at a byte twice.
    const scanned = getEngine().core.chat_scanned() - scannedBefore;
    const bytesIn = stats.bytesIn - bytesInBefore;
    expect(scanned).toBeLessThanOrEqual(bytesIn);
    const queuedAtQuit = server.records.filter((r) => r.queuedAtQuit > 0).length;
    expect(queuedAtQuit).toBeGreaterThan(0); // closeWhenDone() ran with output still queued
    report(`AsyncChat integrity ${mode}`, {
      connections: conns, frames: out.results.reduce((a, r) => a + r.frames, 0),
      bytesIn: out.results.reduce((a, r) => a + r.sent, 0), bytesOut: out.results.reduce((a, r) => a + r.received, 0),
      closeWhenDoneWithQueuedOutput: queuedAtQuit, bytesSearched: scanned, ms: out.ms, seed,
    });
  }, TIME + 15_000);
});
