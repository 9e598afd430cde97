// Shared by the wasm-servers tests: module paths, loopback clients, a WASIX runner.
import * as net from "node:net";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { openSync } from "node:fs";
import { buildServerIfStale } from "../../examples/assembly/build.mjs";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const built = (name: string, flavour: "host" | "wasix"): string => `${root}build/servers/${name}.${flavour}.wasm`;

/** Builds a fixture from examples/assembly/fixtures (host flavour), skipped when fresh. */
export function fixture(name: string, flavour: "host" | "wasix" = "host"): Promise<string> {
  return buildServerIfStale(`${root}examples/assembly/fixtures/${name}.ts`, flavour, `${root}build/servers/fixtures/${name}.${flavour}.wasm`);
}

/** A descriptor that swallows a module's stdout (console.log) in tests. */
export const devNull = (): number => openSync("/dev/null", "w");

/** A port that was free a moment ago (for runtimes that cannot report an ephemeral port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects, retrying ECONNREFUSED until `deadline` (a runtime may still be starting its listener). */
export async function connectRetry(port: number, deadlineMs = 20_000): Promise<net.Socket> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const c = net.connect(port, "127.0.0.1");
    try {
      await once(c, "connect");
      return c;
    } catch (err) {
      c.destroy();
      if ((err as NodeJS.ErrnoException).code !== "ECONNREFUSED" || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Sends `payload`, half-closes, and collects everything until the server closes. */
export async function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  const c = await connectRetry(port);
  const got: Buffer[] = [];
  c.on("data", (d: Buffer) => got.push(d));
  const ended = once(c, "end");
  c.end(payload);
  await ended;
  c.destroy();
  return Buffer.concat(got);
}

/** Reads until the peer closes (or errors), returning the bytes and how it ended. */
export async function drain(c: net.Socket): Promise<{ data: Buffer; how: string }> {
  const got: Buffer[] = [];
  c.on("data", (d: Buffer) => got.push(d));
  const how = await new Promise<string>((resolve) => {
    c.once("end", () => resolve("end"));
    c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    c.once("close", () => resolve("close"));
  });
  return { data: Buffer.concat(got), how };
}

/** A payload whose every byte depends on its offset (catches reordering and loss). */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 255;
  return b;
}

/** Waits until `cond()` holds, polling; throws after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
