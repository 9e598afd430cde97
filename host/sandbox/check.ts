// The load-time validator of server modules: reads the binary's sections (imports, exports, types,
// tables, memories) with a small bounds-checked reader, before anything is compiled, and refuses
// what the runner does not allow — with a reason a person can act on.
//
// Allowed: imports from env (memory, abort), wasi_snapshot_preview1 (the shim's names) and the
// socket namespaces in ABI_VERSIONS; exactly one memory, the imported env.memory, whose minimum fits
// the cap; tables of at most MAX_TABLE_ELEMENTS with a maximum; MVP value types (+ v128, funcref,
// externref). Refused: GC types, typed references, shared memory (threads), memory64, several
// memories, a memory of its own, imported tables/globals, unknown sections.
import { ABI_VERSIONS, ENV_IMPORTS, WASI_SHIM_IMPORTS } from "./abi.js";

/** Elements a module's table may hold (its declared maximum). */
export const MAX_TABLE_ELEMENTS = 65536;
/** Bytes a module file may have. */
export const MAX_MODULE_BYTES = 64 << 20;

/** What the validator learned about an accepted module. */
export interface ModuleShape {
  /** Minimum and (declared) maximum of env.memory, in 64 KiB pages. */
  memory: {
    /** Initial pages. */
    min: number;
    /** Declared maximum pages (null: none declared). */
    max: number | null;
  };
  /** The socket namespace it imports from (null: none). */
  abi: string | null;
  /** Every import. */
  imports: {
    /** The import's module namespace, e.g. 'wasyncore_sock_v1'. */
    module: string;
    /** The imported name. */
    name: string;
    /** 'function', 'table', 'memory', 'global' or 'tag'. */
    kind: string;
  }[];
  /** Every export. */
  exports: {
    /** The exported name. */
    name: string;
    /** 'function', 'table', 'memory', 'global' or 'tag'. */
    kind: string;
  }[];
}

/** A module the runner refuses to load. */
export class ModuleRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModuleRefused";
  }
}

const KINDS = ["function", "table", "memory", "global", "tag"];
const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);
const GC_FORMS: Record<number, string> = { 0x4e: "a recursive type group", 0x50: "a subtype", 0x4f: "a final subtype", 0x5f: "a struct type", 0x5e: "an array type" };

class Reader {
  constructor(private readonly b: Uint8Array, public at: number, private readonly end: number) {}
  byte(): number {
    if (this.at >= this.end) throw new ModuleRefused("malformed module: a section ends early");
    return this.b[this.at++];
  }
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const c = this.byte();
      result += (c & 0x7f) * 2 ** shift;
      if ((c & 0x80) === 0) {
        if (result > 0xffffffff) throw new ModuleRefused("malformed module: a LEB128 number is too large");
        return result;
      }
    }
    throw new ModuleRefused("malformed module: a LEB128 number is too long");
  }
  name(): string {
    const n = this.u32();
    if (this.at + n > this.end) throw new ModuleRefused("malformed module: a name runs past its section");
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.at, n).toString("utf8");
    this.at += n;
    return s;
  }
  skip(n: number): void {
    if (this.at + n > this.end) throw new ModuleRefused("malformed module: a section runs past the end");
    this.at += n;
  }
}

function limits(r: Reader, what: string): { min: number; max: number | null } {
  const flags = r.byte();
  if (flags & 0x02) throw new ModuleRefused(`${what} is shared (threads are not allowed)`);
  if (flags & 0x04) throw new ModuleRefused(`${what} is 64-bit (memory64/table64 are not allowed)`);
  if (flags > 1) throw new ModuleRefused(`${what} has unknown limit flags 0x${flags.toString(16)}`);
  const min = r.u32();
  const max = flags & 1 ? r.u32() : null;
  return { min, max };
}

function valtype(r: Reader, where: string): void {
  const t = r.byte();
  if (!VALTYPES.has(t)) throw new ModuleRefused(`${where} uses value type 0x${t.toString(16)} (GC and typed references are not allowed)`);
}

function table(r: Reader, what: string): void {
  const t = r.byte();
  if (t !== 0x70 && t !== 0x6f) throw new ModuleRefused(`${what} has element type 0x${t.toString(16)} (only funcref and externref tables are allowed)`);
  const l = limits(r, what);
  if (l.max === null) throw new ModuleRefused(`${what} has no maximum (tables must be bounded, at most ${MAX_TABLE_ELEMENTS} elements)`);
  if (l.min > MAX_TABLE_ELEMENTS || l.max > MAX_TABLE_ELEMENTS) {
    throw new ModuleRefused(`${what} declares ${Math.max(l.min, l.max)} elements (at most ${MAX_TABLE_ELEMENTS} are allowed)`);
  }
}

function allowedImport(module: string, name: string): boolean {
  if (module === "env") return (ENV_IMPORTS as readonly string[]).includes(name);
  if (module === "wasi_snapshot_preview1") return (WASI_SHIM_IMPORTS as readonly string[]).includes(name);
  return ABI_VERSIONS[module]?.imports.includes(name) ?? false;
}

