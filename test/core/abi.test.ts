// The wasm's import and export names are exactly the lists in host/abi.ts, in both builds.
import { describe, it, expect } from "vitest";
import { CORE_EXPORTS, CORE_IMPORTS, type CoreExports } from "../../host/core/abi.js";
import { coreModule, freshCore } from "./wasm.js";

// Compile-time half of the check: the CoreExports interface names exactly CORE_EXPORTS plus memory.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const interfaceMatchesList: Same<Exclude<keyof CoreExports, "memory">, (typeof CORE_EXPORTS)[number]> = true;

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe.each(["core.wasm", "core.debug.wasm"])("ABI of build/%s", (file) => {
  const mod = coreModule(file);

  it("exports exactly the functions in CORE_EXPORTS", () => {
    const fns = WebAssembly.Module.exports(mod).filter((e) => e.kind === "function").map((e) => e.name);
    expect(new Set(fns).size).toBe(fns.length);
    expect(sorted(fns)).toEqual(sorted(CORE_EXPORTS));
    expect(new Set(CORE_EXPORTS).size).toBe(CORE_EXPORTS.length);
    expect(interfaceMatchesList).toBe(true);
  });

  it("exports one memory named memory and nothing else besides the functions", () => {
    const others = WebAssembly.Module.exports(mod).filter((e) => e.kind !== "function");
    expect(others).toEqual([{ name: "memory", kind: "memory" }]);
  });

  it("imports exactly the functions in CORE_IMPORTS, module by module", () => {
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.every((i) => i.kind === "function")).toBe(true);
    const byModule: Record<string, string[]> = {};
    for (const i of imports) (byModule[i.module] ??= []).push(i.name);
    const expected = Object.fromEntries(Object.entries(CORE_IMPORTS).map(([m, names]) => [m, sorted(names)]));
    expect(Object.fromEntries(Object.entries(byModule).map(([m, names]) => [m, sorted(names)]))).toEqual(expected);
  });

  it("instantiates with only CORE_IMPORTS and exposes every export as a callable", () => {
    const core = freshCore(file);
    for (const name of CORE_EXPORTS) expect(typeof core.x[name], name).toBe("function");
    expect(core.x.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(core.x.engine_init(16384, 2 ** 20, 65536, 262144)).toBe(0);
  });
});

describe("release and debug builds", () => {
  it("take the same number of parameters for every export", () => {
    const rel = freshCore("core.wasm").x as unknown as Record<string, (...a: number[]) => number>;
    const dbg = freshCore("core.debug.wasm").x as unknown as Record<string, (...a: number[]) => number>;
    for (const name of CORE_EXPORTS) expect(dbg[name].length, name).toBe(rel[name].length);
  });
});
