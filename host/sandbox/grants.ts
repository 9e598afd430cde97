// Capabilities of a server module: the exact addresses it may listen on and connect to, and for
// datagrams the addresses it may bind (--listen-udp) and send to (--allow-udp); a datagram socket
// bound under --listen-udp may also reply to recent senders (host/sandbox/datagrams.ts).
// Anything else fails inside the module with EACCES and never reaches the network.
import { isIP } from "node:net";

/** One granted endpoint. */
export interface Endpoint {
  /** The host: an IP literal (normalized). */
  host: string;
  /** The port (0 grants an ephemeral port). */
  port: number;
}

/** Parses "HOST:PORT" or "[V6]:PORT"; throws a TypeError/RangeError naming the text. */
export function parseEndpoint(text: string, what: string): Endpoint {
  if (typeof text !== "string") throw new TypeError(`${what}: expected "HOST:PORT", got ${String(text)}`);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw new TypeError(`${what}: expected "HOST:PORT" (or "[IPv6]:PORT"), got ${JSON.stringify(text)}`);
  const host = normalizeHost(m[1]);
  if (isIP(host) === 0) throw new TypeError(`${what}: host must be an IP address or localhost, got ${JSON.stringify(m[1])}`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port > 65535) throw new RangeError(`${what}: port must be in 0..65535, got ${m[2]}`);
  return { host, port };
}

/** "localhost" → 127.0.0.1; IP literals as given. */
export function normalizeHost(host: string): string {
  return host === "localhost" ? "127.0.0.1" : host;
}

/** What a module may do on the network. */
export class Grants {
  /** The addresses the module may listen on. */
  readonly listen: Endpoint[];
  /** The addresses the module may connect to. */
  readonly connect: Endpoint[];

  /** The addresses the module may bind a datagram socket to (--listen-udp). */
  readonly listenUdp: Endpoint[];
  /** The addresses the module may send datagrams to (--allow-udp). */
  readonly allowUdp: Endpoint[];

  constructor(listen: readonly string[] = [], connect: readonly string[] = [], listenUdp: readonly string[] = [], allowUdp: readonly string[] = []) {
    this.listen = listen.map((t) => parseEndpoint(t, "listen grant"));
    this.connect = connect.map((t) => parseEndpoint(t, "allow-connect grant"));
    this.listenUdp = listenUdp.map((t) => parseEndpoint(t, "listen-udp grant"));
    this.allowUdp = allowUdp.map((t) => parseEndpoint(t, "allow-udp grant"));
  }

  /** May the module bind a datagram socket to this address? (a grant of port 0 allows exactly an ephemeral port) */
  mayBindUdp(host: string, port: number): boolean {
    return granted(this.listenUdp, host, port);
  }

  /** May the module send datagrams to this address (without having heard from it)? */
  maySendUdp(host: string, port: number): boolean {
    return granted(this.allowUdp, host, port);
  }

  /** May the module bind this address? (a grant of port 0 allows exactly an ephemeral port) */
  mayBind(host: string, port: number): boolean {
    return granted(this.listen, host, port);
  }

  /** May the module connect to this address? */
  mayConnect(host: string, port: number): boolean {
    return granted(this.connect, host, port);
  }
}

/** Is host:port one of `list` (after "localhost" → 127.0.0.1; hosts compared as text)? */
function granted(list: readonly Endpoint[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return list.some((g) => g.host === h && g.port === port);
}
