// TLS byte streams: close() delivers every byte send() took and then close_notify (Python's
// client checks it with suppress_ragged_eofs=False); a large echo stays intact; a reader that
// stops reading keeps decrypted input bounded (the channel's recvPause) and loses nothing.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import * as tls from "node:tls";
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, AF_INET, SSLContext, SSLSocket, PROTOCOL_TLS_SERVER,
} from "../../host/index.js";
import { makePki, python, pyClientContext, runLoop, waitFor, MODES, type Pki } from "./helpers.js";

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

const MiB = 1024 * 1024;

class Listener extends Dispatcher {
  port: number;
  constructor(m: ChannelMap, readonly make: (sock: SSLSocket) => Dispatcher) {
    super(undefined, m);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(8);
    this.port = (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket): void {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    ctx.loadCertChain(pki.serverCert, pki.serverKey);
    this.make(ctx.wrapSocket(sock, { serverSide: true }));
  }
}

describe.each(MODES)("TLS streams ($mode)", ({ usePoll }) => {
  it("close() right after send() delivers every byte, then close_notify (no ragged EOF)", async () => {
    map = new ChannelMap();
    const payload = randomBytes(3 * MiB);
    class Sender extends DispatcherWithSend {
      override handleRead(): void {
        const d = this.recv(100);
        if (d.length === 0) return;
        // DispatcherWithSend holds what the send window refuses; close once it has handed it all over.
        this.send(payload);
      }
      override handleWrite(): void {
        super.handleWrite();
        if (this.outBuffer.length === 0) this.close();
      }
    }
    const server = new Listener(map, (s) => new Sender(s, map));
    const loopRun = runLoop(map, usePoll);
    const r = await python(`${pyClientContext(pki)}
import hashlib
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost', suppress_ragged_eofs=False)
s.sendall(b'go')
h = hashlib.sha256(); n = 0
try:
    while True:
        d = s.recv(65536)
        if not d: break
        h.update(d); n += len(d)
    print(n, h.hexdigest(), 'close_notify')
except ssl.SSLEOFError as e:
    print(n, h.hexdigest(), 'ragged EOF')`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${payload.length} ${createHash("sha256").update(payload).digest("hex")} close_notify\n`);
    await loopRun.stop();
  });

  it("echoes 8 MiB intact, and a channel that stops reading holds at most about its recvPause of plaintext", async () => {
    map = new ChannelMap();
    let reading = false;
    let peak = 0;
    let echo: Echo | null = null;
    const sampler = setInterval(() => { if (echo && !echo.isClosed()) peak = Math.max(peak, (echo.socket as SSLSocket).pending()); }, 10);
    class Echo extends DispatcherWithSend {
      override readable(): boolean {
        return reading && this.outBuffer.length < MiB;
      }
      override handleRead(): void {
        const d = this.recv(65536);
        if (d.length > 0) this.send(d);
      }
    }
    const server = new Listener(map, (s) => {
      echo = new Echo(s, map);
      echo.setBufferLimits({ recvPause: 128 * 1024 });
      return echo;
    });
    const loopRun = runLoop(map, usePoll);
    const payload = randomBytes(8 * MiB);
    const got: Buffer[] = [];
    let n = 0;
    const done = new Promise<void>((resolve, reject) => {
      const c = tls.connect({ port: server.port, host: "127.0.0.1", servername: "localhost", ca: readFileSync(pki.caCert) });
      c.on("secureConnect", () => c.write(payload));
      c.on("data", (d: Buffer) => { got.push(d); n += d.length; if (n >= payload.length) c.end(); });
      c.on("error", reject);
      c.on("close", () => resolve());
    });
    // Not reading: the kernel's buffers and the pause bound stop the sender; plaintext stays bounded.
    await waitFor(() => peak >= 128 * 1024, "decrypted input to reach the pause bound");
    await new Promise((r) => setTimeout(r, 200));
    expect(n).toBe(0);
    // Decryption stops once the plaintext passes the bound; what arrived meanwhile (at most the
    // ciphertext queue's own bound and a read) is decrypted at once: 2 × recvPause + 64 KiB at most.
    const bound = 2 * 128 * 1024 + 65536;
    expect(peak).toBeGreaterThanOrEqual(128 * 1024);
    expect(peak).toBeLessThanOrEqual(bound);
    reading = true;
    await done;
    clearInterval(sampler);
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(peak).toBeLessThanOrEqual(bound);
    await loopRun.stop();
  });
});
