// Handing a connected socket from one dispatcher to another (delChannel() then new Dispatcher(sock)), as
// the README's porting notes describe it: the new owner gets the events; the old one's timers are not moved;
// an old owner's close() closes the socket under the new one, which gets handleClose() and leaves the map.
import * as net from "node:net";
import { describe, it, expect, afterEach } from "vitest";
import { ChannelMap, Dispatcher, DispatcherWithSend, closeAll, loop, type Socket } from "../../host/index.js";

const map = new ChannelMap();
afterEach(() => closeAll({ map, ignoreAll: true }));

/** A Node client that sends `lines` one per 30 ms and collects what comes back until the server closes. */
async function client(port: number, lines: string[]): Promise<string> {
  const c = net.connect(port, "127.0.0.1");
  let got = "";
  c.on("data", (d: Buffer) => (got += d.toString()));
  c.on("error", () => {});
  for (const l of lines) {
    await new Promise((r) => setTimeout(r, 30));
    c.write(l);
  }
  await new Promise<void>((r) => c.on("close", () => r()));
  return got;
}

class Echo extends DispatcherWithSend {
  override handleRead(): void {
    const d = this.recv(100);
    if (d.length === 0) return;
    this.send(Buffer.from(`echo:${d.toString()}`));
    if (d.toString() === "quit") this.close();
  }
  override handleClose(): void { this.close(); }
}

function server(onAccept: (sock: Socket) => void): number {
  const s = new (class extends Dispatcher {
    override handleAccepted(sock: Socket): void { onAccept(sock); this.close(); }
  })(null, map);
  s.createSocket();
  s.setReuseAddr();
  s.bind(["127.0.0.1", 0]);
  s.listen(5);
  return (s.socket!.getsockname() as [string, number])[1];
}

describe("handing a socket to another dispatcher", () => {
  it("delChannel() then new Dispatcher(sock): the new one gets the next reads; the old one's timers stay its own", async () => {
    const fired: string[] = [];
    let first!: Dispatcher;
    const port = server((sock) => {
      first = new (class extends Dispatcher {
        override handleRead(): void {
          this.recv(100); // the greeting
          this.delChannel();
          new Echo(this.socket!, map);
        }
        override handleWrite(): void {}
      })(sock, map);
      first.callLater(0.15, function (this: Dispatcher) { fired.push(this === first ? "old timer, this = old" : "?"); });
    });
    const run = loop({ map, timeout: 0.05 });
    const got = await client(port, ["hello", "ping", "quit"]);
    await run;
    expect(got).toBe("echo:pingecho:quit");
    expect(fired).toEqual(["old timer, this = old"]); // not cancelled by the hand-off
    expect(first.socket!.closed).toBe(true); // the Echo closed the shared socket
  });

  it("the old dispatcher's idle timeout, left running, closes the socket the new one owns: the new one gets handleClose() and loop() ends", async () => {
    const closes: string[] = [];
    let echo!: Dispatcher;
    const port = server((sock) => {
      new (class extends Dispatcher {
        override handleRead(): void {
          this.recv(100);
          this.setIdleTimeout(0.2); // armed now, so it expires after the hand-off however slow the machine
          this.delChannel();
          echo = new (class extends Echo {
            override handleClose(): void { closes.push(`echo, socket closed: ${this.socket!.closed}`); super.handleClose(); }
          })(this.socket!, map);
        }
        override handleWrite(): void {}
        override handleClose(): void { closes.push("old"); this.close(); }
      })(sock, map);
    });
    const run = loop({ map, timeout: 0.05 }); // ends only if the Echo leaves the map
    const got = await client(port, ["hello"]); // then silence: the old idle timeout fires and closes the socket
    await run;
    expect(got).toBe("");
    expect(echo.socket!.closed).toBe(true);
    // the old one's default handleIdle() calls its handleClose(), which closes; the Echo is told once
    expect(closes).toEqual(["old", "echo, socket closed: true"]);
    expect(map.size).toBe(0);
  }, 40_000);

  it("a new holder whose handleClose() does not close still leaves the map (its socket is closed)", async () => {
    let told = 0;
    const port = server((sock) => {
      const old = new (class extends Dispatcher {
        override handleRead(): void {
          this.recv(100);
          this.delChannel();
          new (class extends Dispatcher {
            override handleRead(): void { this.recv(100); }
            override handleClose(): void { told++; } // does not close
          })(this.socket!, map);
          this.callLater(0.05, () => old.close());
        }
        override handleWrite(): void {}
      })(sock, map);
    });
    const run = loop({ map, timeout: 0.05 });
    expect(await client(port, ["hello"])).toBe("");
    await run;
    expect(told).toBe(1);
    expect(map.size).toBe(0);
  }, 40_000);

  it("cancelling the old timers, clearing its idle timeout and its socket field first hands over cleanly", async () => {
    const fired: string[] = [];
    const port = server((sock) => {
      const old = new (class extends Dispatcher {
        timer = this.callLater(5, () => fired.push("old")); // were it not cancelled, loop() would wait for it
        override handleRead(): void {
          this.recv(100);
          this.timer.cancel();
          this.setIdleTimeout(null);
          this.delChannel();
          const s = this.socket!;
          this.socket = null; // a later close() of this object cannot close the socket now
          const echo = new Echo(s, map);
          echo.setIdleTimeout(1.5);
          old.close();
        }
        override handleWrite(): void {}
      })(sock, map);
      old.setIdleTimeout(5);
    });
    const run = loop({ map, timeout: 0.05 });
    const got = await client(port, ["hello", "ping"]); // the Echo's own idle timeout ends it
    await run;
    expect(got).toBe("echo:ping");
    expect(fired).toEqual([]);
  });
});
