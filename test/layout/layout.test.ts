// The host's layout keeps its promises (issue 13): no import cycles in host/ or assembly/, each backend's
// syscalls only in its own folder, no host file past ~450 lines without a reason at its top, true headers.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...files(rel));
    else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** The relative modules `file` imports (value imports: `import type` cannot make a run-time cycle). */
function imports(file: string): string[] {
  const src = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[1]));
    out.push(target.endsWith(".js") ? target.replace(/\.js$/, ".ts") : `${target}.ts`); // AssemblyScript imports have no extension
  }
  return out;
}

/** Every import cycle among `list` (as paths a → b → … → a). */
function cycles(list: string[]): string[] {
  const known = new Set(list);
  const graph = new Map(list.map((f) => [f, imports(f).filter((i) => known.has(i))]));
  const found: string[] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const g of graph.get(f)!) {
      if (state.get(g) === 1) found.push([...stack.slice(stack.indexOf(g)), g].join(" → "));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of list) if (!state.has(f)) visit(f);
  return found;
}

describe("the source layout", () => {
  it("has no import cycles in host/", () => {
    expect(cycles(files("host"))).toEqual([]);
  });

  it("has no import cycles in assembly/", () => {
    expect(cycles(files("assembly"))).toEqual([]);
  });

  it("calls the addon only from host/sys/native/", () => {
    const outside = files("host").filter((f) => !f.startsWith("host/sys/native/"))
      .filter((f) => /from "[^"]*sys\/native\/(addon|stream|socket|dgram|dup)\.js"/.test(readFileSync(join(ROOT, f), "utf8")));
    // host/sys/index.ts is the seam's door: it constructs each backend's sockets by name
    expect(outside.filter((f) => f !== "host/sys/index.ts" && f !== "host/socket/backend.ts" && f !== "host/asyncore/stats.ts")).toEqual([]);
  });

  it("touches libuv handles and Node's internal bindings only in host/sys/net/", () => {
    const internals = /process\.binding|\bbinding\(|onconnection|tcp_wrap|pipe_wrap|udp_wrap|stream_wrap|sys\/net\/(handles|stream|dgram-handle|uv|fs)\.js/;
    // host/sys/index.ts is the seam's door (it picks each backend's implementation)
    const known = new Set(["host/sys/index.ts"]);
    const outside = files("host").filter((f) => !f.startsWith("host/sys/net/") && !known.has(f))
      .filter((f) => internals.test(readFileSync(join(ROOT, f), "utf8")));
    expect(outside).toEqual([]);
  });

  it("keeps host files under ~450 lines unless the file says why at its top", () => {
    const long = files("host").filter((f) => {
      const src = readFileSync(join(ROOT, f), "utf8");
      return src.split("\n").length > 450 && !/^\/\/.*\blong because\b/im.test(src.split("\n").slice(0, 12).join("\n"));
    });
    expect(long).toEqual([]);
  });

  it("opens every host file with a one-line header comment", () => {
    const bare = files("host").filter((f) => !/^(#!.*\n)?\/\/ \S/.test(readFileSync(join(ROOT, f), "utf8")));
    expect(bare).toEqual([]);
  });
});
