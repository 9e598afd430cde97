// CPython's FileWrapperTest, ported, plus the wrapper's own surface (duplication, bad input).
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { FileWrapper, FileDispatcher, ChannelMap, loop, closeAll, SOL_SOCKET, SO_ERROR, SO_REUSEADDR } from "../../host/index.js";
import { currentBackend } from "../../host/socket/backend.js";
import { code, onBackend } from "../support/index.js";

const D = Buffer.from("It's not dead, it's sleeping!");
let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasyncore-file-"));
  file = path.join(dir, "testfn");
  fs.writeFileSync(file, D);
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});


describe("FileWrapper (CPython FileWrapperTest)", () => {
  it("test_recv: reads through its own descriptor after the original is closed; read after close throws", () => {
    const fd = fs.openSync(file, "r");
    const w = new FileWrapper(fd);
    fs.closeSync(fd);
    expect(w.fd).not.toBe(fd);
    expect(w.fileno()).not.toBe(fd);
    expect(w.duplicated).toBe(true);
    expect(w.recv(13).toString()).toBe("It's not dead");
    expect(w.read(6).toString()).toBe(", it's");
    w.close();
    expect(code(() => w.read(1))).toBe("EBADF");
  });

  it("test_send: write() and send() append to an O_APPEND file", () => {
    const d1 = Buffer.from("Come again?");
    const d2 = Buffer.from("I want to buy some cheese.");
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    const w = new FileWrapper(fd);
    fs.closeSync(fd);
    expect(w.write(d1)).toBe(d1.length);
    expect(w.send(d2)).toBe(d2.length);
    w.close();
    expect(fs.readFileSync(file)).toEqual(Buffer.concat([D, d1, d2]));
  });

  it.each([false, true])("test_dispatcher: a FileDispatcher reads the whole file in loop(count=2) (usePoll=%s)", async (usePoll) => {
    const fd = fs.openSync(file, "r");
    const data: Buffer[] = [];
    const map = new ChannelMap();
    class Reader extends FileDispatcher {
      override handleRead(): void { data.push(this.recv(29)); }
    }
    const s = new Reader(fd, map);
    fs.closeSync(fd);
    expect(s.connected).toBe(true);
    expect(map.get(s.file!.fileno())).toBe(s);
    await loop({ timeout: 0.01, usePoll, count: 2, map });
    expect(Buffer.concat(data)).toEqual(D);
    expect(map.size).toBe(0); // the second read found EOF: handleClose() closed it
  });

  it("test_close_twice: close() after the descriptor was closed behind its back throws EBADF, then is a no-op", () => {
    const fd = fs.openSync(file, "r");
    const f = new FileWrapper(fd);
    fs.closeSync(fd);
    fs.closeSync(f.fd); // file_wrapper dupped fd
    expect(code(() => f.close())).toBe("EBADF");
    expect(f.fd).toBe(-1);
    expect(f.fileno()).toBe(-1);
    f.close(); // calling close twice should not fail
  });
});

describe("FileWrapper", () => {
  it("continues from the original descriptor's offset, as dup() would", () => {
    const fd = fs.openSync(file, "r");
    fs.readSync(fd, Buffer.alloc(5));
    const w = new FileWrapper(fd);
    fs.closeSync(fd);
    expect(w.recv(100).toString()).toBe("not dead, it's sleeping!");
    expect(w.recv(100).length).toBe(0); // end of file
    w.close();
  });

  it("accepts an object with fileno() or with fd", async () => {
    const fd = fs.openSync(file, "r");
    const a = new FileWrapper({ fileno: () => fd });
    expect(a.recv(4).toString()).toBe("It's");
    a.close();
    fs.closeSync(fd);
    const handle = await fs.promises.open(file, "r");
    const b = new FileWrapper(handle);
    await handle.close();
    expect(b.recv(100)).toEqual(D);
    b.close();
  });

  it("names bad input: negative or fractional fd, strings, a closed descriptor", () => {
    expect(() => new FileWrapper(-1)).toThrow(/fd must be a non-negative integer, got -1/);
    expect(() => new FileWrapper(1.5)).toThrow(RangeError);
    // @ts-expect-error: not a file
    expect(() => new FileWrapper("0")).toThrow(/FileWrapper: expected a file descriptor.*got "0"/);
    const fd = fs.openSync(file, "r");
    fs.closeSync(fd);
    expect(code(() => new FileWrapper(fd))).toBe("EBADF");
    const w = new FileWrapper(fs.openSync(file, "r"));
    expect(() => w.recv(-1)).toThrow(RangeError);
    // @ts-expect-error: data must be bytes
    expect(() => w.send("text")).toThrow(TypeError);
    w.close();
  });

  it("answers SO_ERROR with 0 and is not a socket for anything else (ENOTSOCK)", () => {
    const w = new FileWrapper(fs.openSync(file, "r"));
    expect(w.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0);
    expect(code(() => w.getsockopt(SOL_SOCKET, SO_REUSEADDR))).toBe("ENOTSOCK");
    expect(code(() => w.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1))).toBe("ENOTSOCK");
    expect(code(() => w.getpeername())).toBe("ENOTSOCK");
    expect(code(() => w.bind(["127.0.0.1", 0]))).toBe("ENOTSOCK");
    w.close();
  });

  it("reports EBADF when writing a read-only file, as os.write() does", () => {
    const w = new FileWrapper(fs.openSync(file, "r"));
    expect(code(() => w.send(Buffer.from("x")))).toBe("EBADF");
    w.close();
  });

  it("makes a FileDispatcher throw EBADF on use after close", () => {
    const map = new ChannelMap();
    const d = new FileDispatcher(fs.openSync(file, "r"), map);
    d.close();
    d.close();
    expect(map.size).toBe(0);
    expect(d.file!.fd).toBe(-1);
    expect(code(() => d.recv(1))).toBe("EBADF");
  });
});

