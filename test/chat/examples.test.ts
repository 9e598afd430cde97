// The AsyncChat examples with real peers: Python's smtplib against the SMTP sink, and a chat room.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { ChannelMap, loop, closeAll } from "../../host/index.js";
import { SmtpSink, type Message } from "../../examples/smtp-sink.js";
import { ChatRoom } from "../../examples/chat-server.js";

const root = new URL("../../", import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Runs python3 with a script; resolves with its stdout when it exits 0. */
function python(script: string, args: string[], ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error(`python3 timed out; stderr: ${err}`)); }, ms);
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.stderr!.on("data", (d: Buffer) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`python3 exited with ${code}: ${err}`));
    });
  });
}

// Sends each message of argv[2] (a JSON list) with smtplib, prints what sendmail returned.
const SEND_MAIL = `
import json, smtplib, sys
port, messages = int(sys.argv[1]), json.loads(sys.argv[2])
with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
    for m in messages:
        refused = s.sendmail(m["from"], m["to"], m["text"])
        print(json.dumps(refused))
    print(s.noop()[0])
`;

/** Runs the loop on `map` while `work` runs, then closes everything. */
async function serving<T>(map: ChannelMap, work: () => Promise<T>): Promise<T> {
  const running = loop({ map, timeout: 0.05 });
  try {
    return await work();
  } finally {
    closeAll({ map });
    await running;
  }
}

class KeepingSink extends SmtpSink {
  messages: Message[] = [];
  override processMessage(msg: Message): void { this.messages.push(msg); }
}

describe("examples/smtp-sink", () => {
  it("receives mail from Python's smtplib byte for byte, dot-stuffed lines included", async () => {
    const map = new ChannelMap();
    const sink = new KeepingSink("127.0.0.1", 0, map);
    const text = [
      "From: alice@example.org",
      "To: bob@example.org",
      "Subject: dots",
      "",
      ".a line that starts with a dot",
      "..two dots",
      ".",
      "",
      "a line with a dot at the end.",
      "x".repeat(900),
      ". last",
    ].join("\n");
    const second = "Subject: second\n\nbody\n";
    const out = await serving(map, () => python(SEND_MAIL, [String(sink.port), JSON.stringify([
      { from: "alice@example.org", to: ["bob@example.org", "carol@example.org"], text },
      { from: "dave@example.org", to: ["erin@example.org"], text: second },
    ])]));
    expect(out.trim().split("\n")).toEqual(["{}", "{}", "250"]);
    expect(sink.messages).toHaveLength(2);
    const [m1, m2] = sink.messages;
    expect(m1.data.toString("utf8")).toBe(text);
    expect(m1.mailFrom).toBe("alice@example.org");
    expect(m1.rcptTos).toEqual(["bob@example.org", "carol@example.org"]);
    expect((m1.peer as [string, number])[0]).toBe("127.0.0.1");
    // smtplib ends the data with CRLF . CRLF, which takes the message's own last line end
    expect(m2.data.toString("utf8")).toBe(second.slice(0, -1));
    expect(m2.rcptTos).toEqual(["erin@example.org"]);
  });

  it("answers each pipelined command with one reply line and closes once the QUIT reply is sent", async () => {
    const map = new ChannelMap();
    const sink = new KeepingSink("127.0.0.1", 0, map);
    const commands = [
      "NOOP", "MAIL FROM:<a@x>", "HELO client", "HELO again", "RCPT TO:<b@y>", "DATA",
      "MAIL FROM:<a@x>", "MAIL FROM:<a@x>", "RSET", "RCPT TO:<b@y>", "FOO bar", "", "QUIT", "NOOP",
    ];
    const replies = await serving(map, () => new Promise<string>((resolve, reject) => {
      const c = net.connect(sink.port, "127.0.0.1");
      let text = "";
      c.on("data", (d) => (text += d));
      c.on("error", reject);
      c.on("close", () => resolve(text));
      c.write(commands.map((l) => l + "\r\n").join("")); // all in one segment
    }));
    const codes = replies.trimEnd().split("\r\n").map((l) => l.slice(0, 3));
    // the NOOP after QUIT is answered behind the closeWhenDone() sentinel, so it is never sent
    expect(codes).toEqual(["220", "250", "503", "250", "503", "503", "503", "250", "503", "250", "503", "500", "500", "221"]);
    expect(map.size).toBe(0);
  });

  it("runs as a program: prints its port, then each message it receives", async () => {
    const child = spawn("node", ["build/examples/smtp-sink.js", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    const changed: Array<() => void> = [];
    child.stdout!.on("data", (d: Buffer) => { stdout += d; for (const f of changed.splice(0)) f(); });
    const seen = (re: RegExp): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in ${JSON.stringify(stdout)}`)), 15_000);
      const check = (): void => {
        const m = re.exec(stdout);
        if (m) { clearTimeout(timer); resolve(m); } else changed.push(check);
      };
      check();
    });
    const [, port] = await seen(/listening on 127\.0\.0\.1:(\d+)/);
    await python(SEND_MAIL, [port, JSON.stringify([{ from: "a@x.org", to: ["b@y.org"], text: "Subject: hi\n\n..dot\nend" }])]);
    const [block] = await seen(/-+ MESSAGE FOLLOWS -+\n[\s\S]*?-+ END MESSAGE -+\n/);
    expect(block).toContain("X-MailFrom: a@x.org\n");
    expect(block).toContain("\nSubject: hi\n\n..dot\nend\n");
  });
});

/** A line-reading chat client. */
function member(port: number): Promise<{ sock: net.Socket; lines: string[]; next: (re: RegExp) => Promise<string>; name: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const lines: string[] = [];
    let partial = "";
    const waiters: Array<() => void> = [];
    sock.on("data", (d) => {
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    sock.on("error", reject);
    const next = (re: RegExp): Promise<string> => new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no line matching ${re}; got ${JSON.stringify(lines)}`)), 10_000);
      const look = (): void => {
        const i = lines.findIndex((l) => re.test(l));
        if (i >= 0) { clearTimeout(timer); res(lines.splice(i, 1)[0]); } else waiters.push(look);
      };
      look();
    });
    sock.on("connect", () => resolve({ sock, lines, next, name: `127.0.0.1:${sock.localPort}` }));
  });
}

