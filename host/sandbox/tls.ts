// TLS for server modules (--listen-tls): the runner terminates TLS on the granted address and
// relays plaintext to the module over loopback. Certificate and key are read here, in the runner's
// own process: the module's process never receives them, and the module sees only plaintext.
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { parseEndpoint, type Endpoint } from "./grants.js";

/** One TLS listener of a module: where to serve TLS, and this side's PEM certificate chain and key. */
export interface TlsListen {
  /** "HOST:PORT" to serve TLS on (port 0: any free port). */
  listen: string;
  /** PEM file of the certificate chain. */
  cert: string;
  /** PEM file of the private key (stays in the runner's process). */
  key: string;
}

/** A checked TLS listener: its address and PEM bytes. */
export interface TlsSetup { at: Endpoint; cert: Buffer; key: Buffer; }

/**
 * Checks one TLS listener: the address, readable files, a key that matches its certificate.
 * @throws Error naming `what`, the key and the file when any of them is wrong.
 */
export function loadTls(spec: TlsListen, what: string): TlsSetup {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new TypeError(`${what} must be { listen, cert, key }, got ${JSON.stringify(spec)}`);
  for (const k of Object.keys(spec)) if (k !== "listen" && k !== "cert" && k !== "key") throw new TypeError(`${what}: unknown key ${JSON.stringify(k)} (known: listen, cert, key)`);
  const at = parseEndpoint(spec.listen, `${what}.listen`);
  const read = (k: "cert" | "key"): Buffer => {
    const file = spec[k];
    if (typeof file !== "string" || file === "") throw new TypeError(`${what}.${k} must be a file path, got ${JSON.stringify(file)}`);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${what}.${k} ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read("cert"), key = read("key");
  try {
    tls.createSecureContext({ cert, key }); // the key must parse and match the certificate
    return { at, cert, key };
  } catch (err) {
    throw new Error(`${what}: cert ${JSON.stringify(spec.cert)} and key ${JSON.stringify(spec.key)}: ${(err as Error).message}`);
  }
}

/** A loopback port free now: the module's plaintext side of one TLS listener. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Serves TLS on one address and relays each connection's plaintext to the module's loopback port. */
export class TlsFront {
  readonly #server: tls.Server;
  readonly #conns = new Set<net.Socket>();
  /** Where it serves TLS (known once listen() resolved). */
  address: Endpoint | null = null;

  constructor(readonly setup: TlsSetup, readonly backendPort: number) {
    this.#server = tls.createServer({ cert: setup.cert, key: setup.key }, (client) => this.#relay(client));
    this.#server.on("tlsClientError", () => {}); // a failed handshake ends only that connection
  }

  #relay(client: tls.TLSSocket): void {
    const up = net.connect(this.backendPort, "127.0.0.1");
    this.#conns.add(client).add(up);
    client.pipe(up);
    up.pipe(client); // the module's close ends the TLS side (close_notify) after its last bytes
    client.on("error", () => up.destroy());
    up.on("error", () => client.destroy());
    client.on("close", () => { this.#conns.delete(client); up.destroy(); });
    up.on("close", () => this.#conns.delete(up));
  }

  /**
   * Starts listening.
   * @throws Error naming the address when it cannot be served (EADDRINUSE, EACCES...).
   */
  listen(): Promise<void> {
    const { host, port } = this.setup.at;
    return new Promise((resolve, reject) => {
      this.#server.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`listen-tls ${host}:${port}: ${err.code ?? err.message}`)));
      this.#server.listen({ host, port, backlog: 511 }, () => {
        const a = this.#server.address() as net.AddressInfo;
        this.address = { host: a.address, port: a.port };
        resolve();
      });
    });
  }

  /** Stops accepting; open connections go on (draining). */
  stopAccepting(): void {
    if (this.#server.listening) this.#server.close();
  }

  /** Stops accepting and ends every connection now. */
  close(): void {
    this.stopAccepting();
    for (const s of this.#conns) s.destroy();
    this.#conns.clear();
  }
}
