// AsyncChat framing throughput over loopback: MB/s and ns per byte for small lines and large
// messages. The per-byte cost should not grow with the message size (the core searches each
// byte once). A child process writes the stream as fast as the socket takes it.
//
// "ns/byte" is wall time; "server CPU ns/byte" is the framing process's own CPU time (user +
// system, GC threads included), steadier than wall time on a busy machine.
//
// Usage: npm run build && node bench/chat-framing.mjs [--mb 100] [--python]
//   --mb N      megabytes per case (default 100)
//   --python    also run the same cases against CPython 3.11's asynchat, for reference
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsyncChat, Dispatcher, ChannelMap, loop, AF_INET, SOCK_STREAM } from "../build/host/index.js";

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const totalMB = Number(arg("--mb", "100"));
const withPython = args.includes("--python");

// Each case: messages of `size` bytes, the last two being the terminator "\r\n".
const cases = [
  { name: "50-byte lines", size: 50 },
  { name: "1 KiB messages", size: 1024 },
  { name: "64 KiB messages", size: 65536 },
  { name: "1 MiB messages", size: 1 << 20 },
  { name: "16 MiB messages", size: 16 << 20 },
];

// The writer: connects, sends `count` messages of `size` bytes ("x"... "\r\n"), then closes.
const WRITER = `
const net = require("node:net");
const [port, size, count] = process.argv.slice(1).map(Number);
const per = Math.max(1, Math.floor((1 << 20) / size));
const msg = Buffer.alloc(size, "x"); msg.write("\\r\\n", size - 2, "latin1");
const block = Buffer.concat(Array(Math.min(per, count)).fill(msg));
const s = net.connect(port, "127.0.0.1", () => {
  let left = count;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(per, left);
      left -= n;
      const ok = s.write(n === per ? block : block.subarray(0, n * size));
      if (!ok) { s.once("drain", pump); return; }
    }
    s.end();
  };
  pump();
});
s.on("error", (e) => { console.error(e.message); process.exit(1); });
`;

class Framer extends AsyncChat {
  frames = 0;
  bytes = 0;
  parts = [];
  constructor(sock, map, done) {
    super(sock, map);
    this.done = done;
    this.setTerminator("\r\n");
  }
  collectIncomingData(data) {
    this.parts.push(data);
  }
  foundTerminator() {
    // join the pieces of one message, as asynchat's _get_data() does
    const msg = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    this.frames++;
    this.bytes += msg.length + 2;
  }
  handleClose() {
    this.close();
    this.done(this);
  }
}

class Listener extends Dispatcher {
  constructor(map, onChat) {
    super(null, map);
    this.onChat = onChat;
    this.createSocket(AF_INET, SOCK_STREAM);
    this.bind(["127.0.0.1", 0]);
    this.listen(1);
  }
  handleAccepted(sock) {
    this.onChat(sock);
    this.close();
  }
}

async function runWasyncore({ size }) {
  const count = Math.max(1, Math.floor((totalMB * 1e6) / size));
  const map = new ChannelMap();
  let start = 0;
  let result = null;
  let cpu0 = null;
  const server = new Listener(map, (sock) => {
    start = performance.now();
    cpu0 = process.cpuUsage();
    new Framer(sock, map, (chat) => {
      const cpu = process.cpuUsage(cpu0);
      result = { frames: chat.frames, bytes: chat.bytes, ms: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000 };
    });
  });
  const port = server.socket.getsockname()[1];
  const child = spawn(process.execPath, ["-e", WRITER, String(port), String(size), String(count)], { stdio: "inherit" });
  await loop({ map, timeout: 5 });
  await once(child, "exit");
  if (!result || result.frames !== count) throw new Error(`expected ${count} frames, got ${result?.frames}`);
  return result;
}

const PY_SERVER = `
import asynchat, asyncore, socket, sys, time, warnings
warnings.simplefilter("ignore")
class Framer(asynchat.async_chat):
    def __init__(self, sock):
        super().__init__(sock)
        self.set_terminator(b"\\r\\n")
        self.frames = 0; self.nbytes = 0; self.start = time.perf_counter(); self.cpu = time.process_time()
    def collect_incoming_data(self, data):
        self._collect_incoming_data(data)
    def found_terminator(self):
        self.nbytes += len(self._get_data()) + 2; self.frames += 1
    def handle_close(self):
        self.close()
        print(self.frames, self.nbytes, (time.perf_counter() - self.start) * 1000, (time.process_time() - self.cpu) * 1000, flush=True)
class Listener(asyncore.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(("127.0.0.1", 0)); self.listen(1)
        print(self.socket.getsockname()[1], flush=True)
    def handle_accepted(self, sock, addr):
        Framer(sock); self.close()
Listener()
asyncore.loop(timeout=5, use_poll=True)
`;

async function runPython({ size }) {
  const count = Math.max(1, Math.floor((totalMB * 1e6) / size));
  const dir = mkdtempSync(join(tmpdir(), "chat-bench-"));
  const file = join(dir, "server.py");
  writeFileSync(file, PY_SERVER);
  const py = spawn("python3", [file], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  py.stdout.on("data", (d) => (out += d));
  while (!out.includes("\n")) await once(py.stdout, "data");
  const port = out.split("\n")[0];
  const child = spawn(process.execPath, ["-e", WRITER, port, String(size), String(count)], { stdio: "inherit" });
  await once(child, "exit");
  await once(py, "exit");
  rmSync(dir, { recursive: true, force: true });
  const [frames, bytes, ms, cpuMs] = out.trim().split("\n")[1].split(" ").map(Number);
  if (frames !== count) throw new Error(`python: expected ${count} frames, got ${frames}`);
  return { frames, bytes, ms, cpuMs };
}

function row(engine, c, r) {
  const mbps = r.bytes / 1e6 / (r.ms / 1000);
  const nsPerByte = (r.ms * 1e6) / r.bytes;
  const cpuNs = (r.cpuMs * 1e6) / r.bytes;
  return {
    engine, case: c.name, frames: r.frames, MB: +(r.bytes / 1e6).toFixed(1), ms: Math.round(r.ms),
    "MB/s": +mbps.toFixed(1), "ns/byte": +nsPerByte.toFixed(2), "server CPU ns/byte": +cpuNs.toFixed(2),
  };
}

const rows = [];
for (const c of cases) rows.push(row("wasyncore", c, await runWasyncore(c)));
if (withPython) for (const c of cases) rows.push(row("CPython asynchat", c, await runPython(c)));
console.log(`AsyncChat framing over loopback, ${totalMB} MB per case, terminator "\\r\\n" (node ${process.version})`);
console.table(rows);
