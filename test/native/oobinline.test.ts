// Urgent data that the stream itself carries past (issue 14, bug 1): with SO_OOBINLINE the urgent
// byte stays in the stream, and reading past the mark clears the kernel's urgent state, so
// handleExpt() is called a bounded number of times (CPython: once, from the select() that saw it)
// and the loop then sleeps; the bytes arrive in order. Before the fix the native backend kept the
// channel exceptional forever: handleExpt() on every pass.
import { describe, it, expect, beforeAll, beforeEach, afterEach } from "vitest";
import { ChannelMap, MSG_OOB, SOL_SOCKET, SO_OOBINLINE, closeAll, configure, loop, type Socket } from "../../host/index.js";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import type { NativeSocket } from "../../host/index.js";
import { BaseClient, BaseServer, BaseTestHandler, ipv4, ipv6, loopUntil, modes, type Family } from "../asyncore/fixtures.js";
import { missing } from "../support/index.js";

const built = native() !== null;

/** Passes run after the last byte arrived: a busy channel calls handleExpt() on each of them. */
const QUIET_PASSES = 30;

describe.skipIf(missing("the native addon", !built))(`urgent data read past in the stream${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));

  describe.each([ipv4, ipv6])("over $name", (family: Family) => {
    describe.each(modes)("with $name", ({ usePoll }) => {
      let map: ChannelMap;
      beforeEach(() => { map = new ChannelMap(); });
      afterEach(() => closeAll({ map, ignoreAll: true }));

      /** A server whose connection counts handleExpt() calls and reads the stream; the client's socket. */
      async function setUp(inline: boolean): Promise<{ reader: () => Reader; client: BaseClient }> {
        let reader: Reader | null = null;
        class Server extends BaseServer {
          override handleAccepted(sock: Socket): void {
            if (inline) sock.setsockopt(SOL_SOCKET, SO_OOBINLINE, 1);
            reader = new Reader(sock, map);
          }
        }
        const server = new Server(family, family.addr(), map);
        if (inline) server.socket!.setsockopt(SOL_SOCKET, SO_OOBINLINE, 1);
        const client = new BaseClient(family, server.address, map);
        await loopUntil(map, () => reader !== null && client.connected, usePoll);
        return { reader: () => reader!, client };
      }

      class Reader extends BaseTestHandler {
        got = "";
        expt = 0;
        override writable(): boolean { return false; }
        override handleRead(): void { this.got += this.recv(100).toString("latin1"); }
        override handleExpt(): void { this.expt++; }
      }

      /** Runs passes until `want` arrived, then QUIET_PASSES more; returns handleExpt() calls in all. */
      async function settle(r: Reader, want: string): Promise<void> {
        await loopUntil(map, () => r.got.length >= want.length, usePoll);
        for (let i = 0; i < QUIET_PASSES; i++) await loop({ map, timeout: 0.005, count: 1, usePoll });
        expect(r.got).toBe(want);
      }

      it("with SO_OOBINLINE: the urgent byte arrives in order and handleExpt() stops", async () => {
        const { reader, client } = await setUp(true);
        const c = client.socket as NativeSocket;
        expect(c.getsockopt(SOL_SOCKET, SO_OOBINLINE)).toBe(0);
        expect(reader().socket!.getsockopt(SOL_SOCKET, SO_OOBINLINE)).toBe(1);
        expect(c.send(Buffer.from("ab"))).toBe(2);
        expect(c.send(Buffer.from("X"), MSG_OOB)).toBe(1);
        await settle(reader(), "abX");
        expect(reader().expt).toBeGreaterThanOrEqual(1);
        expect(reader().expt).toBeLessThanOrEqual(2);
        // a second urgent byte, alone, after the first was read: reported again, and again it stops
        const before = reader().expt;
        expect(c.send(Buffer.from("Y"), MSG_OOB)).toBe(1);
        expect(c.send(Buffer.from("cd"))).toBe(2);
        await settle(reader(), "abXYcd");
        expect(reader().expt - before).toBeGreaterThanOrEqual(1);
        expect(reader().expt - before).toBeLessThanOrEqual(2);
      });

      it("without SO_OOBINLINE: a handler that reads past the mark (never recv(MSG_OOB)) stops seeing it", async () => {
        const { reader, client } = await setUp(false);
        const c = client.socket as NativeSocket;
        expect(c.send(Buffer.from("ab"))).toBe(2);
        await loopUntil(map, () => reader().got === "ab", usePoll);
        expect(c.send(Buffer.from("X"), MSG_OOB)).toBe(1);
        // until the stream passes the mark, the channel stays exceptional (select() says so in CPython too)
        await loopUntil(map, () => reader().expt > 0, usePoll);
        expect(c.send(Buffer.from("cd"))).toBe(2); // reading these passes the mark: the kernel drops the byte
        await loopUntil(map, () => reader().got === "abcd", usePoll);
        const before = reader().expt;
        await settle(reader(), "abcd");
        expect(reader().expt - before).toBeLessThanOrEqual(1);
      });
    });
  });
});
