// Urgent (out-of-band) data reaches handleExpt() on the native backend: CPython's test_handle_expt
// (which the net backend skips: Node cannot see urgent data), and a Python peer sending MSG_OOB.
import { describe, it, expect, beforeAll, beforeEach, afterEach } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import {
  AF_INET, ChannelMap, Dispatcher, MSG_OOB, Socket, closeAll, configure, loop, type Address,
} from "../../host/index.js";
import { native, nativeUnavailable } from "../../host/sys/native/addon.js";
import type { NativeSocket } from "../../host/index.js";
import { BaseClient, BaseServer, BaseTestHandler, ipv4, ipv6, loopUntil, loopWaitingForFlag, modes, type Family } from "../asyncore/fixtures.js";
import { missing } from "../support/index.js";

const built = native() !== null;
let hasPython = true;
try { execFileSync("python3", ["-c", "import socket"], { stdio: "ignore" }); } catch { hasPython = false; }

/** The socket of a native-backend dispatcher, with send/recv flags. */
const raw = (d: Dispatcher): NativeSocket => d.socket as NativeSocket;

describe.skipIf(missing("the native addon", !built))(`urgent data on the native backend${built ? "" : ` (skipped: ${nativeUnavailable()})`}`, () => {
  beforeAll(() => configure({ backend: "native" }));

  describe.each([ipv4, ipv6])("over $name", (family: Family) => {
    describe.each(modes)("with $name", ({ usePoll }) => {
      let map: ChannelMap;
      beforeEach(() => { map = new ChannelMap(); });
      afterEach(() => closeAll({ map, ignoreAll: true }));

      // Python: TestAPI_*.test_handle_expt
      it("calls handleExpt on out-of-band data", async () => {
        const urgent: Buffer[] = [];
        class TestClient extends BaseClient {
          override handleExpt(): void {
            urgent.push(raw(this).recv(1024, MSG_OOB));
            this.flag = true;
          }
        }
        class TestHandler extends BaseTestHandler {
          constructor(conn: Socket, m: ChannelMap) {
            super(conn, m);
            expect(raw(this).send(Buffer.from([244]), MSG_OOB)).toBe(1);
          }
        }
        const server = new BaseServer(family, family.addr(), map, TestHandler);
        const client = new TestClient(family, server.address, map);
        await loopWaitingForFlag(map, client, usePoll);
        expect(urgent).toEqual([Buffer.from([244])]);
      });

      it("calls handleExpt once per urgent byte read, between the stream's reads", async () => {
        const calls: string[] = [];
        class Reader extends BaseTestHandler {
          override writable(): boolean { return false; }
          override handleRead(): void { calls.push(`read:${this.recv(100).toString("latin1")}`); }
          override handleExpt(): void { calls.push(`expt:${raw(this).recv(1, MSG_OOB).toString("latin1")}`); this.flag = true; }
        }
        let reader: Reader | null = null;
        class Server extends BaseServer {
          override handleAccepted(sock: Socket): void { reader = new Reader(sock, map); }
        }
        const server = new Server(family, family.addr(), map);
        const client = new BaseClient(family, server.address, map);
        await loopUntil(map, () => reader !== null && client.connected, usePoll);
        client.send(Buffer.from("ab"));
        await loopUntil(map, () => calls.length >= 1, usePoll);
        raw(client).send(Buffer.from("X"), MSG_OOB);
        await loopWaitingForFlag(map, reader!, usePoll);
        client.send(Buffer.from("cd"));
        await loopUntil(map, () => calls.length >= 3, usePoll);
        expect(calls).toEqual(["read:ab", "expt:X", "read:cd"]);
      });
    });
  });

  it.skipIf(missing("python3", !hasPython))("delivers a Python peer's MSG_OOB byte to handleExpt and keeps it out of the stream", async () => {
    const py = spawn("python3", ["-c", [
      "import socket, time",
      "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()",
      "print(l.getsockname()[1], flush=True)",
      "c, _ = l.accept()",
      "c.send(b'ab'); time.sleep(0.1); c.send(b'X', socket.MSG_OOB); time.sleep(0.1); c.send(b'cd'); time.sleep(0.1); c.close()",
    ].join("\n")], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = await new Promise<number>((r) => py.stdout!.once("data", (d) => r(Number(String(d).trim()))));
      const map = new ChannelMap();
      const calls: string[] = [];
      let got = "";
      class Client extends Dispatcher {
        override writable(): boolean { return !this.connected; }
        override handleConnect(): void { calls.push("handleConnect"); }
        override handleRead(): void { got += this.recv(100).toString("latin1"); }
        override handleExpt(): void { calls.push(`handleExpt:${raw(this).recv(10, MSG_OOB).toString("latin1")}`); }
        override handleClose(): void { calls.push("handleClose"); this.close(); }
      }
      const c = new Client(null, map);
      c.createSocket(AF_INET);
      c.connect(["127.0.0.1", port] as Address);
      await loop({ map, timeout: 1 });
      expect(got).toBe("abcd");
      expect(calls).toEqual(["handleConnect", "handleExpt:X", "handleClose"]);
    } finally {
      py.kill();
    }
  });

  it("reports EINVAL for recv(MSG_OOB) with no urgent data, as the kernel does", async () => {
    const map = new ChannelMap();
    try {
      const server = new BaseServer(ipv4, ipv4.addr(), map, BaseTestHandler);
      const client = new BaseClient(ipv4, server.address, map);
      await loopUntil(map, () => client.connected, false);
      expect(() => raw(client).recv(1, MSG_OOB)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    } finally {
      closeAll({ map });
    }
  });
});