describe("examples/chat-server", () => {
  it("relays each line to every other member, and says who joined and left", async () => {
    const map = new ChannelMap();
    const room = new ChatRoom("127.0.0.1", 0, map);
    await serving(map, async () => {
      const a = await member(room.port);
      await a.next(/^\* welcome, .* \(0 others here\)$/);
      const b = await member(room.port);
      await b.next(/\(1 others here\)$/);
      const c = await member(room.port);
      await c.next(/\(2 others here\)$/);
      await a.next(new RegExp(`^\\* ${b.name} joined$`));
      a.sock.write("hel");
      setTimeout(() => a.sock.write("lo, room\r\nsecond line\n"), 20);
      for (const m of [b, c]) {
        expect(await m.next(/: hello/)).toBe(`${a.name}: hello, room`);
        expect(await m.next(/: second/)).toBe(`${a.name}: second line`);
      }
      b.sock.write("/quit\n");
      expect(await b.next(/^\* bye$/)).toBe("* bye");
      await new Promise((r) => b.sock.once("close", r));
      expect(await a.next(/left$/)).toBe(`* ${b.name} left`);
      expect(await c.next(/left$/)).toBe(`* ${b.name} left`);
      expect(a.lines.filter((l) => l.includes("hello"))).toEqual([]); // no echo to the sender
      expect(room.members.size).toBe(2);
      a.sock.destroy();
      c.sock.destroy();
    });
  });
});

describe("package exports", () => {
  it("serves AsyncChat from the wasyncore/chat subpath and the root alike", async () => {
    const script = "import * as chat from 'wasyncore/chat'; import * as root from 'wasyncore'; " +
      "console.log([chat.AsyncChat === root.AsyncChat, chat.SimpleProducer === root.SimpleProducer, chat.findPrefixAtEnd('ab\\r', '\\r\\n')].join(' '))";
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn("node", ["--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let text = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => (text += d));
      child.stderr!.on("data", (d: Buffer) => (err += d));
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(err))));
    });
    expect(out.trim()).toBe("true true 1");
  });
});
