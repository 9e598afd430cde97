// Address shapes in and out: [host, port] tuples for IP families, paths for AF_UNIX.
import { isIP } from "node:net";
import { AF_INET, AF_INET6, AF_UNIX } from "./constants.js";

/** An AF_INET address, as Python's: `[host, port]`. */
export type InetAddress = [host: string, port: number];
/** An AF_INET6 address as sockets report it: `[host, port, flowinfo, scopeId]` (a `[host, port]` is accepted as input). */
export type Inet6Address = [host: string, port: number, flowinfo: number, scopeId: number];
/** Python: a socket address — `[host, port]`, `[host, port, flowinfo, scopeId]` or a Unix path. */
export type Address = InetAddress | Inet6Address | string;
/**
 * The address a socket of family `F` reports (getsockname(), getpeername(), accept(), recvfrom()):
 * InetAddress for AF_INET, Inet6Address for AF_INET6, a path string for AF_UNIX, Address when `F` is
 * not known at compile time. So `const [host, port] = new Socket(AF_INET).getsockname()` is typed.
 */
export type AddressOf<F extends number> = F extends typeof AF_INET ? InetAddress : F extends typeof AF_INET6 ? Inet6Address : F extends typeof AF_UNIX ? string : Address;

export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(", ")}]`;
  if (v instanceof Uint8Array) return `<${v.constructor.name} of ${v.length} bytes>`;
  if (typeof v === "bigint") return `${v}n`;
  return String(v);
}

export function familyName(family: number): string {
  return family === AF_INET ? "AF_INET" : family === AF_INET6 ? "AF_INET6" : family === AF_UNIX ? "AF_UNIX" : String(family);
}

/** A checked IP address: host resolved for bind (literal) or kept for connect (may be a name). */
export interface IpTarget { host: string; port: number; }

/** Validates an AF_INET/AF_INET6 address; `forBind` rejects host names (they must be resolved first). */
export function checkIp(family: number, address: unknown, what: string, forBind: boolean): IpTarget {
  const fam = familyName(family);
  if (!Array.isArray(address) || (address.length !== 2 && !(family === AF_INET6 && address.length === 4))) {
    throw new TypeError(`${what}: address must be a [host, port] array for ${fam}${family === AF_INET6 ? " (or [host, port, flowinfo, scopeId])" : ""}, got ${describe(address)}`);
  }
  const [host, port] = address as unknown[];
  if (typeof host !== "string") throw new TypeError(`${what}: host must be a string, got ${describe(host)}`);
  if (typeof port !== "number" || !Number.isInteger(port)) throw new TypeError(`${what}: port must be an integer, got ${describe(port)}`);
  if (port < 0 || port > 65535) throw new RangeError(`${what}: port must be in 0..65535, got ${port}`);
  let h = host;
  if (h === "localhost") h = family === AF_INET6 ? "::1" : "127.0.0.1";
  else if (h === "") h = family === AF_INET6 ? "::" : "0.0.0.0";
  const kind = isIP(h);
  if (kind !== 0 && kind !== (family === AF_INET6 ? 6 : 4)) {
    throw new TypeError(`${what}: ${JSON.stringify(host)} is not an ${family === AF_INET6 ? "IPv6" : "IPv4"} address, as ${fam} needs`);
  }
  if (kind === 0 && forBind) {
    throw new TypeError(`${what}: bind() takes an IP address, 'localhost' or '' — resolve ${JSON.stringify(host)} first (dns.lookup)`);
  }
  return { host: h, port };
}

/** Validates an AF_UNIX path. */
export function checkPath(address: unknown, what: string): string {
  if (typeof address !== "string" || address.length === 0) {
    throw new TypeError(`${what}: address must be a non-empty path string for AF_UNIX, got ${describe(address)}`);
  }
  if (Buffer.byteLength(address) > 107) throw new RangeError(`${what}: AF_UNIX path is longer than 107 bytes: ${describe(address)}`);
  return address;
}

/** Formats an address as asyncore reports it. */
export function ipOut(family: number, host: string, port: number): Address {
  return family === AF_INET6 ? [host, port, 0, 0] : [host, port];
}

/** getsockname() of a socket that is not bound yet. */
export function unboundAddress(family: number): Address {
  return family === AF_INET6 ? ["::", 0, 0, 0] : family === AF_UNIX ? "" : ["0.0.0.0", 0];
}

/** A datagram destination: an IP literal or 'localhost' (Node has no synchronous DNS for a datagram). */
export function checkTarget(family: number, address: unknown, what: string): IpTarget {
  const t = checkIp(family, address, what, false);
  if (isIP(t.host) === 0) {
    throw new TypeError(`${what}: datagram sockets take an IP address or 'localhost' — resolve ${JSON.stringify(t.host)} first (dns.lookup)`);
  }
  return t;
}
