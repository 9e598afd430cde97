// Which backend is in use (issue 14, "The package"): loopStats().backend and backendReason, and the
// NODE_DEBUG=wasyncore line at the first socket. Runs on both projects: `net` (WASYNCORE_BACKEND=net)
// and `native` (WASYNCORE_BACKEND=native); the default (no WASYNCORE_BACKEND) runs in a child.
import { describe, it, expect, afterEach } from "vitest";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AF_INET, ChannelMap, Dispatcher, closeAll, configure, loopStats } from "../../host/index.js";
import { nativeUnavailable } from "../../host/sys/native/addon.js";
import { missing } from "../support/index.js";

const project = process.env.WASYNCORE_BACKEND as "net" | "native";
const lib = fileURLToPath(new URL("../../build/host/index.js", import.meta.url));
const nativeWhy = nativeUnavailable(); // null where the addon loads

function child(source: string, env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const c = spawn(process.execPath, ["--input-type=module", "-e", source], { env: e as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let out = "", err = "";
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (err += d));
    c.on("exit", (code) => resolve({ code, out, err }));
  });
}

// A child that creates one socket and prints loopStats()'s two fields and the socket's class.
const probe = `
const { AF_INET, Dispatcher, ChannelMap, closeAll, loopStats } = await import(${JSON.stringify(lib)});
const map = new ChannelMap();
const d = new Dispatcher(null, map);
d.createSocket(AF_INET);
const { backend, backendReason } = loopStats({ map });
console.log(JSON.stringify({ backend, backendReason, socket: d.socket.constructor.name }));
closeAll({ map });
`;

describe("the backend in use", () => {
  afterEach(() => configure({ backend: null }));

  it(`loopStats() reports the project's backend ('${project}'), chosen explicitly, so no reason`, () => {
    const map = new ChannelMap();
    try {
      const d = new Dispatcher(null, map);
      d.createSocket(AF_INET);
      const s = loopStats({ map });
      expect({ backend: s.backend, backendReason: s.backendReason }).toEqual({ backend: project, backendReason: null });
      expect(d.socket!.constructor.name).toBe(project === "native" ? "NativeSocket" : "Socket");
    } finally {
      closeAll({ map });
    }
  });

  it("follows configure({ backend })", () => {
    configure({ backend: "net" });
    expect(loopStats()).toMatchObject({ backend: "net", backendReason: null });
    if (nativeWhy === null) {
      configure({ backend: "native" });
      expect(loopStats()).toMatchObject({ backend: "native", backendReason: null });
    } else {
      expect(() => configure({ backend: "native" })).toThrow(nativeWhy);
    }
    configure({ backend: null });
    expect(loopStats()).toMatchObject({ backend: project, backendReason: null });
  });

  it.skipIf(missing("the built host (build/host)", !existsSync(lib)))("by default: native where the addon loads, else net with the reason", async () => {
    const r = await child(probe, { WASYNCORE_BACKEND: undefined, NODE_DEBUG: undefined });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(nativeWhy === null
      ? { backend: "native", backendReason: null, socket: "NativeSocket" }
      : { backend: "net", backendReason: nativeWhy, socket: "Socket" });
  });

  it.skipIf(missing("the built host (build/host)", !existsSync(lib)))("NODE_DEBUG=wasyncore says which backend the first socket got", async () => {
    const r = await child(probe, { WASYNCORE_BACKEND: project, NODE_DEBUG: "wasyncore" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ backend: project, backendReason: null });
    const lines = r.err.split("\n").filter((l) => /^WASYNCORE \d+: sockets use/.test(l));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`: sockets use the ${project} backend$`))]);
    if (project === "native") expect(r.err).toMatch(/^WASYNCORE \d+: native addon loaded: .*wasyncore\.node$/m);
  });

  it.skipIf(missing("the built host (build/host)", !existsSync(lib)))("without NODE_DEBUG there is no debug output", async () => {
    const r = await child(probe, { WASYNCORE_BACKEND: project, NODE_DEBUG: undefined });
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
  });
});
