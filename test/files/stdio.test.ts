// FileDispatcher on a child's own stdio: a terminal (from Python's pty), and socket descriptors
// (Node's stdio pipes are socketpairs, which cannot be reopened: the wrapper takes them over).
import { describe, it, expect } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { missing } from "../support/index.js";

const built = fileURLToPath(new URL("../../build/host/index.js", import.meta.url));
let hasPython = true;
try { execFileSync("python3", ["-c", "import pty"], { stdio: "ignore" }); } catch { hasPython = false; }

// The child runs the built package (npm test builds it first); Python gives it a terminal.
const child = `
import { FileDispatcher, ChannelMap, loop } from ${JSON.stringify(built)};
const map = new ChannelMap();
class LineReader extends FileDispatcher {
  writable() { return false; }
  handleRead() {
    const d = this.recv(100);
    process.stdout.write("got " + JSON.stringify(d.toString()) + " duplicated=" + this.file.duplicated + "\\n");
    this.close();
  }
}
new LineReader(0, map);
process.stdout.write("ready\\n");
await loop({ map, timeout: 1 });
process.stdout.write("done\\n");
`;

const driver = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--input-type=module", "-e", sys.argv[2]])
out = b""
deadline = time.time() + 15
sent = False
while time.time() < deadline and b"done" not in out:
    try:
        d = os.read(fd, 1000)
    except OSError:
        break
    if not d:
        break
    out += d
    if b"ready" in out and not sent:
        os.write(fd, b"hello\\n")
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(out.decode())
`;

describe.skipIf(missing("python3 with pty", !hasPython) || missing("the built host (build/host)", !existsSync(built)))("FileDispatcher on a terminal", () => {
  it("reads a line typed on the child's terminal through a TTY handle", async () => {
    const py = spawn("python3", ["-c", driver, process.execPath, child], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    py.stdout!.on("data", (d) => (out += d));
    const status = await new Promise((r) => py.on("exit", r));
    expect(status).toBe(0);
    expect(out).toContain('got "hello\\n" duplicated=true');
    expect(out).toContain("done");
  });
});

// Upper-cases stdin to stdout through two FileDispatchers on descriptors 0 and 1.
const upper = `
import { FileDispatcher, ChannelMap, loop } from ${JSON.stringify(built)};
const map = new ChannelMap();
class Out extends FileDispatcher {
  pending = Buffer.alloc(0);
  done = false;
  readable() { return false; }
  writable() { return this.pending.length > 0 || this.done; }
  handleWrite() {
    if (this.pending.length > 0) this.pending = this.pending.subarray(this.send(this.pending));
    if (this.pending.length === 0 && this.done) this.close();
  }
}
const out = new Out(1, map);
class In extends FileDispatcher {
  writable() { return false; }
  handleRead() {
    const d = this.recv(4096);
    if (d.length > 0) out.pending = Buffer.concat([out.pending, Buffer.from(d.toString().toUpperCase())]);
  }
  handleClose() {
    out.pending = Buffer.concat([out.pending, Buffer.from("duplicated=" + this.file.duplicated + "," + out.file.duplicated + "\\n")]);
    out.done = true;
    this.close();
  }
}
new In(0, map);
await loop({ map, timeout: 1 });
`;

describe.skipIf(missing("the built host (build/host)", !existsSync(built)))("FileDispatcher on socket descriptors", () => {
  it("copies stdin to stdout over socketpairs: dup()ed on native, taken over on net (no reopen of a socket)", async () => {
    const p = spawn(process.execPath, ["--input-type=module", "-e", upper], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    p.stdout!.on("data", (d) => (out += d));
    p.stdin!.write("hello\n");
    p.stdin!.end("world\n");
    const status = await new Promise((r) => p.on("exit", r));
    expect(status).toBe(0);
    const dup = process.env.WASYNCORE_BACKEND === "native";
    expect(out).toBe(`HELLO\nWORLD\nduplicated=${dup},${dup}\n`);
  });
});