const NATIVE = currentBackend() === "native";

// CPython's file_wrapper calls os.dup(fd): the native backend has dup(), so what the `net` backend's
// reopen of /proc/self/fd/N cannot give (a shared offset, sockets) is tested here.
describe.skipIf(onBackend("net", "`FileWrapper` duplicating"))("FileWrapper on the native backend (os.dup, as CPython)", () => {
  it("shares the caller's offset: reads through the wrapper move the original descriptor", () => {
    const fd = fs.openSync(file, "r");
    const w = new FileWrapper(fd);
    expect(w.duplicated).toBe(true);
    expect(w.fd).not.toBe(fd);
    expect(w.recv(5).toString()).toBe("It's ");
    const rest = Buffer.alloc(100);
    const n = fs.readSync(fd, rest, 0, 100, null); // the caller's descriptor continues after the wrapper's read
    expect(rest.subarray(0, n).toString()).toBe("not dead, it's sleeping!");
    expect(w.recv(10).length).toBe(0); // and the wrapper sees the caller's read: end of file
    w.close();
    fs.closeSync(fd);
  });

  it("close() closes only the duplicate: the caller's descriptor stays open and usable", () => {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND);
    const w = new FileWrapper(fd);
    const dupFd = w.fd;
    expect(w.send(Buffer.from(" A"))).toBe(2);
    w.close();
    expect(() => fs.fstatSync(dupFd)).toThrow(/EBADF/);
    expect(fs.writeSync(fd, " B")).toBe(2); // O_APPEND was shared, and the original is still open
    fs.closeSync(fd);
    expect(fs.readFileSync(file).toString()).toBe(D.toString() + " A B");
  });

  it("test_close_twice over a duplicate closed behind its back: EBADF, and the original is untouched", () => {
    const fd = fs.openSync(file, "r");
    const f = new FileWrapper(fd);
    fs.closeSync(f.fd); // file_wrapper dupped fd
    expect(code(() => f.close())).toBe("EBADF");
    expect(f.fd).toBe(-1);
    f.close();
    expect(fs.fstatSync(fd).size).toBe(D.length);
    fs.closeSync(fd);
  });

  it("duplicates a connected socket's descriptor: reads the peer's bytes, and close() leaves the socket open", async () => {
    const server = net.createServer({ pauseOnConnect: true }); // the accepted socket never reads
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    const peer = await accepted;
    const peerFd = (peer as unknown as { _handle: { fd: number } })._handle.fd;
    expect(peerFd).toBeGreaterThan(2);
    const got: Buffer[] = [];
    const map = new ChannelMap();
    class Reader extends FileDispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void {
        got.push(this.recv(100));
        if (Buffer.concat(got).toString() === "hello") this.close();
      }
    }
    const r = new Reader(peerFd, map);
    expect(r.file!.duplicated).toBe(true);
    expect(r.file!.fd).not.toBe(peerFd);
    client.write("hello");
    const watchdog = setTimeout(() => closeAll({ map }), 10_000);
    await loop({ map, timeout: 0.05 });
    clearTimeout(watchdog);
    expect(Buffer.concat(got).toString()).toBe("hello");
    // the wrapper closed its duplicate only: the accepted socket still carries bytes to the client
    const reply = new Promise<string>((res) => client.once("data", (d) => res(d.toString())));
    peer.write("still here");
    expect(await reply).toBe("still here");
    client.destroy();
    peer.destroy();
    await new Promise((r) => server.close(r));
  });
});
