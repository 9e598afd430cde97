// Port of CPython 3.11 test_asyncore.DispatcherTests and DispatcherWithSendTests.
import * as net from "node:net";
import { constants as osConstants } from "node:os";
import { describe, it, expect, afterEach } from "vitest";
import { ChannelMap, Dispatcher, DispatcherWithSend, closeAll, poll, strerror } from "../../host/index.js";
import { captureOutput } from "./fixtures.js";

describe("DispatcherTests", () => {
  afterEach(() => closeAll());

  it("is readable and writable by default", () => {
    const d = new Dispatcher();
    expect(d.readable()).toBe(true);
    expect(d.writable()).toBe(true);
  });

  it("log() writes 'log: <msg>' lines to stderr", () => {
    const d = new Dispatcher();
    const l1 = "Lovely spam! Wonderful spam!";
    const l2 = "I don't like spam!";
    const out = captureOutput("stderr", () => {
      d.log(l1);
      d.log(l2);
    });
    expect(out.split("\n").filter(Boolean)).toEqual([`log: ${l1}`, `log: ${l2}`]);
  });

  it("logInfo() prints 'TYPE: msg' to stdout, type defaulting to info", () => {
    const d = new Dispatcher();
    const l1 = "Have you got anything without spam?";
    const l2 = "Why can't she have egg bacon spam and sausage?";
    const l3 = "THAT'S got spam in it!";
    const out = captureOutput("stdout", () => {
      d.logInfo(l1, "EGGS");
      d.logInfo(l2);
      d.logInfo(l3, "SPAM");
    });
    expect(out.split("\n").filter(Boolean)).toEqual([`EGGS: ${l1}`, `info: ${l2}`, `SPAM: ${l3}`]);
  });

  it("logInfo() prints 'error' and 'warning' lines to stderr, not stdout (CPython: all on stdout)", () => {
    const d = new Dispatcher();
    d.ignoreLogTypes = new Set();
    let out = "";
    const err = captureOutput("stderr", () => {
      out = captureOutput("stdout", () => {
        d.logInfo("it broke", "error");
        d.logInfo("careful", "warning");
        d.logInfo("fine");
      });
    });
    expect(err.split("\n").filter(Boolean)).toEqual(["error: it broke", "warning: careful"]);
    expect(out).toBe("info: fine\n");
  });

  it("drops warnings by default (ignoreLogTypes holds 'warning')", () => {
    const d = new Dispatcher();
    let out = "";
    const err = captureOutput("stderr", () => {
      out = captureOutput("stdout", () => {
        d.handleRead();
        d.logInfo("dropped", "warning");
      });
    });
    expect(out + err).toBe("");
  });

  it("logs the four unhandled-event warnings when ignoreLogTypes is emptied", () => {
    const d = new Dispatcher();
    d.ignoreLogTypes = new Set();
    const out = captureOutput("stderr", () => {
      d.handleExpt();
      d.handleRead();
      d.handleWrite();
      d.handleConnect();
    });
    expect(out.split("\n").filter(Boolean)).toEqual([
      "warning: unhandled incoming priority event",
      "warning: unhandled read event",
      "warning: unhandled write event",
      "warning: unhandled connect event",
    ]);
  });

  it("default handleError logs a compact trace at 'error' level to stderr, then calls handleClose", () => {
    const calls: string[] = [];
    const d = new (class extends Dispatcher {
      override handleClose(): void {
        calls.push("handleClose");
        super.handleClose();
      }
    })();
    d.createSocket();
    let stdout = "";
    const out = captureOutput("stderr", () => {
      stdout = captureOutput("stdout", () => {
        try {
          throw new TypeError("I don't like spam!");
        } catch (err) {
          d.handleError(err);
        }
      });
    });
    expect(stdout).toBe("");
    expect(calls).toEqual(["handleClose"]);
    expect(out).toMatch(/^error: uncaptured exception, closing channel <.*> \(TypeError:I don't like spam! \[.*\|.*\|\d+\]\)\n$/);
    expect(d.socket!.closed).toBe(true);
  });

  it("strerror() matches the OS message for EPERM and is never empty (bpo-8573)", () => {
    const eperm = osConstants.errno.EPERM;
    expect(strerror(eperm)).not.toBe("");
    expect(strerror(osConstants.errno.ECONNRESET)).toBe("Connection reset by peer");
    expect(strerror(eperm)).toBe("Operation not permitted");
    expect(strerror(-1)).not.toBe("");
  });
});

/** Python: dispatcherwithsend_noread */
class DispatcherWithSendNoRead extends DispatcherWithSend {
  override readable(): boolean { return false; }
  override handleConnect(): void {}
}

/** Python: capture_server — collects what it gets until a newline; resolves with the bytes without newlines. */
function captureServer(): Promise<{ port: number; received: Promise<Buffer> }> {
  return new Promise((resolveListening) => {
    let resolveReceived!: (b: Buffer) => void;
    const received = new Promise<Buffer>((r) => { resolveReceived = r; });
    const server = net.createServer((conn) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(finish, 3000);
      function finish(): void {
        clearTimeout(timer);
        conn.destroy();
        server.close();
        const all = Buffer.concat(chunks);
        resolveReceived(Buffer.from(all.toString("latin1").replace(/\n/g, ""), "latin1"));
      }
      conn.on("data", (data: Buffer) => {
        chunks.push(data);
        if (data.includes(0x0a)) finish();
      });
      conn.on("end", finish);
      conn.on("error", finish);
    });
    server.listen(0, "127.0.0.1", () => resolveListening({ port: (server.address() as net.AddressInfo).port, received }));
  });
}

describe("DispatcherWithSendTests", () => {
  afterEach(() => closeAll());

  it("send() buffers before the connect completes and poll() drains it to the peer", async () => {
    const { port, received } = await captureServer();
    const data = Buffer.from("Suppose there isn't a 16-ton weight?");
    const d = new DispatcherWithSendNoRead();
    d.createSocket();
    d.connect(["127.0.0.1", port]);

    d.send(data);
    d.send(data);
    d.send(Buffer.from("\n"));
    // net: nothing can be sent before the loop sees the connect; native: send(2) takes the bytes
    // once the kernel has connected (loopback connects at once), as in CPython
    if (process.env.WASYNCORE_BACKEND !== "native") expect(d.outBuffer.length).toBeGreaterThan(0);

    for (let n = 1000; d.outBuffer.length > 0 && n > 0; n--) await poll(0.01);
    expect(d.outBuffer.length).toBe(0);

    expect((await received).equals(Buffer.concat([data, data]))).toBe(true);
  });

  it("works with a custom ChannelMap too", async () => {
    const { port, received } = await captureServer();
    const map = new ChannelMap();
    const data = Buffer.from("It's not dead, it's sleeping!");
    const d = new DispatcherWithSendNoRead(null, map);
    d.createSocket();
    d.connect(["127.0.0.1", port]);
    d.send(data);
    d.send(Buffer.from("\n"));
    for (let n = 1000; d.outBuffer.length > 0 && n > 0; n--) await poll(0.01, map);
    expect((await received).equals(data)).toBe(true);
    closeAll({ map });
  });
});
