// Port of CPython 3.11 test_asyncore.HelperFunctionTests: read/write/readwrite firewall, closeAll, compactTraceback.
import { describe, it, expect, afterEach } from "vitest";
import {
  ChannelMap, ExitNow, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI,
  SocketError, closeAll, compactTraceback, read, readwrite, socketMap, write,
} from "../../host/index.js";
import { exception } from "../../host/asyncore/loop.js";

class DummySocket {
  closed = false;
  close(): void { this.closed = true; }
  fileno(): number { return 42; }
}

class DummyChannel {
  socket = new DummySocket();
  close(): void { this.socket.close(); }
}

/** Python: exitingdummy — every event raises ExitNow. */
class ExitingDummy {
  handleReadEvent(): void { throw new ExitNow(); }
  handleWriteEvent(): void { throw new ExitNow(); }
  handleClose(): void { throw new ExitNow(); }
  handleExptEvent(): void { throw new ExitNow(); }
  handleError(err: unknown): void { throw new Error(`handleError not supposed to be called (${String(err)})`); }
}

/** Python: crashingdummy — every event raises; handleError records the error. */
class CrashingDummy {
  errorHandled = false;
  errors: unknown[] = [];
  handleReadEvent(): void { throw new Error("crash"); }
  handleWriteEvent(): void { throw new Error("crash"); }
  handleClose(): void { throw new Error("crash"); }
  handleExptEvent(): void { throw new Error("crash"); }
  handleError(err: unknown): void {
    this.errorHandled = true;
    this.errors.push(err);
  }
}

/** Python: testobj of test_readwrite — records which handler ran. */
class TestObj {
  read = false;
  write = false;
  closed = false;
  expt = false;
  errorHandled = false;
  handleReadEvent(): void { this.read = true; }
  handleWriteEvent(): void { this.write = true; }
  handleClose(): void { this.closed = true; }
  handleExptEvent(): void { this.expt = true; }
  handleError(): void { this.errorHandled = true; }
}

describe("HelperFunctionTests", () => {
  afterEach(() => closeAll());

  describe("readwriteexc: read/write/exception", () => {
    const helpers = [["read", read], ["write", write], ["exception", exception]] as const;

    it.each(helpers)("%s() lets ExitNow escape", (_name, fn) => {
      expect(() => fn(new ExitingDummy())).toThrow(ExitNow);
    });

    it.each(helpers)("%s() routes any other error to handleError with that error", (_name, fn) => {
      const tr2 = new CrashingDummy();
      fn(tr2);
      expect(tr2.errorHandled).toBe(true);
      expect(tr2.errors).toHaveLength(1);
      expect((tr2.errors[0] as Error).message).toBe("crash");
    });
  });

  describe("readwrite(obj, flags)", () => {
    const attributes = ["read", "expt", "write", "closed", "errorHandled"] as const;
    const expected = [
      ["POLLIN", POLLIN, "read"],
      ["POLLPRI", POLLPRI, "expt"],
      ["POLLOUT", POLLOUT, "write"],
      ["POLLERR", POLLERR, "closed"],
      ["POLLHUP", POLLHUP, "closed"],
      ["POLLNVAL", POLLNVAL, "closed"],
    ] as const;

    it.each(expected)("%s calls only the %s handler", (_name, flag, expectedAttr) => {
      const tobj = new TestObj();
      expect(tobj[expectedAttr]).toBe(false);
      readwrite(tobj, flag);
      // Only the attribute modified by the routine we expect to be called should be true.
      for (const attr of attributes) expect([attr, tobj[attr]]).toEqual([attr, attr === expectedAttr]);
    });

    it.each(expected)("%s: ExitNow escapes readwrite", (_name, flag) => {
      expect(() => readwrite(new ExitingDummy(), flag)).toThrow(ExitNow);
    });

    it.each(expected)("%s: any other error goes to handleError", (_name, flag) => {
      const tr2 = new CrashingDummy();
      expect(tr2.errorHandled).toBe(false);
      readwrite(tr2, flag);
      expect(tr2.errorHandled).toBe(true);
      expect(tr2.errors).toHaveLength(1);
    });

    it("dispatches combined flags in asyncore's order: read, write, expt, close", () => {
      const calls: string[] = [];
      readwrite({
        handleReadEvent: () => calls.push("read"),
        handleWriteEvent: () => calls.push("write"),
        handleExptEvent: () => calls.push("expt"),
        handleClose: () => calls.push("close"),
        handleError: () => calls.push("error"),
      }, POLLIN | POLLOUT | POLLPRI | POLLHUP);
      expect(calls).toEqual(["read", "write", "expt", "close"]);
    });
  });

  describe("closeAll", () => {
    function closeallCheck(useDefault: boolean): void {
      const l: DummyChannel[] = [];
      const testmap = useDefault ? socketMap : new ChannelMap();
      for (let i = 0; i < 10; i++) {
        const c = new DummyChannel();
        l.push(c);
        expect(c.socket.closed).toBe(false);
        testmap.set(i, c);
      }
      expect(testmap.size).toBe(10);
      if (useDefault) closeAll();
      else closeAll({ map: testmap });
      expect(testmap.size).toBe(0);
      for (const c of l) expect(c.socket.closed).toBe(true);
    }

    it("closes every channel of a given map and empties it", () => closeallCheck(false));
    it("closes every channel of socketMap by default and empties it", () => closeallCheck(true));

    it("rethrows a close() error unless ignoreAll; the map is cleared only when nothing escaped", () => {
      const map = new ChannelMap();
      map.set(1, { close(): void { throw new Error("close failed"); } });
      expect(() => closeAll({ map })).toThrow("close failed");
      expect(map.size).toBe(1); // Python: map.clear() is not reached when close() raised
      closeAll({ map, ignoreAll: true });
      expect(map.size).toBe(0);
    });

    it("ignores a SocketError EBADF from close() and still empties the map", () => {
      const map = new ChannelMap();
      const ok = new DummyChannel();
      map.set(1, { close(): void { throw new SocketError("EBADF"); } });
      map.set(2, ok);
      closeAll({ map });
      expect(map.size).toBe(0);
      expect(ok.socket.closed).toBe(true);
    });

    it("lets ExitNow from close() escape even with ignoreAll", () => {
      const map = new ChannelMap();
      map.set(1, { close(): void { throw new ExitNow(); } });
      expect(() => closeAll({ map, ignoreAll: true })).toThrow(ExitNow);
      map.clear();
    });
  });

  describe("compactTraceback", () => {
    it("reports the innermost frame, type, value and the [file|function|line] chain", function testCompactTraceback() {
      let r: ReturnType<typeof compactTraceback> | undefined;
      let real: Error | undefined;
      function raiser(): never {
        throw new Error("I don't like spam!");
      }
      try {
        raiser();
      } catch (err) {
        real = err as Error;
        r = compactTraceback(err);
      }
      expect(r).toBeDefined();
      const [[f, fn, line], t, v, info] = r!;
      expect(f.split("/").pop()).toBe("helpers.test.ts");
      expect(fn).toBe("raiser");
      expect(Number(line)).toBeGreaterThan(0);
      expect(t).toBe(real!.name);
      expect(v).toBe(real!.message);
      // info runs outermost → innermost, so it ends with the innermost frame.
      expect(info.endsWith(`[${f}|${fn}|${line}]`)).toBe(true);
      expect(info).toMatch(/^(\[[^\]]*\|[^\]]*\|\d+\] ?)+$/);
    });

    it("throws when there is no traceback", () => {
      expect(() => compactTraceback("not an error")).toThrow(/traceback does not exist/);
    });
  });
});
