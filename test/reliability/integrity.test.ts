// Integrity soak: many concurrent connections through an echo server on the engine; every byte
// comes back, checked by SHA-256 per connection, on both sides.
import { describe, it, expect, afterEach, onTestFinished } from "vitest";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelMap, closeAll, loopStats, AF_INET, AF_INET6, AF_UNIX } from "../../host/index.js";
import { EchoServer, runLoop, runClient, size, report, KiB, MiB, SOAK, type ClientResult, waitFor } from "./helpers.js";

const CONNS = size(200, 1000);
const MAX_BYTES = size(256 * KiB, 1 * MiB);
const MAX_WRITE = size(16 * KiB, 64 * KiB);
const TIME = SOAK ? 600_000 : 45_000;

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

describe.each([
  { mode: "select", usePoll: false, family: AF_INET, host: "127.0.0.1", conns: CONNS },
  { mode: "poll2", usePoll: true, family: AF_INET, host: "127.0.0.1", conns: SOAK ? CONNS : CONNS / 2 },
  { mode: "select, IPv6", usePoll: false, family: AF_INET6, host: "::1", conns: CONNS / 4 },
  { mode: "poll2, Unix", usePoll: true, family: AF_UNIX, host: "", conns: CONNS / 4 },
])("integrity soak ($mode)", ({ mode, usePoll, family, host, conns }) => {
  it(`echoes every byte of ${conns} concurrent connections (random sizes up to ${MAX_BYTES} bytes, random writes and pauses)`, async () => {
    map = new ChannelMap();
    const path = family === AF_UNIX ? join(tmpdir(), `wasyncore-rel-${process.pid}-${Date.now()}.sock`) : "";
    if (path) onTestFinished(() => rmSync(path, { force: true })); // a native listener leaves its socket file
    const server = new EchoServer(map, family, path || host);
    const run = runLoop(map, { usePoll });
    const seed = (Date.now() ^ (usePoll ? 0x5a5a : 0)) >>> 0;
    const target = family === AF_UNIX ? { path } : { host, port: server.port };
    const out = await runClient<{ results: ClientResult[]; ms: number }>("echo-client.mjs", {
      ...target, conns, maxBytes: MAX_BYTES, maxWrite: MAX_WRITE, maxPause: 5, seed, concurrency: conns, mode: "mix",
    }, TIME);
    await waitFor(() => server.records.length === conns, `${conns} server channels to finish (have ${server.records.length})`);
    const stats = loopStats({ map });
    await run.stop();

    const failures = out.results.filter((r) => r.error !== null || r.received !== r.sent || r.recvHash !== r.sentHash);
    expect(failures.map((f) => ({ ...f, seed }))).toEqual([]);
    expect(server.errors).toEqual([]);
    // What the server received, as a multiset of digests, is exactly what the clients sent.
    const serverHashes = server.records.map((r) => r.hash).sort();
    expect(serverHashes).toEqual(out.results.map((r) => r.sentHash).sort());
    expect(server.accepted).toBe(conns);
    expect(stats.channels).toBe(1); // only the listener is left
    const bytes = out.results.reduce((a, r) => a + r.sent, 0);
    report(`integrity ${mode}`, { connections: conns, bytesEachWay: bytes, maxPerConnection: MAX_BYTES, ms: out.ms, seed });
  }, TIME + 15_000);
});
