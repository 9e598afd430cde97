// A TCP relay on wasyncore: every client accepted on LISTEN gets its own connection to UPSTREAM, and
// bytes are copied both ways until either side closes; then what is still buffered toward the other
// side is delivered and both close. An upstream that cannot be reached is reported to the client as
// one line. examples/assembly/relay.ts is the same server compiled to WebAssembly: the same bytes.
//
//   node build/examples/relay-server.js [LISTEN=127.0.0.1:8010] [UPSTREAM=127.0.0.1:8007] [--poll]
import { Dispatcher, DispatcherWithSend, Socket, SocketError, AF_INET, AF_INET6, loop } from "../host/index.js";

/** Bytes one side buffers toward its peer before the relay stops reading the other side. */
const HIGH_WATER = 256 * 1024;

/** "HOST:PORT" or "[V6]:PORT" → [host, port]. */
function parseHostPort(text: string): [string, number] {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return [host, Number(text.slice(colon + 1))];
}
const familyOf = (host: string): number => (host.includes(":") ? AF_INET6 : AF_INET);
const where = ([host, port]: [string, number]): string => `${host.includes(":") ? `[${host}]` : host}:${port}`;

const args = process.argv.slice(2).filter((a) => a !== "--poll");
const usePoll = process.argv.includes("--poll");
const listenAddr = parseHostPort(args[0] ?? "127.0.0.1:8010");
const upstream = parseHostPort(args[1] ?? "127.0.0.1:8007");

/** One end of a relayed pair: what it reads goes to its peer's output buffer. */
class Side extends DispatcherWithSend {
  peer: Side | null = null;
  /** Close once outBuffer is delivered (the other side is gone). */
  finishing = false;

  // read only while the peer can take it: a slow reader on one side cannot make the relay buffer without end
  override readable(): boolean {
    const p = this.peer;
    return p !== null && p.connected && p.outBuffer.length < HIGH_WATER;
  }

  override handleRead(): void {
    let data: Buffer;
    try {
      data = this.recv(65536);
    } catch (err) {
      if (err instanceof SocketError && err.code === "EAGAIN") return;
      throw err;
    }
    const p = this.peer;
    if (data.length > 0 && p !== null) p.send(data);
  }

  override handleWrite(): void {
    this.initiateSend();
    if (this.finishing && this.outBuffer.length === 0) this.close();
  }

  /** Delivers what is buffered toward this side, then closes it. */
  finish(): void {
    this.peer = null;
    this.finishing = true;
    if (this.outBuffer.length === 0 || !this.connected) this.close();
  }

  override handleClose(): void {
    const p = this.peer;
    this.peer = null;
    this.close();
    if (p !== null) p.finish();
  }
}

/** The relay's connection to the upstream server. */
class Upstream extends Side {
  override handleConnect(): void {}

  override handleError(err: unknown): void {
    const p = this.peer;
    this.peer = null;
    this.close();
    if (p !== null) {
      const code = err instanceof SocketError ? err.code : String(err);
      p.send(Buffer.from(`relay: cannot reach ${where(upstream)}: ${code}\r\n`));
      p.finish();
    }
  }
}

class Relay extends Dispatcher {
  override handleAccepted(sock: Socket): void {
    const client = new Side(sock);
    const up = new Upstream();
    client.peer = up;
    up.peer = client;
    try {
      up.createSocket(familyOf(upstream[0]));
      up.connect(upstream);
    } catch (err) {
      up.handleError(err); // known at once: the same report
    }
  }
}

const server = new Relay();
server.createSocket(familyOf(listenAddr[0]));
server.setReuseAddr();
server.bind(listenAddr);
server.listen(128);
const bound = server.socket!.getsockname() as [string, number];
console.log(`relay: listening on ${where([bound[0], bound[1]])}, upstream ${where(upstream)}`);

await loop({ usePoll });
