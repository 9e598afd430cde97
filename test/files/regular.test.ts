// FileDispatcher over regular files and devices: always ready, as select() reports them.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { FileDispatcher, ChannelMap, loop, poll } from "../../host/index.js";

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasyncore-reg-")); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe("FileDispatcher over a regular file", () => {
  it.each([false, true])("reads 1 MiB to EOF through loop() in 8 KiB reads, then closes (usePoll=%s)", async (usePoll) => {
    const file = path.join(dir, "big");
    const content = randomBytes(1 << 20);
    fs.writeFileSync(file, content);
    const map = new ChannelMap();
    const calls: string[] = [];
    let reads = 0;
    const chunks: Buffer[] = [];
    class Reader extends FileDispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void {
        reads++;
        const d = this.recv(8192);
        if (d.length > 0) chunks.push(d);
      }
      override handleClose(): void { calls.push("handleClose"); this.close(); }
    }
    const fd = fs.openSync(file, "r");
    new Reader(fd, map);
    fs.closeSync(fd);
    await loop({ map, timeout: 1, usePoll });
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(reads).toBe(128 + 1); // 128 full reads, then the one that finds EOF
    expect(calls).toEqual(["handleClose"]);
    expect(map.size).toBe(0);
  });

  it("is readable and writable on every pass, like select() on a regular file", async () => {
    const file = path.join(dir, "small");
    fs.writeFileSync(file, "x");
    const map = new ChannelMap();
    const calls: string[] = [];
    class Both extends FileDispatcher {
      override handleRead(): void { calls.push("read"); }
      override handleWrite(): void { calls.push("write"); }
    }
    const d = new Both(fs.openSync(file, "r+"), map);
    await poll(0, map);
    await poll(0, map);
    expect(calls).toEqual(["read", "write", "read", "write"]);
    d.close();
  });

  it("writes a file through handleWrite() until done", async () => {
    const file = path.join(dir, "out");
    const content = randomBytes(300_000);
    const map = new ChannelMap();
    class Writer extends FileDispatcher {
      offset = 0;
      override readable(): boolean { return false; }
      override writable(): boolean { return this.offset < content.length; }
      override handleWrite(): void {
        this.offset += this.send(content.subarray(this.offset, this.offset + 65536));
        if (this.offset === content.length) this.close();
      }
    }
    const fd = fs.openSync(file, "w");
    new Writer(fd, map);
    fs.closeSync(fd);
    await loop({ map, timeout: 1 });
    expect(fs.readFileSync(file).equals(content)).toBe(true);
  });

  it("reads /dev/null as an immediate end of file", async () => {
    const map = new ChannelMap();
    const calls: string[] = [];
    class Null extends FileDispatcher {
      override writable(): boolean { return false; }
      override handleRead(): void { calls.push(`read ${this.recv(10).length}`); }
      override handleClose(): void { calls.push("handleClose"); this.close(); }
    }
    const fd = fs.openSync("/dev/null", "r");
    new Null(fd, map);
    fs.closeSync(fd);
    await loop({ map, timeout: 1 });
    expect(calls).toEqual(["handleClose", "read 0"]);
  });
});
