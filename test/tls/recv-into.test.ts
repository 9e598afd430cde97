// recvInto() on an SSLSocket reads plaintext (its own recv() decrypts), never the ciphertext below.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, closeAll, AF_INET, SSLContext, SSLSocket, PROTOCOL_TLS_SERVER,
} from "../../host/index.js";
import { makePki, python, pyClientContext, runLoop, type Pki } from "./helpers.js";

let pki: Pki;
let map: ChannelMap;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());
afterEach(() => closeAll({ map, ignoreAll: true }));

describe("SSLSocket.recvInto()", () => {
  it("fills the caller's buffer with decrypted bytes; 0 at the peer's close", async () => {
    map = new ChannelMap();
    const got: string[] = [];
    class Echo extends DispatcherWithSend {
      readonly buf = Buffer.alloc(5); // smaller than the message: several reads
      override handleRead(): void {
        let n: number;
        try {
          n = (this.socket as SSLSocket).recvInto(this.buf);
        } catch (err) {
          if ((err as { code?: string }).code === "EAGAIN" || (err as { code?: string }).code === "SSL_ERROR_WANT_READ") return;
          throw err;
        }
        if (n === 0) { this.close(); return; }
        got.push(this.buf.subarray(0, n).toString());
        this.send(Buffer.from(this.buf.subarray(0, n)));
      }
    }
    class Listener extends Dispatcher {
      port: number;
      constructor() {
        super(undefined, map);
        this.createSocket(AF_INET);
        this.bind(["127.0.0.1", 0]);
        this.listen(8);
        this.port = (this.socket!.getsockname() as [string, number])[1];
      }
      override handleAccepted(sock: Socket): void {
        const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
        ctx.loadCertChain(pki.serverCert, pki.serverKey);
        new Echo(ctx.wrapSocket(sock, { serverSide: true }), map);
      }
    }
    const server = new Listener();
    const loopRun = runLoop(map, false);
    const r = await python(`${pyClientContext(pki)}
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${server.port})), server_hostname='localhost')
s.sendall(b'plaintext over TLS, read into a buffer')
want = 38; back = b''
while len(back) < want:
    d = s.recv(100)
    if not d: break
    back += d
print(back.decode())
s.close()`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("plaintext over TLS, read into a buffer\n");
    expect(got.join("")).toBe("plaintext over TLS, read into a buffer");
    await loopRun.stop();
  });
});
