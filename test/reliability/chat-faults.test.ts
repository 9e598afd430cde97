// AsyncChat faults: peers that reset mid-frame, producers that throw, non-bytes pushed from a
// handler, one giant line with no terminator, a partial terminator held at EOF. The right
// handler runs once, queued output stays intact, the core's input stays bounded, and other
// AsyncChat connections (bystanders speaking the test protocol) get every reply byte-exact.
import { describe, it, expect, afterEach } from "vitest";
import * as net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { ChannelMap, Socket, closeAll, loopStats } from "../../host/index.js";
import { AsyncChat, type Producer } from "../../host/asyncore/chat.js";
import { getEngine } from "../../host/core/engine.js";
import { FIELD } from "../../host/core/abi.js";
import { ChatServer, ChatBystanders, Listener } from "./chat-helpers.js";
import { runLoop, waitFor, sleep, size, report, KiB, MiB, SOAK } from "./helpers.js";
import { passes } from "../support/index.js";

const TIME = SOAK ? 600_000 : 30_000;
const CRLF = Buffer.from("\r\n");

let map: ChannelMap;
afterEach(() => closeAll({ map, ignoreAll: true }));

class Boom extends Error {}

/** An AsyncChat that logs its handlers; `onLine` answers each CRLF-terminated line. */
class Probe extends AsyncChat {
  readonly calls: string[] = [];
  readonly errors: unknown[] = [];
  readonly pieces: Buffer[] = [];
  reads = 0;
  closeOnError = true;
  onLine: (line: string) => void = () => {};
  constructor(sock: Socket, map: ChannelMap, terminator: string = "\r\n") {
    super(sock, map);
    this.setTerminator(terminator);
  }
  override handleRead(): void {
    this.reads++;
    super.handleRead();
  }
  override collectIncomingData(data: Buffer): void {
    this.calls.push(`collect ${data.length}`);
    this.pieces.push(data);
  }
  override foundTerminator(): void {
    const line = Buffer.concat(this.pieces).toString("latin1");
    this.pieces.length = 0;
    this.calls.push(`found ${line}`);
    this.onLine(line);
  }
  override handleClose(): void {
    this.calls.push("handleClose");
    this.close();
  }
  override handleError(err: unknown): void {
    this.calls.push(`handleError ${(err as Error)?.constructor?.name}`);
    this.errors.push(err);
    if (this.closeOnError) this.close();
  }
}

/** Connects to `port`, writes `data`, and resolves with every byte received until the close. */
function converse(port: number, data: Buffer): Promise<{ back: Buffer; error: string | null }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const back: Buffer[] = [];
    let error: string | null = null;
    s.on("data", (d: Buffer) => back.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => { error = e.code ?? String(e); });
    s.on("end", () => s.end());
    s.on("close", () => resolve({ back: Buffer.concat(back), error }));
    s.write(data);
  });
}

