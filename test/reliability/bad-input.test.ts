// Bad API input: every public function given wrong types, out-of-range numbers, malformed
// addresses or a closed object throws a TypeError/RangeError/SocketError whose message names
// the argument and the value — and an echo connection on the same loop keeps working.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  ChannelMap, Dispatcher, DispatcherWithSend, Socket, SocketError, loop, poll, poll2, closeAll, configure, loopStats,
  AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR,
} from "../../host/index.js";
import { EchoServer, Bystanders, runLoop, waitFor, KiB } from "./helpers.js";

type Cls = typeof TypeError | typeof RangeError | typeof SocketError;

/** Asserts `fn` throws a `cls` whose message contains every one of `parts`. */
function expectError(fn: () => unknown, cls: Cls, ...parts: string[]): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${cls.name} mentioning ${parts.join(", ")}`).toBeInstanceOf(cls);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

/** The same for functions that return a promise. */
async function expectRejection(fn: () => Promise<unknown>, cls: Cls, ...parts: string[]): Promise<void> {
  let err: unknown;
  try { await fn(); } catch (e) { err = e; }
  expect(err, `expected ${cls.name} mentioning ${parts.join(", ")}`).toBeInstanceOf(cls);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

const closedSocket = (): Socket => { const s = new Socket(); s.close(); return s; };
const anyValue = (v: unknown): never => v as never; // wrong types, on purpose

let map: ChannelMap;
let server: EchoServer;
let by: Bystanders;
let stop: () => Promise<void>;

beforeAll(async () => {
  map = new ChannelMap();
  server = new EchoServer(map);
  stop = runLoop(map).stop;
  by = await Bystanders.open({ host: "127.0.0.1", port: server.port }, 4);
  await waitFor(() => server.accepted === 4, "the echo connections");
  by.write(16 * KiB);
});

afterAll(async () => {
  await stop();
});

describe("Socket", () => {
  it("rejects bad families and types, naming them", () => {
    expectError(() => new Socket(anyValue("AF_INET")), TypeError, "family", '"AF_INET"');
    expectError(() => new Socket(99), TypeError, "family", "99");
    expectError(() => new Socket(AF_INET, 99), TypeError, "type", "99");
  });

  it("rejects malformed IPv4 addresses in bind() and connect()", () => {
    const s = new Socket();
    expectError(() => s.bind(anyValue("127.0.0.1:80")), TypeError, "address", '"127.0.0.1:80"');
    expectError(() => s.bind(anyValue(["127.0.0.1"])), TypeError, "address", '["127.0.0.1"]');
    expectError(() => s.bind(anyValue(["127.0.0.1", "80"])), TypeError, "port", '"80"');
    expectError(() => s.bind(["127.0.0.1", 70000]), RangeError, "port", "70000");
    expectError(() => s.bind(["127.0.0.1", -1]), RangeError, "port", "-1");
    expectError(() => s.bind(["127.0.0.1", 1.5]), TypeError, "port", "1.5");
    expectError(() => s.bind(["127.0.0.1", NaN]), TypeError, "port", "NaN");
    expectError(() => s.bind(anyValue([127, 0])), TypeError, "host", "127");
    expectError(() => s.bind(["::1", 0]), TypeError, '"::1"', "IPv4");
    expectError(() => s.bind(["example.invalid", 0]), TypeError, '"example.invalid"', "resolve");
    expectError(() => s.connect(anyValue(null)), TypeError, "address", "null");
    expectError(() => s.connect(["127.0.0.1", 65536]), RangeError, "port", "65536");
    // The socket is still usable after the rejected calls.
    s.bind(["127.0.0.1", 0]);
    expect((s.getsockname() as [string, number])[1]).toBeGreaterThan(0);
    s.close();
  });

  it("rejects malformed IPv6 and Unix addresses", () => {
    const s6 = new Socket(AF_INET6);
    expectError(() => s6.bind(anyValue(["::1", 0, 0])), TypeError, "address", '["::1", 0, 0]');
    expectError(() => s6.bind(["127.0.0.1", 0]), TypeError, '"127.0.0.1"', "IPv6");
    s6.close();
    const su = new Socket(AF_UNIX);
    expectError(() => su.bind(anyValue(["/tmp/x", 0])), TypeError, "path", '["/tmp/x", 0]');
    expectError(() => su.bind(""), TypeError, "path", '""');
    expectError(() => su.bind("/tmp/" + "x".repeat(200)), RangeError, "107 bytes");
    su.close();
  });

  it("rejects bad numbers in listen(), recv() and setsockopt()", () => {
    const s = new Socket();
    expectError(() => s.listen(-1), RangeError, "backlog", "-1");
    expectError(() => s.listen(anyValue("5")), TypeError, "backlog", '"5"');
    expectError(() => s.recv(-1), RangeError, "bufferSize", "-1");
    expectError(() => s.recv(anyValue("10")), TypeError, "bufferSize", '"10"');
    expectError(() => s.recv(2.5), TypeError, "bufferSize", "2.5");
    expectError(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, anyValue("1")), TypeError, "value", '"1"');
    expectError(() => s.setsockopt(99, 98, 1), SocketError, "99", "98");
    expectError(() => s.getsockopt(99, 98), SocketError, "99", "98");
    s.close();
  });

  it("rejects data that is not bytes in send()", () => {
    const s = new Socket();
    expectError(() => s.send(anyValue("text")), TypeError, "data", "string");
    expectError(() => s.send(anyValue(null)), TypeError, "data", "null");
    expectError(() => s.send(anyValue([1, 2])), TypeError, "data", "[1, 2]");
    expectError(() => s.send(anyValue(42)), TypeError, "data", "42");
    s.close();
  });

  it("throws SocketError EBADF for every operation on a closed socket", () => {
    const s = closedSocket();
    const ops: [string, () => unknown][] = [
      ["bind()", () => s.bind(["127.0.0.1", 0])], ["listen()", () => s.listen(1)],
      ["connect()", () => s.connect(["127.0.0.1", 1])], ["send()", () => s.send(Buffer.from("x"))],
      ["recv()", () => s.recv(1)], ["accept()", () => s.accept()], ["getsockname()", () => s.getsockname()],
      ["getpeername()", () => s.getpeername()], ["setsockopt()", () => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)],
    ];
    for (const [name, op] of ops) {
      expectError(op, SocketError, name, "closed");
      try { op(); } catch (e) { expect((e as SocketError).code).toBe("EBADF"); }
    }
    s.close(); // idempotent
    expect(s.fileno()).toBe(-1);
  });

  it("throws ENOENT at once for a Unix path that does not exist", () => {
    const s = new Socket(AF_UNIX);
    expectError(() => s.connect("/nonexistent-wasyncore-dir/sock"), SocketError, "ENOENT");
    s.close();
  });
});

describe("Dispatcher and DispatcherWithSend", () => {
  it("rejects a map or socket of the wrong type", () => {
    expectError(() => new Dispatcher(null, anyValue({})), TypeError, "map", "[object Object]");
    expectError(() => new Dispatcher(anyValue("sock")), TypeError, "sock", "sock");
    const d = new Dispatcher(null, map);
    expectError(() => d.setSocket(anyValue({})), TypeError, "sock", "[object Object]");
    expectError(() => d.createSocket(77, SOCK_STREAM), TypeError, "family", "77");
  });

  it("throws SocketError EBADF without a socket and after close(), for every operation", () => {
    const fresh = new Dispatcher(null, map);
    expectError(() => fresh.send(Buffer.from("x")), SocketError, "send()", "no socket");
    expectError(() => fresh.recv(1), SocketError, "recv()", "no socket");
    const d = new Dispatcher(null, map);
    d.createSocket();
    d.close();
    for (const [name, op] of [
      ["send()", () => d.send(Buffer.from("x"))], ["recv()", () => d.recv(1)], ["bind()", () => d.bind(["127.0.0.1", 0])],
      ["listen()", () => d.listen(1)], ["connect()", () => d.connect(["127.0.0.1", 1])], ["accept()", () => d.accept()],
    ] as [string, () => unknown][]) {
      expectError(op, SocketError, name, "closed dispatcher");
    }
    d.close(); // idempotent
    const w = new DispatcherWithSend(null, map);
    w.createSocket();
    w.close();
    expectError(() => w.send(Buffer.from("x")), SocketError, "send()", "closed dispatcher");
  });

  it("rejects data that is not bytes, and stays usable for bytes afterwards", async () => {
    const received: Buffer[] = [];
    const d = new DispatcherWithSend(null, map);
    d.handleRead = function (this: DispatcherWithSend) { received.push(this.recv(1024)); };
    d.handleClose = function (this: DispatcherWithSend) { this.close(); };
    d.createSocket();
    d.connect(["127.0.0.1", server.port]);
    expectError(() => d.send(anyValue("hello")), TypeError, "data", "string");
    expectError(() => Dispatcher.prototype.send.call(d, anyValue({ length: 3 })), TypeError, "data", "[object Object]");
    d.send(Buffer.from("hello"));
    await waitFor(() => Buffer.concat(received).toString() === "hello", "the echo of the valid send");
    expectError(() => d.recv(-5), RangeError, "bufferSize", "-5");
    d.close();
  });
});

describe("bad input inside a handler", () => {
  it("reaches handleError as the TypeError, and the loop keeps serving", async () => {
    const seen: unknown[] = [];
    const d = new Dispatcher(null, map);
    d.handleConnect = () => {};
    d.handleWrite = function (this: Dispatcher) { this.send(anyValue("not bytes")); };
    d.handleError = function (this: Dispatcher, err: unknown) { seen.push(err); this.close(); };
    d.createSocket();
    d.connect(["127.0.0.1", server.port]);
    await waitFor(() => d.isClosed(), "the handler's TypeError to reach handleError");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TypeError);
    expect((seen[0] as Error).message).toMatch(/send\(\).*data.*string/);
  });
});

describe("loop, poll, closeAll, configure, loopStats", () => {
  it("rejects bad timeouts, counts and maps", async () => {
    const empty = new ChannelMap();
    await expectRejection(() => loop({ timeout: -1, map: empty }), RangeError, "timeout", "-1");
    await expectRejection(() => loop({ timeout: anyValue("1"), map: empty }), TypeError, "timeout", '"1"');
    await expectRejection(() => loop({ timeout: NaN, map: empty }), TypeError, "timeout", "NaN");
    await expectRejection(() => loop({ count: -1, map: empty }), RangeError, "count", "-1");
    await expectRejection(() => loop({ count: 1.5, map: empty }), RangeError, "count", "1.5");
    await expectRejection(() => loop({ map: anyValue({}) }), TypeError, "map", "[object Object]");
    await expectRejection(() => poll(-2, empty), RangeError, "timeout", "-2");
    await expectRejection(() => poll(0, anyValue(new Map())), TypeError, "map");
    await expectRejection(() => poll2(anyValue("0"), empty), TypeError, "timeout", '"0"');
    expectError(() => closeAll({ map: anyValue(5) }), TypeError, "map", "5");
    expectError(() => loopStats({ map: anyValue(5) }), TypeError, "map", "5");
  });

  it("refuses a second loop or poll on a map that is already running", async () => {
    await expectRejection(() => poll(0, map), Error, "poll()", "loop()", "not re-entrant");
    await expectRejection(() => loop({ map }), Error, "loop()", "not re-entrant");
  });

  it("rejects bad engine limits and keeps the old ones", () => {
    expectError(() => configure({ sendWindow: 0 }), RangeError, "sendWindow", "0");
    expectError(() => configure({ recvPause: anyValue("1") }), TypeError, "recvPause", '"1"');
    expectError(() => configure({ memoryCap: 2 ** 40 }), RangeError, "memoryCap", String(2 ** 40));
    expectError(() => configure({ chunkSize: -16 }), RangeError, "chunkSize", "-16");
    expectError(() => configure({ chunkSize: 10 }), RangeError, "chunkSize", "10");
    expectError(() => configure({ backend: anyValue("epoll") }), RangeError, "backend", '"epoll"');
    expectError(() => configure(anyValue({ sendWindw: 1 })), TypeError, "sendWindw");
    const s = loopStats({ map });
    expect(s.channels).toBe(map.size);
  });
});

// Last in the file (vitest runs a file's tests in order): the check the bad calls must not break.
describe("the echo connections opened before the bad calls", () => {
  it("kept working throughout: every byte echoed, no handler error", async () => {
    by.write(16 * KiB);
    expect(await by.finish()).toEqual([]);
    expect(server.errors).toEqual([]);
  });
});
