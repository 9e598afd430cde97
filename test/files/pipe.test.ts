// FileDispatcher over pipes: a FIFO's two ends, and a child process's stdout and stdin.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { FileWrapper, FileDispatcher, ChannelMap, SocketError, loop, closeAll } from "../../host/index.js";
import { missing } from "../support/index.js";

let hasMkfifo = true;
try { execFileSync("mkfifo", ["--version"], { stdio: "ignore" }); } catch { hasMkfifo = false; }

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasyncore-pipe-")); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** A FIFO's read end (opened first, non-blocking) and write end. */
function fifo(): { rd: number; wr: number } {
  const p = path.join(dir, "fifo");
  execFileSync("mkfifo", [p]);
  const rd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const wr = fs.openSync(p, fs.constants.O_WRONLY);
  return { rd, wr };
}

/** Collects everything read until end of input; records its calls. */
class Sink extends FileDispatcher {
  chunks: Buffer[] = [];
  calls: string[] = [];
  override writable(): boolean { return false; }
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length > 0) this.chunks.push(d);
  }
  override handleClose(): void { this.calls.push("handleClose"); this.close(); }
  override handleError(err: unknown): void { this.calls.push(`handleError ${String(err)}`); this.close(); }
}

describe.skipIf(missing("mkfifo", !hasMkfifo))("FileDispatcher over a FIFO", () => {
  it("reads what the writer wrote, then handleClose() at end of input", async () => {
    const { rd, wr } = fifo();
    const map = new ChannelMap();
    const sink = new Sink(rd, map);
    fs.closeSync(rd); // the wrapper has its own descriptor
    expect(sink.file!.duplicated).toBe(true);
    fs.writeSync(wr, "line one\n");
    fs.writeSync(wr, "line two\n");
    fs.closeSync(wr);
    await loop({ map, timeout: 1 });
    expect(Buffer.concat(sink.chunks).toString()).toBe("line one\nline two\n");
    expect(sink.calls).toEqual(["handleClose"]);
  });

  it("carries 1 MiB from a writing FileDispatcher to a reading one in one loop, in order", async () => {
    const { rd, wr } = fifo();
    const map = new ChannelMap();
    const payload = randomBytes(1 << 20);
    const sink = new Sink(rd, map);
    class Source extends FileDispatcher {
      offset = 0;
      writes = 0;
      override readable(): boolean { return false; }
      override writable(): boolean { return this.offset < payload.length; }
      override handleWrite(): void {
        this.writes++;
        this.offset += this.send(payload.subarray(this.offset, this.offset + 65536));
        if (this.offset === payload.length) this.close(); // close() still delivers what send() took
      }
    }
    const source = new Source(wr, map);
    fs.closeSync(rd);
    fs.closeSync(wr);
    await loop({ map, timeout: 1 });
    expect(Buffer.concat(sink.chunks).equals(payload)).toBe(true);
    expect(sink.calls).toEqual(["handleClose"]);
    expect(source.writes).toBeGreaterThanOrEqual(16);
  });

  it("is not writable on the read end (select() never reports it) and throws EBADF on send()", async () => {
    const { rd, wr } = fifo();
    const map = new ChannelMap();
    let writes = 0;
    class ReadEnd extends FileDispatcher {
      override handleWrite(): void { writes++; }
      override handleRead(): void { this.recv(100); }
    }
    const d = new ReadEnd(rd, map);
    await loop({ map, timeout: 0.01, count: 3 });
    expect(writes).toBe(0);
    expect(() => d.file!.send(Buffer.from("x"))).toThrow(SocketError);
    d.close();
    fs.closeSync(rd);
    fs.closeSync(wr);
  });

  it("gives EAGAIN from recv() when the pipe is empty but open", () => {
    const { rd, wr } = fifo();
    const w = new FileWrapper(rd);
    let code = "";
    try { w.recv(10); } catch (err) { code = (err as SocketError).code; }
    expect(code).toBe("EAGAIN");
    w.close();
    fs.closeSync(rd);
    fs.closeSync(wr);
  });
});

describe("FileDispatcher over a child process", () => {
  it("reads a child's output line by line until it exits", async () => {
    const N = 200;
    const script = `let i = 0; const t = setInterval(() => { for (let k = 0; k < 20 && i < ${N}; k++) console.log("line " + i++); if (i >= ${N}) clearInterval(t); }, 5);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((r) => child.on("exit", r));
    const map = new ChannelMap();
    const lines: string[] = [];
    const calls: string[] = [];
    class LineReader extends FileDispatcher {
      private partial = "";
      override writable(): boolean { return false; }
      override handleRead(): void {
        const text = this.partial + this.recv(4096).toString();
        const parts = text.split("\n");
        this.partial = parts.pop()!;
        lines.push(...parts);
      }
      override handleClose(): void { calls.push(`handleClose partial=${JSON.stringify(this.partial)}`); this.close(); }
      override handleError(err: unknown): void { calls.push(`handleError ${String(err)}`); this.close(); }
    }
    const reader = new LineReader(child.stdout!, map);
    expect(reader.connected).toBe(true);
    expect(reader.file!.duplicated).toBe(false); // a Node stream is taken over, not duplicated
    const watchdog = setTimeout(() => closeAll({ map }), 20_000);
    await loop({ map, timeout: 1 });
    clearTimeout(watchdog);
    await exited;
    expect(lines).toEqual(Array.from({ length: N }, (_, i) => `line ${i}`));
    expect(calls).toEqual(['handleClose partial=""']);
  });

  it("writes a child's stdin and reads its stdout back through the same loop", async () => {
    const child = spawn(process.execPath, ["-e", "process.stdin.pipe(process.stdout)"], { stdio: ["pipe", "pipe", "inherit"] });
    const map = new ChannelMap();
    const payload = randomBytes(256 * 1024);
    class Writer extends FileDispatcher {
      offset = 0;
      override readable(): boolean { return false; }
      override writable(): boolean { return this.offset < payload.length; }
      override handleWrite(): void {
        this.offset += this.send(payload.subarray(this.offset, this.offset + 16384));
        if (this.offset === payload.length) this.close(); // delivers the rest, then ends the child's stdin
      }
    }
    const writer = new Writer(child.stdin!, map);
    const sink = new Sink(child.stdout!, map);
    const watchdog = setTimeout(() => closeAll({ map }), 20_000);
    await loop({ map, timeout: 1 });
    clearTimeout(watchdog);
    expect(writer.offset).toBe(payload.length);
    expect(Buffer.concat(sink.chunks).equals(payload)).toBe(true);
    expect(sink.calls).toEqual(["handleClose"]);
  });
});
