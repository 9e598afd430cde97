// node:cluster as Node users write it: each worker's plain bind()/listen() of one port — native: every worker serves it
// (SO_REUSEPORT set for them) and one that dies leaves the others serving; net on Node 20: an error saying what to use.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { missing, onBackend } from "../support/index.js";
import { LIB, built, visits, spread } from "./helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/cluster.mjs", import.meta.url));
const [major, minor] = process.versions.node.split(".").map(Number);
const netCanShare = major > 22 || (major === 22 && minor >= 12);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Run { proc: ChildProcess; lines: Record<string, unknown>[]; until(n: number, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> }

function start(port: number, n: number): Run {
  const proc = spawn(process.execPath, [FIXTURE], { env: { ...process.env, WASYNCORE_LIB: LIB, PORT: String(port), N: String(n) }, stdio: ["pipe", "pipe", "inherit"] });
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
  });
  const until = async (count: number, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> => {
    const t0 = Date.now();
    while (lines.filter(pred).length < count) {
      if (Date.now() - t0 > 30_000) throw new Error(`cluster fixture: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return lines.filter(pred);
  };
  return { proc, lines, until };
}

const procs: ChildProcess[] = [];
afterEach(() => { for (const p of procs.splice(0)) p.kill("SIGKILL"); });

describe.skipIf(missing("the built host (npm run build)", !built))("node:cluster workers", () => {
  it.skipIf(onBackend("net", "`node:cluster` workers on one port") && !netCanShare)("each serve the port their plain bind() asked for; one killed, the other keeps serving", { timeout: 120_000 }, async () => {
    const port = await freePort();
    const run = start(port, 2);
    procs.push(run.proc);
    const up = await run.until(2, (l) => "listening" in l || "failed" in l);
    expect(up.filter((l) => "failed" in l)).toEqual([]);
    const vs = await visits(port, 300, 16);
    expect(vs.filter((v) => !v.ok)).toEqual([]);
    const by = spread(vs);
    const ids = Object.keys(by).map(Number).sort();
    expect(ids.length).toBe(2); // both workers got a share (the kernel's hash: uneven, never all on one over 300)
    run.proc.stdin!.write("kill 0\n");
    // the dead worker's listener leaves the group; then every connection goes to the survivor
    await new Promise((r) => setTimeout(r, 300));
    const after = await visits(port, 100, 8);
    expect(after.filter((v) => !v.ok)).toEqual([]);
    expect(Object.keys(spread(after)).length).toBe(1);
    run.proc.stdin!.write("stop\n");
  });

  it.skipIf(onBackend("native", "`node:cluster` workers on one port") || netCanShare)("on net before Node 22.12: the second worker's bind() says to use serveOnCores() or native", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const run = start(port, 2);
    procs.push(run.proc);
    const up = await run.until(2, (l) => "listening" in l || "failed" in l);
    const failed = up.filter((l) => "failed" in l);
    expect(failed.length).toBe(1);
    expect(failed[0].code).toBe("EADDRINUSE");
    expect(failed[0].error).toMatch(/node:cluster worker.*Node 22\.12.*serveOnCores\(\).*native backend/);
    run.proc.stdin!.write("stop\n");
  });
});
