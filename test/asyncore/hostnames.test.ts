// README "Differences", `connect()` host names: resolved asynchronously; `localhost` connects, and a name
// that does not resolve reaches handleError as SocketError with the resolver's code (ENOTFOUND).
import { describe, it, expect } from "vitest";
import { lookup } from "node:dns/promises";
import { AF_INET, ChannelMap, Dispatcher, SocketError, closeAll, loop } from "../../host/index.js";
import { BACKEND } from "../support/index.js";

describe(`connect() to a host name (${BACKEND})`, () => {
  it("connects to 'localhost' through the loop: handleConnect, then the peer is 127.0.0.1", async () => {
    const map = new ChannelMap();
    const server = new Dispatcher(null, map);
    server.createSocket(AF_INET);
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    const port = (server.socket!.getsockname() as [string, number])[1];
    let accepted = 0;
    server.handleAccepted = (sock) => { accepted++; sock.close(); };
    const calls: string[] = [];
    const client = new (class extends Dispatcher {
      override handleConnect(): void { calls.push(`connect ${JSON.stringify(this.socket!.getpeername())}`); }
      override handleWrite(): void { this.close(); server.close(); }
      override handleRead(): void { this.recv(10); }
      override handleClose(): void { this.close(); }
      override handleError(err: unknown): void { calls.push(`error ${String(err)}`); this.close(); server.close(); }
    })(null, map);
    client.createSocket(AF_INET);
    client.connect(["localhost", port]);
    expect(calls).toEqual([]); // not inside connect(): resolving is asynchronous
    expect(client.connecting).toBe(true);
    const watchdog = setTimeout(() => closeAll({ map }), 15_000);
    await loop({ map, timeout: 0.1 });
    clearTimeout(watchdog);
    expect(calls).toEqual([`connect ${JSON.stringify(["127.0.0.1", port])}`]);
    expect(accepted).toBe(1);
  });

  it("reaches handleError with the resolver's code for a .invalid name (the same code Node's lookup gives)", async () => {
    const name = "wasyncore-test.invalid";
    const control = await lookup(name).then(() => "resolved", (e: NodeJS.ErrnoException) => e.code);
    expect(["ENOTFOUND", "EAI_AGAIN"]).toContain(control); // .invalid never resolves (RFC 6761)
    const map = new ChannelMap();
    const errors: unknown[] = [];
    const calls: string[] = [];
    const client = new (class extends Dispatcher {
      override handleConnect(): void { calls.push("handleConnect"); }
      override handleError(err: unknown): void { errors.push(err); this.close(); }
    })(null, map);
    client.createSocket(AF_INET);
    client.connect([name, 80]); // no throw: the failure is the network's, reported later
    expect(client.connecting).toBe(true);
    const watchdog = setTimeout(() => closeAll({ map }), 20_000);
    await loop({ map, timeout: 0.1 });
    clearTimeout(watchdog);
    expect(calls).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SocketError);
    expect((errors[0] as SocketError).code).toBe(control);
    expect((errors[0] as SocketError).errno || 0).toBe(0); // no POSIX number
  });
});