describe.each([
  { mode: "select", usePoll: false },
  { mode: "poll2", usePoll: true },
])("AsyncChat faults ($mode)", ({ usePoll }) => {
  let probes: Probe[];
  async function setup(terminator = "\r\n"): Promise<{ server: ChatServer; listener: Listener; by: ChatBystanders; stop(): Promise<void> }> {
    map = new ChannelMap();
    probes = [];
    const server = new ChatServer(map);
    const listener = new Listener(map, (sock) => { probes.push(new Probe(sock, map, terminator)); });
    const run = runLoop(map, { usePoll });
    const by = await ChatBystanders.open(server.port, 6);
    await waitFor(() => server.accepted === 6, "the bystanders to be accepted");
    return { server, listener, by, stop: run.stop };
  }

  it("calls handleClose once for peers that reset mid-line, mid-count, mid-DATA and with replies queued", async () => {
    const { server, by, stop } = await setup();
    const faults = [
      Buffer.concat([Buffer.from("BIN 100000\r\n"), randomBytes(40_000)]),
      Buffer.from("ECHO a line cut short"),
      Buffer.from("DATA\r\nhello\r\nworld"),
      Buffer.concat([Buffer.from("BIN 300000\r\n"), randomBytes(300_000), Buffer.from("ECHO x\r\n")]), // replies queued; never read
    ];
    for (const data of faults) {
      const before = loopStats({ map }).bytesIn;
      const s = net.connect({ host: "127.0.0.1", port: server.port });
      s.on("error", () => {});
      s.pause();
      s.write(data);
      await waitFor(() => loopStats({ map }).bytesIn - before >= data.length, "the server to read the partial frame");
      s.resetAndDestroy();
    }
    await waitFor(() => server.records.length === faults.length, "every reset channel to close");
    expect(server.records.map((r) => r.closes)).toEqual(faults.map(() => 1));
    // The cut frames never completed; the last input holds two whole frames (BIN, then ECHO). How far
    // framing got before the reset closed the channel depends on when the reset is seen (poll2's
    // POLLHUP closes after a read, asyncore's readwrite order); the frames counted are exactly the
    // frames whose last byte framing consumed.
    expect(server.records.map((r) => r.frames).slice(0, 3)).toEqual([0, 0, 0]);
    const last = server.records[3];
    const ends = [12 + 300_000, 12 + 300_000 + 8]; // "BIN 300000\r\n" + the bytes, then "ECHO x\r\n"
    expect(last.framedBytes).toBeGreaterThan(0);
    expect(last.framedBytes).toBeLessThanOrEqual(faults[3].length);
    expect(last.frames).toBe(ends.filter((end) => last.framedBytes >= end).length);
    expect(server.errors).toEqual([]);
    expect(await by.finish()).toEqual([]);
    expect(server.errors).toEqual([]);
    await stop();
  });

  it.each([
    { what: "throws", more: (): Buffer => { throw new Boom("more() failed"); }, error: Boom },
    { what: "returns a string", more: (): Buffer => "text" as unknown as Buffer, error: TypeError },
  ])("routes a producer whose more() $what to handleError once, after delivering everything queued before it", async ({ more, error }) => {
    const { listener, by, stop } = await setup();
    const before = randomBytes(MiB);
    const bad: Producer = { more };
    let probe: Probe | undefined;
    listener.make = (sock: Socket) => {
      probe = new Probe(sock, map);
      probe.onLine = () => {
        probe!.push(before); // far more than one send window: still queued when the producer is reached
        probe!.pushWithProducer(bad);
        probe!.push(Buffer.from("after\r\n"));
      };
      probes.push(probe);
    };
    const got = await converse(listener.port, Buffer.from("GO\r\n"));
    expect(got.error).toBe(null);
    expect(got.back.length).toBe(before.length);
    expect(got.back.equals(before)).toBe(true);
    expect(probe!.errors).toHaveLength(1);
    expect(probe!.errors[0]).toBeInstanceOf(error);
    expect(probe!.calls.filter((c) => c.startsWith("handle"))).toEqual([`handleError ${error.name}`]);
    // What was dropped is still visible: the producer and what was pushed after it.
    expect(probe!.producerFifo.length).toBe(2);
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("keeps queued output intact when a handler pushes non-bytes (caught, or reaching handleError)", async () => {
    const { listener, by, stop } = await setup();
    const caught: unknown[] = [];
    listener.make = (sock: Socket, n: number) => {
      const p = new Probe(sock, map);
      p.closeOnError = false;
      p.onLine = (line) => {
        if (line === "QUIT") { p.closeWhenDone(); return; }
        if (line === "BAD") { p.push("not bytes" as unknown as Buffer); return; } // uncaught: handleError
        p.push(Buffer.from(`${line}\r\n`));
        if (n === 0) {
          for (const v of ["text", null, 42, [1, 2]]) {
            try { p.push(v as unknown as Buffer); } catch (err) { caught.push(err); }
          }
          try { p.pushWithProducer(42 as unknown as Producer); } catch (err) { caught.push(err); }
          p.push(Buffer.from("ok\r\n"));
        }
      };
      probes.push(p);
    };
    const first = await converse(listener.port, Buffer.from("ECHO 1\r\nQUIT\r\n"));
    expect(first.back.toString()).toBe("ECHO 1\r\nok\r\nQUIT\r\n".replace("QUIT\r\n", ""));
    expect(caught).toHaveLength(5);
    expect(caught.every((e) => e instanceof TypeError)).toBe(true);
    expect(String(caught[0])).toMatch(/push\(\): data must be a Uint8Array or Buffer, got a string/);
    expect(String(caught[4])).toMatch(/pushWithProducer\(\): producer must have a more\(\) method/);
    expect(probes[0].calls.filter((c) => c.startsWith("handle"))).toEqual(["handleClose"]);

    const second = await converse(listener.port, Buffer.from("ECHO 1\r\nBAD\r\nECHO 2\r\nQUIT\r\n"));
    expect(second.back.toString()).toBe("ECHO 1\r\nECHO 2\r\n");
    expect(probes[1].calls).toEqual([
      "collect 6", "found ECHO 1", "collect 3", "found BAD", "handleError TypeError",
      "collect 6", "found ECHO 2", "collect 4", "found QUIT", "handleClose",
    ]);
    expect(await by.finish()).toEqual([]);
    await stop();
  });

  it("holds a partial terminator without busy reads, and drops it at EOF as asynchat does", async () => {
    const { listener, by, stop } = await setup();
    const e = getEngine();
    const s = net.connect({ host: "127.0.0.1", port: listener.port });
    s.on("error", () => {});
    s.write("ECHO a\r");
    await waitFor(() => probes[0]?.calls.length === 1, "the line before the held CR");
    const reads = probes[0].reads;
    await passes(map, 20); // the positive control: 20 passes of the loop ran meanwhile
    expect(probes[0].reads).toBe(reads); // the held CR alone does not make the channel readable
    s.write("\nECHO abc\r");
    await waitFor(() => probes[0].calls.length === 3, "the completed line and the next one");
    s.end();
    await waitFor(() => probes[0].isClosed(), "EOF to close the channel");
    expect(probes[0].calls).toEqual(["collect 6", "found ECHO a", "collect 8", "handleClose"]);

    // A longer terminator (SMTP's end of data): the held "\r\n." is dropped the same way.
    listener.make = (sock: Socket) => { probes.push(new Probe(sock, map, "\r\n.\r\n")); };
    const t = net.connect({ host: "127.0.0.1", port: listener.port });
    t.on("error", () => {});
    t.end("hello\r\nworld\r\n.");
    await waitFor(() => probes[1]?.isClosed() === true, "EOF to close the second channel");
    expect(probes[1].calls).toEqual(["collect 12", "handleClose"]);
    expect(await by.finish()).toEqual([]);
    await waitFor(() => e.stat("chunksLive") === 0, "every chunk back in the pool");
    s.destroy();
    t.destroy();
    await stop();
  });
});

describe("AsyncChat: one giant line with no terminator", () => {
  it.each([
    { acInBufferSize: 65536, total: size(128 * MiB, 1024 * MiB) },
    { acInBufferSize: 4096, total: size(16 * MiB, 256 * MiB) },
  ])("takes at most acInBufferSize ($acInBufferSize) per read and keeps the core's input at recvPause", async ({ acInBufferSize, total }) => {
    map = new ChannelMap();
    const e = getEngine();
    let collected = 0, maxPiece = 0, closes = 0, token = 0;
    const digest = createHash("sha256");
    const listener = new Listener(map, (sock) => {
      token = sock.fileno();
      const c = new (class extends AsyncChat {
        override collectIncomingData(data: Buffer): void {
          collected += data.length;
          maxPiece = Math.max(maxPiece, data.length);
          digest.update(data);
        }
        override foundTerminator(): void { throw new Error("no terminator was sent"); }
        override handleClose(): void { closes++; this.close(); }
      })(sock, map);
      c.acInBufferSize = acInBufferSize;
      c.setTerminator("\r\n");
    });
    const run = runLoop(map);
    const base = process.memoryUsage();
    let maxIn = 0, maxCore = 0, maxAb = 0, maxHeap = 0;
    const sampler = setInterval(() => {
      if (token) maxIn = Math.max(maxIn, e.field(token, FIELD.inLen));
      maxCore = Math.max(maxCore, e.stat("chunksLive") * (e.stat("chunkSize") + 16));
      const m = process.memoryUsage();
      maxAb = Math.max(maxAb, m.arrayBuffers - base.arrayBuffers);
      maxHeap = Math.max(maxHeap, m.heapUsed - base.heapUsed);
    }, 5);
    const line = Buffer.alloc(256 * KiB, "a");
    const sent = createHash("sha256");
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port: listener.port });
      s.on("error", reject);
      s.on("close", () => resolve());
      s.once("connect", async () => {
        for (let off = 0; off < total; off += line.length) {
          const piece = line.subarray(0, Math.min(line.length, total - off));
          sent.update(piece);
          if (!s.write(piece)) await new Promise((r) => s.once("drain", r));
        }
        s.end();
      });
      s.on("end", () => s.end());
    });
    await waitFor(() => closes === 1, "the server to see EOF", TIME);
    clearInterval(sampler);
    const ms = Date.now() - t0;
    expect(collected).toBe(total);
    expect(digest.digest("hex")).toBe(sent.digest("hex"));
    expect(maxPiece).toBeLessThanOrEqual(acInBufferSize);
    const recvPause = e.limits.recvPause;
    expect(maxIn).toBeLessThan(recvPause + 64 * KiB); // one read buffer past the pause bound at most
    expect(maxCore).toBeLessThanOrEqual(recvPause + 64 * KiB + 16 * KiB + 16);
    expect(maxAb).toBeLessThan(48 * MiB); // garbage awaiting GC included: far below the line's size
    await run.stop();
    report(`AsyncChat giant line (acInBufferSize ${acInBufferSize})`, {
      bytes: total, ms, mbPerSecond: Math.round(total / MiB / (ms / 1000)), maxPiece, maxCoreInput: maxIn,
      maxCoreChunkBytes: maxCore, maxArrayBuffersDelta: maxAb, maxHeapDelta: maxHeap,
    });
  }, TIME + 10_000);
});
