// AsyncChat inside a module (examples/assembly/fixtures/chatter.ts) against its TypeScript twin
// below: the same bytes out for the same bytes in — count terminators counting down, string
// terminators split across reads, "collect everything", producers, closeWhenDone — in select and
// poll2 mode, host flavour and WASIX.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Wasmer } from "@wasmer/sdk/node";
import { AsyncChat, Dispatcher, ChannelMap, SimpleProducer, loop, closeAll, AF_INET, type Socket } from "../../host/index.js";
import { WasmServer } from "../../host/sandbox/index.js";
import { fixture, devNull, freePort } from "./helpers.js";
import { transcript, runWasix, type WasixRun } from "./wasmapi-helpers.js";

class Chatter extends AsyncChat {
  mode: "line" | "count" | "term" | "all" = "line";
  buf: Buffer[] = [];
  constructor(sock: Socket, map: ChannelMap) {
    super(sock, map);
    this.setTerminator("\r\n");
  }
  override collectIncomingData(data: Buffer): void {
    if (this.mode === "all") { this.push(data); return; }
    this.buf.push(Buffer.from(data));
  }
  override foundTerminator(): void {
    const data = Buffer.concat(this.buf);
    this.buf = [];
    if (this.mode === "count" || this.mode === "term") {
      this.push(Buffer.from(this.mode === "count" ? `GOT ${data.length}:` : "FRAME "));
      this.push(data);
      this.push(Buffer.from("\r\n"));
      this.mode = "line";
      this.setTerminator("\r\n");
      return;
    }
    const line = data.toString("utf8");
    const parts = line.split(" ");
    if (parts[0] === "COUNT") { this.mode = "count"; this.setTerminator(parseInt(parts[1])); }
    else if (parts[0] === "TERM") { this.mode = "term"; this.setTerminator(line.slice(5)); }
    else if (parts[0] === "PRODUCE") {
      const n = parseInt(parts[1]);
      const p = Buffer.alloc(n);
      for (let i = 0; i < n; i++) p[i] = 97 + ((i * 7) % 26);
      this.pushWithProducer(new SimpleProducer(p, parseInt(parts[2])));
      this.push(Buffer.from("\r\n"));
    } else if (parts[0] === "ALL") { this.mode = "all"; this.setTerminator(0); }
    else if (parts[0] === "BYE") { this.push(Buffer.from("bye\r\n")); this.closeWhenDone(); }
    else this.push(Buffer.from(`LINE ${line}\r\n`));
  }
}

class Server extends Dispatcher {
  constructor(readonly chatMap: ChannelMap) {
    super(null, chatMap);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(16);
  }
  get port(): number { return (this.socket!.getsockname() as [string, number])[1]; }
  override handleAccepted(sock: Socket): void { new Chatter(sock, this.chatMap); }
}

const big = Buffer.alloc(70_000, "q");
/** Framing cases, ending with BYE (the server closes after "bye"). */
const SCRIPT = Buffer.concat([
  Buffer.from("hello\r\n\r\nCOUNT 5\r\n12345COUNT 1\r\nxafter one\r\nCOUNT 12\r\nsplit\r\nacross\r\n"),
  Buffer.from("TERM <end>\r\nsome <en text<end>TERM ab\r\naaab\r\nPRODUCE 1000 7\r\nPRODUCE 3 512\r\n"),
  Buffer.from("COUNT 70000\r\n"), big, Buffer.from("h\u00e9llo \u2603\r\nBYE\r\nignored\r\n"),
]);
/** ALL: everything after it is echoed as it comes, until the client closes. */
const ALL_SCRIPT = Buffer.concat([Buffer.from("one\r\nALL\r\n"), big, Buffer.from("tail\r\n")]);

describe("AsyncChat in a module vs TypeScript", () => {
  let map: ChannelMap;
  let ts: Server;
  let running: Promise<void>;
  let expected: Buffer;
  const modules: { name: string; port: number; stop(): Promise<void> | void }[] = [];

  beforeAll(async () => {
    map = new ChannelMap();
    ts = new Server(map);
    running = loop({ map, timeout: 0.05 });
    expected = await transcript(ts.port, SCRIPT);
    for (const poll of ["0", "1"]) {
      const m = await WasmServer.start(await fixture("chatter"), { listen: ["127.0.0.1:0"], args: ["--poll", poll], stdout: devNull() });
      modules.push({ name: `host flavour, ${poll === "1" ? "poll2" : "select"} mode`, port: m.listening[0].port, stop: () => m.close() });
    }
  }, 120_000);
  afterAll(async () => {
    for (const m of modules) await m.stop();
    closeAll({ map });
    await running;
  });

  it("the TypeScript twin's transcript covers each case", () => {
    const t = expected.toString("latin1");
    expect(t).toContain("LINE hello\r\nLINE \r\nGOT 5:12345\r\nGOT 1:x\r\nLINE after one\r\nGOT 12:split\r\nacros\r\nLINE s\r\n");
    expect(t).toContain("FRAME some <en text\r\nFRAME aa\r\nLINE \r\n");
    expect(t).toContain(`GOT 70000:${"q".repeat(70000)}\r\n`);
    expect(t.endsWith("bye\r\n")).toBe(true);
  });

  for (const i of [0, 1]) {
    it.each([0, 1, 5, 100])(`${i === 0 ? "select" : "poll2"} mode: the same bytes, client writes in 1..%i-byte pieces (0: at once)`, async (piece) => {
      const got = await transcript(modules[i].port, SCRIPT, piece);
      expect(got.length).toBe(expected.length);
      expect(got.equals(expected)).toBe(true);
    }, 60_000);
  }

  it("collect everything (terminator 0): echoed as it comes, until the client closes", async () => {
    const { roundTrip } = await import("./helpers.js");
    const want = await roundTrip(ts.port, ALL_SCRIPT);
    expect(want.toString("latin1")).toBe(`LINE one\r\n${"q".repeat(70000)}tail\r\n`);
    for (const m of modules) expect((await roundTrip(m.port, ALL_SCRIPT)).equals(want)).toBe(true);
  });

  describe("WASIX flavour (@wasmer/sdk)", () => {
    let wasmer: Wasmer;
    let run: WasixRun;
    beforeAll(async () => {
      wasmer = new Wasmer();
      run = await runWasix(wasmer, await fixture("chatter", "wasix"), await freePort(), [], "127.0.0.1", 1500);
    }, 120_000);
    afterAll(async () => { await run?.stop(); await wasmer?.close(); });

    it("the same bytes, at once and in 1..5-byte pieces", async () => {
      expect((await transcript(run.port, SCRIPT)).equals(expected)).toBe(true);
      expect((await transcript(run.port, SCRIPT, 5)).equals(expected)).toBe(true);
    }, 60_000);
  });
});