/**
 * Validates a server module's bytes against the runner's rules and a memory cap (MiB).
 * @throws ModuleRefused with the reason.
 */
export function checkModule(bytes: Uint8Array, memoryMb: number): ModuleShape {
  if (bytes.length > MAX_MODULE_BYTES) throw new ModuleRefused(`the file has ${bytes.length} bytes (at most ${MAX_MODULE_BYTES} are allowed)`);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleRefused("not a WebAssembly module (no \\0asm header)");
  }
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  if (version !== 1) throw new ModuleRefused(`WebAssembly binary version ${version} (a component or a future format; only core modules of version 1 load)`);
  const shape: ModuleShape = { memory: { min: 0, max: null }, abi: null, imports: [], exports: [] };
  let memories = 0;
  const top = new Reader(bytes, 8, bytes.length);
  while (top.at < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    const start = top.at;
    top.skip(size);
    const r = new Reader(bytes, start, start + size);
    if (id === 0 || id === 3 || (id >= 8 && id <= 13) || id === 6) continue; // custom, function, start, elem, code, data, datacount, tag, global
    if (id === 1) {
      for (let n = r.u32(), i = 0; i < n; i++) {
        const form = r.byte();
        if (GC_FORMS[form]) throw new ModuleRefused(`its type section declares ${GC_FORMS[form]} (WebAssembly GC is not allowed)`);
        if (form !== 0x60) throw new ModuleRefused(`its type section has unknown form 0x${form.toString(16)}`);
        for (let k = r.u32(), j = 0; j < k; j++) valtype(r, `type ${i}`);
        for (let k = r.u32(), j = 0; j < k; j++) valtype(r, `type ${i}`);
      }
    } else if (id === 2) {
      for (let n = r.u32(), i = 0; i < n; i++) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        const what = `import ${module}.${name}`;
        if (kind === 0) r.u32();
        else if (kind === 1) throw new ModuleRefused(`${what} is a table (a module's tables must be its own)`);
        else if (kind === 2) {
          memories++;
          const l = limits(r, `memory ${what}`);
          if (module !== "env" || name !== "memory") throw new ModuleRefused(`${what} is a memory (the one memory is env.memory)`);
          shape.memory = l;
        } else if (kind === 3) throw new ModuleRefused(`${what} is a global (the runner grants none)`);
        else throw new ModuleRefused(`${what} has kind ${kind} (${KINDS[kind] ?? "unknown"}; only functions and env.memory are granted)`);
        if (module.startsWith("wasix")) throw new ModuleRefused(`it imports ${module} (a WASIX-flavour module, not a host-flavour server module: build it with \`--target host\`)`);
        if (!allowedImport(module, name) || (module === "env" && name === "memory" && kind !== 2) || (name !== "memory" && kind !== 0)) {
          const spaces = ["env", "wasi_snapshot_preview1", ...Object.keys(ABI_VERSIONS)].join(", ");
          throw new ModuleRefused(`${what} is not granted (a module imports only from ${spaces}, names listed in host/sandbox/abi.ts)`);
        }
        if (ABI_VERSIONS[module]) {
          if (shape.abi !== null && shape.abi !== module) throw new ModuleRefused(`it imports from two socket namespaces (${shape.abi}, ${module})`);
          shape.abi = module;
        }
        shape.imports.push({ module, name, kind: KINDS[kind] });
      }
    } else if (id === 4) {
      for (let n = r.u32(), i = 0; i < n; i++) table(r, `table ${i}`);
    } else if (id === 5) {
      const n = r.u32();
      memories += n;
      if (n > 0) throw new ModuleRefused("it defines a memory of its own (a server module imports env.memory, which the runner caps)");
    } else if (id === 7) {
      for (let n = r.u32(), i = 0; i < n; i++) {
        const name = r.name();
        const kind = r.byte();
        r.u32();
        shape.exports.push({ name, kind: KINDS[kind] ?? "unknown" });
      }
    } else throw new ModuleRefused(`it has an unknown section (id ${id})`);
  }
  if (memories === 0) throw new ModuleRefused("it imports no memory (not a host-flavour server module: build it with `wasyncore build --target host`)");
  if (memories > 1) throw new ModuleRefused(`it declares ${memories} memories (multi-memory is not allowed)`);
  const capPages = memoryMb * 16;
  if (shape.memory.min > capPages) {
    throw new ModuleRefused(`its memory starts at ${shape.memory.min / 16} MiB, over the cap of ${memoryMb} MiB (--memory-mb)`);
  }
  if (!shape.exports.some((e) => e.name === "server_pass" && e.kind === "function")) {
    throw new ModuleRefused("it lacks the server_pass export (add assembly/server/exports.ts to its entry files, or build it with `wasyncore build`)");
  }
  return shape;
}
