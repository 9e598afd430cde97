// README "Differences", `send()` on native: small sends queue in the core and go out at the end of the
// pass; when the peer reset before that flush, the channel gets exactly one handleClose or handleError,
// on the next pass, and nothing after it.
import { describe, it, expect, beforeAll, afterEach } from "vitest";
import * as net from "node:net";
import { AF_INET, ChannelMap, Dispatcher, Socket, closeAll, configure, poll } from "../../host/index.js";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import { missing } from "../support/index.js";

const built = native() !== null;
const peers: net.Socket[] = [];

describe.skipIf(missing("the native addon", !built))(`queued small sends to a peer that reset${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));
  afterEach(() => { for (const p of peers.splice(0)) p.destroy(); });

  it.each([1, 3, 50])("%i queued sends: one handleClose/handleError on the next pass, then nothing", async (sends) => {
    const map = new ChannelMap();
    let pass = 0;
    const calls: string[] = [];
    let conn: Dispatcher | null = null;
    class Conn extends Dispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void { calls.push(`${pass}:handleRead ${this.recv(100).length}`); }
      override handleWrite(): void { calls.push(`${pass}:handleWrite`); }
      override handleClose(): void { calls.push(`${pass}:handleClose`); this.close(); }
      override handleError(err: unknown): void { calls.push(`${pass}:handleError ${(err as { code?: string }).code}`); this.close(); }
    }
    const server = new Dispatcher(null, map);
    server.createSocket(AF_INET);
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    server.handleAccepted = (sock: Socket) => { conn = new Conn(sock, map); server.close(); };
    const port = (server.socket!.getsockname() as [string, number])[1];
    try {
      const peer = net.connect(port, "127.0.0.1");
      peer.on("error", () => {});
      peers.push(peer);
      while (conn === null) await poll(0.05, map);
      const c = conn as Dispatcher;
      await new Promise<void>((r) => { peer.once("connect", () => r()); if (!peer.connecting) r(); });
      // In one pass (a timer's callback): the small sends queue in the core, then the peer resets
      // (node:net's reset closes with SO_LINGER 0 at once), before the pass's end flushes them.
      const took: number[] = [];
      let sendPass = -1;
      map.callLater(0, () => {
        sendPass = pass;
        for (let i = 0; i < sends; i++) took.push(c.send(Buffer.from(`small ${i}\n`)));
        peer.resetAndDestroy();
      });
      for (pass = 1; pass <= 6; pass++) await poll(0.05, map);
      expect(sendPass).toBe(1);
      expect(took).toEqual(Array.from({ length: sends }, (_, i) => `small ${i}\n`.length)); // all queued
      // exactly one handleClose or handleError, on the pass after the sends (a handleRead whose recv()
      // met the reset calls handleClose from inside, as asyncore's recv does); nothing on later passes
      const ends = calls.filter((l) => /handle(Close|Error)/.test(l));
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatch(/^2:handle(Close|Error E(CONNRESET|PIPE))$/);
      expect(calls.filter((l) => !l.startsWith("2:"))).toEqual([]);
      expect(c.isClosed()).toBe(true);
    } finally {
      closeAll({ map });
    }
  });
});
