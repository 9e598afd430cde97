// README "Differences", handlers after close (bpo-30931): a handler that closes channel B and opens C in
// B's slot, in the pass where B also has an event, never sees B's stale event reach C (or B).
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { AF_INET, ChannelMap, Dispatcher, Socket, closeAll, poll, poll2 } from "../../host/index.js";
import { modes } from "./fixtures.js";
import { sleep } from "../support/index.js";

const SLOT_MASK = (1 << 20) - 1; // a token is generation << 20 | slot (assembly/layout.ts)

const clients: net.Socket[] = [];
afterEach(() => { for (const c of clients.splice(0)) c.destroy(); });

describe.each(modes)("a stale event after close, with $name", ({ usePoll }) => {
  const step = (timeout: number, map: ChannelMap) => (usePoll ? poll2 : poll)(timeout, map);
  it("never reaches the channel that took the closed one's slot in the same pass", async () => {
    let controlled = 0;
    for (let attempt = 0; attempt < 5 && controlled === 0; attempt++) {
      const map = new ChannelMap();
      let pass = 0;
      const log: string[] = [];
      const chans: Dispatcher[] = [];
      let bSlot = -1;
      let bToken = -1;
      let c: Dispatcher | null = null;
      class Recorder extends Dispatcher {
        constructor(sock: Socket | null, m: ChannelMap, readonly name: string) { super(sock, m); }
        override writable(): boolean { return false; }
        override handleReadEvent(): void { log.push(`${pass}:${this.name}:read`); super.handleReadEvent(); }
        override handleWriteEvent(): void { log.push(`${pass}:${this.name}:write`); super.handleWriteEvent(); }
        override handleExptEvent(): void { log.push(`${pass}:${this.name}:expt`); }
        override handleClose(): void { log.push(`${pass}:${this.name}:close`); this.close(); }
        override handleError(err: unknown): void { log.push(`${pass}:${this.name}:error ${String(err)}`); this.close(); }
        override handleRead(): void {
          this.recv(100);
          if (this.name !== "A" || c !== null) return;
          // A, first in the pass: closes B (whose event is in this pass too) and opens C in B's slot
          const b = chans[1];
          bToken = b.fileno();
          bSlot = bToken & SLOT_MASK;
          b.close();
          c = new Recorder(null, map, "C");
          c.createSocket(AF_INET);
        }
      }
      const server = new Dispatcher(null, map);
      server.createSocket(AF_INET);
      server.bind(["127.0.0.1", 0]);
      server.listen(5);
      const names = ["A", "B", "D"];
      server.handleAccepted = (sock: Socket) => { chans.push(new Recorder(sock, map, names[chans.length])); };
      const port = (server.socket!.getsockname() as [string, number])[1];
      try {
        for (let i = 0; i < 3; i++) { // accepted in order: the map's (and the pass's) order is A, B, D
          const s = net.connect(port, "127.0.0.1");
          s.on("error", () => {});
          clients.push(s);
          while (chans.length === i) await step(0.05, map);
        }
        for (const s of clients) s.write("x");
        await sleep(50); // all three bytes reach the server's sockets before the next pass (else: retried)
        while (c === null) { pass++; await step(0.5, map); }
        const closePass = pass;
        for (let i = 0; i < 3; i++) { pass++; await step(0.02, map); }
        const at = (l: string) => Number(l.split(":")[0]);
        const cc = c as Dispatcher;
        expect(cc.fileno() & SLOT_MASK).toBe(bSlot); // C took B's slot: the case bpo-30931 is about
        expect(cc.fileno()).not.toBe(bToken); // under a new generation
        expect(log.filter((l) => l.includes(":C:"))).toEqual([]); // no event ever reached C
        expect(log.filter((l) => l.includes(":B:") && at(l) >= closePass)).toEqual([]); // nor B after its close
        // The positive control: B had not read before (its byte was pending) and D, whose byte came
        // after B's, was handled in that same pass after A: B's event was in the batch.
        const inPass = log.filter((l) => at(l) === closePass);
        if (!log.some((l) => l.includes(":B:")) && inPass.includes(`${closePass}:D:read`)) {
          expect(inPass).toEqual([`${closePass}:A:read`, `${closePass}:D:read`]);
          controlled++;
        }
      } finally {
        closeAll({ map });
        for (const s of clients.splice(0)) s.destroy();
      }
    }
    expect(controlled).toBe(1); // the scenario happened: B and D had events in A's pass
  });
});
