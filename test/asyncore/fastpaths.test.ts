// Behaviour the hot paths must keep (issue 7): copies that send() skips, writes that finish later.
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { DispatcherWithSend, closeAll, poll } from "../../host/index.js";
import { AsyncChat } from "../../host/chat.js";

/** A server that collects everything one connection sends until it closes. */
function sink(): Promise<{ port: number; received: Promise<Buffer> }> {
  return new Promise((resolveListening) => {
    let resolveReceived!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => { resolveReceived = r; });
    const server = net.createServer((conn) => {
      const chunks: Buffer[] = [];
      conn.on("data", (d) => chunks.push(d));
      conn.on("close", () => { server.close(); resolveReceived(Buffer.concat(chunks)); });
      conn.on("error", () => {});
    });
    server.listen(0, "127.0.0.1", () => resolveListening({ port: (server.address() as net.AddressInfo).port, received }));
  });
}

class Sender extends DispatcherWithSend {
  override readable(): boolean { return false; }
  override handleClose(): void { this.close(); }
}

async function drain(d: Sender): Promise<void> {
  for (let n = 2000; d.outBuffer.length > 0 && n > 0; n--) await poll(0.01);
  expect(d.outBuffer.length).toBe(0);
}

describe("DispatcherWithSend.send() without a copy per call", () => {
  afterEach(() => closeAll());

  it("queues its own copy of bytes it could not send yet, so changing the caller's Buffer afterwards changes nothing", async () => {
    const { port, received } = await sink();
    const d = new Sender();
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    d.setBufferLimits({ sendWindow: 16 }); // net: still connecting, all of it queues; native: the kernel may take 16
    const data = Buffer.from("Nobody expects the Spanish Inquisition!");
    expect(d.send(data)).toBe(data.length);
    expect(d.outBuffer.length).toBeGreaterThanOrEqual(data.length - 16);
    data.fill(0x58); // 'X'
    await drain(d);
    d.close();
    expect((await received).toString()).toBe("Nobody expects the Spanish Inquisition!");
  });

  it("copies only what the send window left, from a plain Uint8Array too", async () => {
    const { port, received } = await sink();
    const d = new Sender();
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    while (!d.connected) await poll(0.01);
    d.setBufferLimits({ sendWindow: 1000 });
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const original = Buffer.from(bytes);
    d.send(bytes);
    expect(d.outBuffer.length).toBe(4000); // the first 1,000 went to the socket
    expect(d.outBuffer.buffer).not.toBe(bytes.buffer);
    bytes.fill(7);
    await drain(d);
    d.close();
    expect((await received).equals(original)).toBe(true);
  });
});

class Chat extends AsyncChat {
  override collectIncomingData(): void {}
  override foundTerminator(): void {}
  override readable(): boolean { return false; }
}

async function drainChat(c: Chat): Promise<void> {
  for (let n = 2000; c.producerFifo.length > 0 && n > 0; n--) await poll(0.01);
  expect(c.producerFifo.length).toBe(0);
}

describe("AsyncChat.push() without a copy per call", () => {
  afterEach(() => closeAll());

  it("queues a snapshot of bytes it could not send yet (Python's bytes are immutable)", async () => {
    const { port, received } = await sink();
    const c = new Chat();
    c.createSocket();
    c.connect(["127.0.0.1", port]);
    const data = Buffer.from("Ni! Ni! Ni!");
    c.push(data);
    c.push(new Uint8Array([0x21, 0x21]));
    data.fill(0x3f);
    await drainChat(c);
    c.close();
    expect((await received).toString()).toBe("Ni! Ni! Ni!!!");
  });

  it("snapshots the pieces left of a push split by acOutBufferSize, in order", async () => {
    const { port, received } = await sink();
    const c = new Chat();
    c.acOutBufferSize = 700;
    c.createSocket();
    c.connect(["127.0.0.1", port]);
    while (!c.connected) await poll(0.01);
    c.setBufferLimits({ sendWindow: 1000 });
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 253));
    const original = Buffer.from(data);
    c.push(data); // one send() of 700 bytes; the other pieces stay queued
    expect(c.producerFifo.length).toBe(7);
    data.fill(1);
    await drainChat(c);
    c.close();
    expect((await received).equals(original)).toBe(true);
  });
});
