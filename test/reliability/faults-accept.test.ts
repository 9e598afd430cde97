// A handleAccepted that throws (or rejects) before a dispatcher wrapped the accepted socket:
// the socket is closed, not orphaned (its core channel and fd are released, the peer sees the
// close), the exception still reaches handleError, and the listener keeps serving.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { ChannelMap, Socket, closeAll } from "../../host/index.js";
import { getEngine } from "../../host/core/engine.js";
import { EchoServer, EchoHandler, Bystanders, runLoop, waitFor, activeHandles, fdCount } from "./helpers.js";

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

class Boom extends Error {}

/**
 * Sends "hi" and half-closes; resolves with what came back once the server closed the
 * connection, or with null after `ms` (the server never closed it).
 */
function exchange(port: number, ms = 10_000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let back = "";
    const timer = setTimeout(() => { s.destroy(); resolve(null); }, ms);
    s.on("error", () => {});
    s.on("data", (d: Buffer) => { back += d.toString(); });
    s.on("close", () => { clearTimeout(timer); resolve(back); });
    s.end("hi");
  });
}

describe.each([
  { mode: "select", usePoll: false },
  { mode: "poll2", usePoll: true },
])("a throwing handleAccepted ($mode)", ({ usePoll }) => {
  it.each([
    { how: "throws", fail: (): void => { throw new Boom("before wrapping"); } },
    { how: "rejects", fail: async (): Promise<void> => { await null; throw new Boom("before wrapping"); } },
  ])("closes the accepted socket when handleAccepted $how before wrapping it, and handleError gets the error", async ({ fail }) => {
    map = new ChannelMap();
    const e = getEngine();
    const server = new EchoServer(map);
    const run = runLoop(map, { usePoll });
    const by = await Bystanders.open({ host: "127.0.0.1", port: server.port }, 4);
    await waitFor(() => server.accepted === 4, "the bystanders to be accepted");
    by.write(32 * 1024);
    const base = { channels: e.stat("channels"), fds: fdCount(), handles: activeHandles() };
    const calls: string[] = [];
    const realAccepted = server.handleAccepted.bind(server);
    let n = 0;
    server.handleAccepted = (sock: Socket) => {
      calls.push("handleAccepted");
      if (n++ % 2 === 0) return fail() as void; // every other connection fails before wrapping
      return realAccepted(sock);
    };
    server.handleError = (err: unknown) => { calls.push(err instanceof Boom ? "handleError Boom" : `handleError ${String(err)}`); };

    const N = 6;
    const results = await Promise.all(Array.from({ length: N }, () => exchange(server.port)));
    // Every connection was closed by the server: the wrapped ones after their echo, the failed
    // ones at once (without the fix they stay open, and the client times out with null).
    expect(results.filter((r) => r === "hi")).toHaveLength(N / 2);
    expect(results.filter((r) => r === "")).toHaveLength(N / 2);
    await waitFor(() => calls.filter((c) => c === "handleError Boom").length === N / 2, "handleError for each failure");
    expect(calls.filter((c) => c === "handleAccepted")).toHaveLength(N);
    expect(calls.filter((c) => c.startsWith("handleError") && c !== "handleError Boom")).toEqual([]);
    // Every server channel of the test connections is gone: the failed ones by the fix, the
    // wrapped ones by EchoHandler when the client went away.
    await waitFor(() => e.stat("channels") === base.channels && server.live.size === 4, `core channels back to ${base.channels} (have ${e.stat("channels")})`);
    await waitFor(() => fdCount() <= base.fds && activeHandles() <= base.handles, `fds ${fdCount()}/${base.fds} and handles ${activeHandles()}/${base.handles} back to baseline`);
    expect(server.isClosed()).toBe(false); // the listener keeps serving
    expect(await by.finish()).toEqual([]);
    await run.stop();
  });

  it("keeps a socket a dispatcher adopted before handleAccepted threw", async () => {
    map = new ChannelMap();
    const server = new EchoServer(map);
    const run = runLoop(map, { usePoll });
    const errors: unknown[] = [];
    server.handleAccepted = (sock: Socket) => {
      server.live.add(new EchoHandler(sock, map, server));
      throw new Boom("after wrapping");
    };
    server.handleError = (err: unknown) => { errors.push(err); };
    const by = await Bystanders.open({ host: "127.0.0.1", port: server.port }, 3);
    by.write(64 * 1024);
    expect(await by.finish()).toEqual([]); // every byte echoed by the adopted channels
    expect(errors.map((e) => e instanceof Boom)).toEqual([true, true, true]);
    await run.stop();
  });
});
