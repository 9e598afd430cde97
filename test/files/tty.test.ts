// FileDispatcher on a terminal: a child process whose stdin is a pseudo-terminal reads a line.
import { describe, it, expect } from "vitest";
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

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

describe.skipIf(!hasPython || !existsSync(built))("FileDispatcher on a terminal", () => {
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
