// AsyncChat's useEncoding / encoding (asynchat's use_encoding / encoding): string terminators and pushed
// strings encoded with a Python codec name; framing checked over real loopback sockets.
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { AsyncChat, ChannelMap, AF_INET, closeAll, loop, type Terminator } from "../../host/index.js";

const map = new ChannelMap();
afterEach(() => closeAll({ map, ignoreAll: true }));

class Collector extends AsyncChat {
  frames: string[] = [];
  #buf: Buffer[] = [];
  override collectIncomingData(data: Buffer): void { this.#buf.push(data); }
  override foundTerminator(): void {
    this.frames.push(Buffer.concat(this.#buf).toString("latin1"));
    this.#buf = [];
  }
  override handleConnect(): void {}
  override handleClose(): void { this.close(); }
}

/** A Node server that sends `bytes` to its one client and ends (null: waits for the client to end); resolves with what the client sent. */
async function sendingServer(bytes: Buffer | null): Promise<{ port: number; received: Promise<Buffer> }> {
  let resolve!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolve = r));
  const server = net.createServer((conn) => {
    const got: Buffer[] = [];
    conn.on("data", (d: Buffer) => got.push(d));
    conn.on("error", () => {});
    conn.on("close", () => { resolve(Buffer.concat(got)); server.close(); });
    conn.on("end", () => conn.end());
    if (bytes !== null) conn.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, received };
}

describe("AsyncChat useEncoding / encoding", () => {
  it("defaults to useEncoding false and encoding 'latin-1', as asynchat", () => {
    const c = new AsyncChat(null, map);
    expect(c.useEncoding).toBe(false);
    expect(c.encoding).toBe("latin-1");
  });

  it("encodes a string terminator as UTF-8 without useEncoding, and with `encoding` with it", () => {
    const c = new AsyncChat(null, map);
    c.setTerminator("é");
    expect(c.getTerminator()).toEqual(Buffer.from([0xc3, 0xa9]));
    c.useEncoding = true;
    c.setTerminator("é");
    expect(c.getTerminator()).toEqual(Buffer.from([0xe9])); // latin-1
    for (const [name, bytes] of [["utf-8", [0xc3, 0xa9]], ["UTF8", [0xc3, 0xa9]], ["iso-8859-1", [0xe9]], ["ISO_8859_1", [0xe9]], ["latin1", [0xe9]]] as const) {
      c.encoding = name;
      c.setTerminator("é");
      expect(c.getTerminator(), name).toEqual(Buffer.from(bytes));
    }
    c.encoding = "ascii";
    c.setTerminator("\r\n");
    expect(c.getTerminator()).toEqual(Buffer.from("\r\n"));
  });

  it("throws a RangeError naming an unknown codec, and for a character the codec cannot encode", () => {
    const c = new AsyncChat(null, map);
    c.useEncoding = true;
    c.encoding = "cp1252";
    expect(() => c.setTerminator("\n")).toThrow(RangeError);
    expect(() => c.setTerminator("\n")).toThrow(/encoding must be 'latin-1', 'iso-8859-1', 'utf-8' or 'ascii', got "cp1252"/);
    c.encoding = "ascii";
    expect(() => c.setTerminator("é")).toThrow(/'ascii' codec can't encode character "é" in position 0/);
    c.encoding = "latin-1";
    expect(() => c.setTerminator("€")).toThrow(RangeError);
    c.useEncoding = false;
    c.encoding = "cp1252"; // not used without useEncoding
    expect(() => c.setTerminator("\n")).not.toThrow();
  });

  it("frames input on the latin-1 encoded terminator over a loopback socket (subclass fields, as Python's class attributes)", async () => {
    class Latin1Chat extends Collector {
      override useEncoding = true;
      override encoding = "latin-1";
    }
    const { port } = await sendingServer(Buffer.from("abc\xe9def\xe9tail", "latin1"));
    const c = new Latin1Chat(null, map);
    c.setTerminator("\xe9");
    c.createSocket(AF_INET);
    c.connect(["127.0.0.1", port]);
    await loop({ map, timeout: 0.05, count: 400 });
    expect(c.frames).toEqual(["abc", "def"]);
  });

  it("frames input on a string getTerminator() override, encoded with `encoding`", async () => {
    class Utf8Chat extends Collector {
      override useEncoding = true;
      override encoding = "utf-8";
      override getTerminator(): Terminator { return "→" as unknown as Terminator; } // Python subclasses may return a str
    }
    const { port } = await sendingServer(Buffer.from("one→two→", "utf8"));
    const c = new Utf8Chat(null, map);
    c.createSocket(AF_INET);
    c.connect(["127.0.0.1", port]);
    await loop({ map, timeout: 0.05, count: 400 });
    expect(c.frames.map((f) => Buffer.from(f, "latin1").toString("utf8"))).toEqual(["one", "two"]);
  });

  it("push() takes a string only with useEncoding, and sends it encoded with `encoding`", async () => {
    const { port, received } = await sendingServer(null);
    const c = new Collector(null, map);
    expect(() => c.push("é" as never)).toThrow(/push\(\): data must be a Uint8Array or Buffer, got a string .*or set useEncoding/);
    c.useEncoding = true;
    c.createSocket(AF_INET);
    c.connect(["127.0.0.1", port]);
    c.push("é-latin1 ");
    c.encoding = "utf-8";
    c.push("é-utf8");
    c.closeWhenDone();
    await loop({ map, timeout: 0.05, count: 400 });
    expect(await received).toEqual(Buffer.concat([Buffer.from("é-latin1 ", "latin1"), Buffer.from("é-utf8", "utf8")]));
  });
});
