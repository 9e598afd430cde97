// Shared fixtures for the AsyncChat tests: CPython test_asynchat's echo server and client.
import * as net from "node:net";
import { AsyncChat, ChannelMap, AF_INET, SOCK_STREAM } from "../../host/index.js";

export const SERVER_QUIT = Buffer.from("QUIT\n");
const EMPTY = Buffer.alloc(0);

/** CPython's echo_server: collects until QUIT, then sends everything back in `chunkSize` pieces. */
export interface EchoServer {
  port: number;
  /** Resolves once the server sent its echo (or gave up) and closed. */
  done: Promise<void>;
  /** What the server received, QUIT removed. */
  received(): Buffer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startEchoServer(chunkSize = 1, resendGate?: Promise<void>): Promise<EchoServer> {
  let buffer = EMPTY;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const server = net.createServer((conn) => {
    conn.setNoDelay(true);
    conn.on("error", () => {});
    let collected = EMPTY;
    let quit = false;
    const resend = async (): Promise<void> => {
      if (quit) return;
      quit = true;
      const i = collected.indexOf(SERVER_QUIT);
      buffer = i < 0 ? collected : Buffer.concat([collected.subarray(0, i), collected.subarray(i + SERVER_QUIT.length)]);
      if (resendGate) await resendGate;
      // this may fail (test_close_when_done): the client closes when it is done sending
      for (let off = 0; off < buffer.length && !conn.destroyed && conn.writable; off += chunkSize) {
        conn.write(buffer.subarray(off, off + chunkSize));
        await sleep(1);
      }
      conn.end();
      server.close();
      finish();
    };
    conn.on("data", (d: Buffer) => {
      if (quit) return;
      collected = Buffer.concat([collected, d]);
      if (collected.includes(SERVER_QUIT)) void resend();
    });
    conn.on("end", () => void resend());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, done, received: () => buffer };
}

/** CPython's echo_client: accumulates into `buffer`, each frame into `contents`. */
export class EchoClient extends AsyncChat {
  contents: Buffer[] = [];
  buffer: Buffer = EMPTY;
  errors: unknown[] = [];
  collected: Buffer[] = [];

  constructor(terminator: Uint8Array | string | number | null, port: number, map: ChannelMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.connect(["127.0.0.1", port]);
    this.setTerminator(terminator);
  }

  override handleConnect(): void {}

  override collectIncomingData(data: Buffer): void {
    this.collected.push(data);
    this.buffer = Buffer.concat([this.buffer, data]);
  }

  override foundTerminator(): void {
    this.contents.push(this.buffer);
    this.buffer = EMPTY;
  }

  override handleError(err: unknown): void {
    this.errors.push(err);
    super.handleError(err);
  }
}

export const b = (s: string): Buffer => Buffer.from(s, "latin1");
