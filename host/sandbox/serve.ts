// `wasyncore serve CONFIG.json`: several modules, each in its own sandbox, each restarted on failure
// with backoff when its policy says so. SIGTERM/SIGINT drain every module (exit 0); a module that
// fails with no restarts left stops the others gracefully (exit 1); a bad config is exit 2.
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { WasmServer } from "./server.js";
import { loadConfig, formatAddress, UsageError, type ModuleConfig } from "./config.js";

const USAGE = `usage: wasyncore serve CONFIG.json

CONFIG.json: { "modules": [ { "name", "wasm", "args": [], "listen": ["HOST:PORT"],
  "listenTls": [{ "listen": "HOST:PORT", "cert": "FILE", "key": "FILE" }], "allowConnect": [],
  "listenUdp": ["HOST:PORT"], "allowUdp": ["HOST:PORT"], "memoryMb", "cpuMs", "heapMb", "restart": "no" | "on-failure", "maxRestarts" } ] }
Keys are the \`run\` flags in camelCase; paths are relative to the config file. With "on-failure" a
module that fails is started again after 0.25 s, 0.5 s, 1 s, ... (at most 30 s), up to maxRestarts
(default 5) times in a row; running 60 s resets the count.

exit codes: 0 SIGTERM/SIGINT stopped every module gracefully (or all ended by themselves); 1 a
module failed and its restart policy gave up; 2 usage (a bad config)`;

const BACKOFF_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const HEALTHY_MS = 60_000;
const DRAIN_MS = 5000;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One module under supervision. */
class Supervised {
  server: WasmServer | null = null;
  failures = 0;
  gaveUp = false;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  readonly ended: Promise<void>;
  private endNow!: () => void;

  constructor(readonly cfg: ModuleConfig, private readonly bytes: Uint8Array, private readonly onGiveUp: () => void) {
    this.ended = new Promise((r) => { this.endNow = r; });
  }

  async start(): Promise<void> {
    if (this.stopping) return;
    const startedAt = Date.now();
    const c = this.cfg;
    let err;
    try {
      this.server = await WasmServer.start(this.bytes, { name: c.name, listen: c.listen, listenTls: c.listenTls, allowConnect: c.allowConnect, listenUdp: c.listenUdp, allowUdp: c.allowUdp, args: c.args, memoryMb: c.memoryMb, cpuMs: c.cpuMs, heapMb: c.heapMb });
      if (this.stopping) void this.server.drain(DRAIN_MS);
      for (const a of this.server.listening) say(`wasyncore: ${c.name} listening on ${formatAddress(a.host, a.port)}`);
      for (const a of this.server.listeningTls) say(`wasyncore: ${c.name} listening on ${formatAddress(a.host, a.port)} (TLS)`);
      for (const a of this.server.listeningUdp) say(`wasyncore: ${c.name} listening on ${formatAddress(a.host, a.port)} (UDP)`);
      err = await this.server.done;
    } catch (e) {
      err = e as Error;
    }
    this.server = null;
    if (this.stopping) { this.endNow(); return; }
    if (!err) { say(`wasyncore: ${c.name} ended`); this.endNow(); return; }
    say(err.message);
    if (Date.now() - startedAt >= HEALTHY_MS) this.failures = 0;
    if (c.restart === "on-failure" && this.failures < c.maxRestarts) {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** this.failures);
      this.failures++;
      say(`wasyncore: ${c.name} restarts in ${delay} ms (restart ${this.failures} of ${c.maxRestarts})`);
      this.timer = setTimeout(() => { this.timer = null; void this.start(); }, delay);
      return;
    }
    this.gaveUp = true;
    say(`wasyncore: ${c.name} failed${c.restart === "on-failure" ? ` ${this.failures + 1} times in a row` : ""}: not restarted (restart: ${c.restart})`);
    this.endNow();
    this.onGiveUp();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; this.endNow(); }
    if (this.server) await this.server.drain(DRAIN_MS);
    await this.ended;
  }
}

/** The `serve` subcommand; returns the exit code. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  if (values.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one CONFIG.json, got ${positionals.length}` : "missing CONFIG.json");
  const configs = loadConfig(positionals[0]);
  const bytes = configs.map((c) => {
    try {
      return readFileSync(c.wasm);
    } catch (err) {
      throw new UsageError(`module ${c.name}: cannot read ${c.wasm}: ${(err as NodeJS.ErrnoException).code}`);
    }
  });
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => (stopping ??= Promise.all(mods.map((m) => m.stop())).then(() => {}));
  const mods = configs.map((c, i) => new Supervised(c, bytes[i], () => { void stopAll(); }));
  let signals = 0;
  const onSignal = (sig: string): void => {
    if (++signals > 1) { for (const m of mods) m.server?.close(); return; }
    say(`wasyncore: ${sig}: stopping ${mods.length} module${mods.length === 1 ? "" : "s"} gracefully`);
    void stopAll();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  for (const m of mods) void m.start();
  await Promise.all(mods.map((m) => m.ended));
  if (stopping) await stopping;
  return mods.some((m) => m.gaveUp) ? 1 : 0;
}
