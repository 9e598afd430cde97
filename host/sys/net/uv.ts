// Access to Node's internal libuv bindings (DEP0111; present in Node 20–24), shared by the
// syscall modules that need a synchronous call Node's public API does not offer.

/** One of Node's internal bindings (`process.binding(name)`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const binding = (name: string): any => (process as any).binding(name);

let uvErrName: ((n: number) => string) | undefined;

/** The symbolic code ('EADDRINUSE', ...) of a negative libuv result. */
export function uvName(rc: number): string {
  uvErrName ??= binding("uv").errname as (n: number) => string;
  try { return uvErrName(rc); } catch { return "EIO"; }
}
