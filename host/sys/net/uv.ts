// Access to Node's internal libuv bindings (DEP0111; present in Node 20–24), shared by the
// syscall modules that need a synchronous call Node's public API does not offer; and whether the
// `net` backend must do without them (the public node:net/node:dgram fallback, public-*.ts).
import { getSystemErrorName } from "node:util";

/** One of Node's internal bindings (`process.binding(name)`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const binding = (name: string): any => (process as any).binding(name);

/** The symbolic code ('EADDRINUSE', ...) of a negative libuv result. */
export function uvName(rc: number): string {
  // util.getSystemErrorName is the public face of the `uv` binding's errname (and works under --permission).
  try {
    const name = getSystemErrorName(rc);
    return /^E[A-Z0-9]+$/.test(name) ? name : "EIO";
  } catch { return "EIO"; }
}

let refused: string | null | undefined;

/** Why process.binding cannot be used here (Node's permission model refuses it, or it is gone), or null. */
function bindingRefused(): string | null {
  if (refused !== undefined) return refused;
  const pb = (process as { binding?: unknown }).binding;
  if (typeof pb !== "function") return (refused = "process.binding is not available in this Node");
  try {
    pb.call(process, "tcp_wrap");
    refused = null;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    refused = code === "ERR_ACCESS_DENIED"
      ? "process.binding is refused by Node's permission model"
      : `process.binding('tcp_wrap') failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  return refused;
}

/**
 * Why new `net` sockets use the public node:net/node:dgram API instead of libuv handles, or null
 * when they use the handles. WASYNCORE_NET_PUBLIC=1 forces the fallback (tests); otherwise it is
 * used where process.binding is refused (`--permission`, `--experimental-permission` on Node 20).
 */
export function netPublicReason(): string | null {
  if (process.env.WASYNCORE_NET_PUBLIC === "1") return "WASYNCORE_NET_PUBLIC=1";
  return bindingRefused();
}
