// A tiny WebAssembly assembler for hostile test modules: types, imports, tables, memories,
// functions from raw opcodes, exports and data, written byte by byte (no toolchain needed).

/** Unsigned LEB128. */
export function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
export function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

const str = (s: string): number[] => { const b = [...Buffer.from(s)]; return [...u32(b.length), ...b]; };
const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body];

export const I32 = 0x7f;
export const I64 = 0x7e;

/** Opcodes used by the tests' modules. */
export const op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, ret: 0x0f, call: 0x10,
  drop: 0x1a, localGet: 0x20, localSet: 0x21, localTee: 0x22, i32Load: 0x28, i32Store: 0x36, memoryGrow: 0x40,
  i32Const: 0x41, i64Const: 0x42, i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GeS: 0x4e, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c,
  void: 0x40,
};
/** i32.const n */
export const c = (n: number): number[] => [op.i32Const, ...s32(n)];
/** call f */
export const call = (f: number): number[] => [op.call, ...u32(f)];
/** local.get / local.set */
export const get = (i: number): number[] => [op.localGet, ...u32(i)];
export const set = (i: number): number[] => [op.localSet, ...u32(i)];
/** i32.load / i32.store at a constant address */
export const load = (addr: number): number[] => [...c(addr), op.i32Load, 2, 0];
export const store = (addr: number, value: number[]): number[] => [...c(addr), ...value, op.i32Store, 2, 0];

export interface FuncImport { module: string; name: string; params: number[]; results: number[] }
export interface Func { export?: string; params?: number[]; results?: number[]; locals?: number; body: number[] }
export interface ModuleSpec {
  funcImports?: FuncImport[];
  /** env.memory (min pages, optional max); `shared` sets the threads flag. null: no imported memory. */
  memory?: { min: number; max?: number; shared?: boolean } | null;
  /** Memories of its own. */
  memories?: { min: number; max?: number }[];
  tables?: { min: number; max?: number }[];
  funcs: Func[];
  data?: { offset: number; bytes: number[] | string }[];
  /** Raw entries appended to the type section (e.g. GC struct types). */
  rawTypes?: number[][];
}

const limits = (l: { min: number; max?: number; shared?: boolean }): number[] =>
  l.max === undefined ? [l.shared ? 0x02 : 0x00, ...u32(l.min)] : [l.shared ? 0x03 : 0x01, ...u32(l.min), ...u32(l.max)];

/** Assembles a module. Imported functions come first in the function index space, in order. */
export function assemble(m: ModuleSpec): Uint8Array {
  const types: string[] = [];
  const typeOf = (params: number[], results: number[]): number => {
    const key = `${params.join(",")}>${results.join(",")}`;
    let i = types.indexOf(key);
    if (i < 0) { types.push(key); i = types.length - 1; }
    return i;
  };
  const imports = (m.funcImports ?? []).map((f) => [...str(f.module), ...str(f.name), 0x00, ...u32(typeOf(f.params, f.results))]);
  if (m.memory !== null) imports.push([...str("env"), ...str("memory"), 0x02, ...limits(m.memory ?? { min: 1 })]);
  const funcTypes = m.funcs.map((f) => u32(typeOf(f.params ?? [], f.results ?? [])));
  const typeEntries = types.map((k) => {
    const [p, r] = k.split(">").map((s) => (s ? s.split(",").map(Number) : []));
    return [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))];
  });
  const nImports = (m.funcImports ?? []).length;
  const exports = m.funcs.flatMap((f, i) => (f.export ? [[...str(f.export), 0x00, ...u32(nImports + i)]] : []));
  const code = m.funcs.map((f) => {
    const locals = f.locals ? vec([[...u32(f.locals), I32]]) : vec([]);
    const body = [...locals, ...f.body, op.end];
    return [...u32(body.length), ...body];
  });
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec([...typeEntries, ...(m.rawTypes ?? [])])));
  out.push(...section(2, vec(imports)));
  out.push(...section(3, vec(funcTypes)));
  if (m.tables?.length) out.push(...section(4, vec(m.tables.map((t) => [0x70, ...limits(t)]))));
  if (m.memories?.length) out.push(...section(5, vec(m.memories.map(limits))));
  out.push(...section(7, vec(exports)));
  out.push(...section(10, vec(code)));
  if (m.data?.length) {
    out.push(...section(11, vec(m.data.map((d) => {
      const bytes = typeof d.bytes === "string" ? [...Buffer.from(d.bytes)] : d.bytes;
      return [0x00, ...c(d.offset), op.end, ...u32(bytes.length), ...bytes];
    }))));
  }
  return new Uint8Array(out);
}

/** The imports hostile modules use, by short name (indices follow this order when listed). */
export const IMPORTS: Record<string, FuncImport> = {
  proc_exit: { module: "wasi_snapshot_preview1", name: "proc_exit", params: [I32], results: [] },
  fd_write: { module: "wasi_snapshot_preview1", name: "fd_write", params: [I32, I32, I32, I32], results: [I32] },
  fd_read: { module: "wasi_snapshot_preview1", name: "fd_read", params: [I32, I32, I32, I32], results: [I32] },
  poll_oneoff: { module: "wasi_snapshot_preview1", name: "poll_oneoff", params: [I32, I32, I32, I32], results: [I32] },
  p1_sock_recv: { module: "wasi_snapshot_preview1", name: "sock_recv", params: [I32, I32, I32, I32, I32, I32], results: [I32] },
  p1_sock_send: { module: "wasi_snapshot_preview1", name: "sock_send", params: [I32, I32, I32, I32, I32], results: [I32] },
  p1_sock_accept: { module: "wasi_snapshot_preview1", name: "sock_accept", params: [I32, I32, I32], results: [I32] },
  p1_sock_shutdown: { module: "wasi_snapshot_preview1", name: "sock_shutdown", params: [I32, I32], results: [I32] },
  sock_open: { module: "wasyncore_sock_v1", name: "sock_open", params: [I32], results: [I32] },
  sock_bind: { module: "wasyncore_sock_v1", name: "sock_bind", params: [I32, I32, I32, I32], results: [I32] },
  sock_listen: { module: "wasyncore_sock_v1", name: "sock_listen", params: [I32, I32], results: [I32] },
  sock_accept: { module: "wasyncore_sock_v1", name: "sock_accept", params: [I32], results: [I32] },
  sock_connect: { module: "wasyncore_sock_v1", name: "sock_connect", params: [I32, I32, I32, I32], results: [I32] },
  sock_send: { module: "wasyncore_sock_v1", name: "sock_send", params: [I32, I32, I32], results: [I32] },
  sock_recv: { module: "wasyncore_sock_v1", name: "sock_recv", params: [I32, I32, I32], results: [I32] },
  sock_close: { module: "wasyncore_sock_v1", name: "sock_close", params: [I32], results: [I32] },
  sock_poll: { module: "wasyncore_sock_v1", name: "sock_poll", params: [I32, I32], results: [I32] },
  sock_error: { module: "wasyncore_sock_v1", name: "sock_error", params: [I32], results: [I32] },
};

/** A module importing `names` (from IMPORTS); `fn(name)` gives an import's function index. */
export function withImports(names: string[]): { funcImports: FuncImport[]; fn: (name: string) => number } {
  return { funcImports: names.map((n) => IMPORTS[n]), fn: (n) => { const i = names.indexOf(n); if (i < 0) throw new Error(`no import ${n}`); return i; } };
}
