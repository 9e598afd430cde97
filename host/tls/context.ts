// SSLContext: Python's ssl.SSLContext over Node's own OpenSSL (tls.createSecureContext).
//
// Settings are checked where they are made (a missing file, a key that does not match its
// certificate, an unknown cipher string throw at that call, naming it); the tls.SecureContext
// they describe is built on first use and again after any change, so loadCertChain() rotates
// the certificate for connections wrapped from then on while open ones keep theirs.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import { SocketError } from "../core/errors.js";
import { describe } from "../core/address.js";
import { SSLError, SSL_ERROR_SSL, opensslDetails } from "./errors.js";
import { SSLSocket, type WrapOptions } from "./socket.js";
import type { Socket } from "../socket/socket.js";

/** Python: ssl.PROTOCOL_TLS_CLIENT */
export const PROTOCOL_TLS_CLIENT = 16;
/** Python: ssl.PROTOCOL_TLS_SERVER */
export const PROTOCOL_TLS_SERVER = 17;
/** Python: ssl.CERT_NONE */
export const CERT_NONE = 0;
/** Python: ssl.CERT_OPTIONAL */
export const CERT_OPTIONAL = 1;
/** Python: ssl.CERT_REQUIRED */
export const CERT_REQUIRED = 2;

/** TLS protocol versions for minimumVersion/maximumVersion. Python: ssl.TLSVersion */
export const TLSVersion = Object.freeze({
  /** The lowest version Node's OpenSSL supports. */
  MINIMUM_SUPPORTED: -2,
  /** The highest version Node's OpenSSL supports. */
  MAXIMUM_SUPPORTED: -1,
  /** SSL 3.0 (refused: Node's OpenSSL has none). */
  SSLv3: 0x300,
  /** TLS 1.0. */
  TLSv1: 0x301,
  /** TLS 1.1. */
  TLSv1_1: 0x302,
  /** TLS 1.2 (the default minimum). */
  TLSv1_2: 0x303,
  /** TLS 1.3. */
  TLSv1_3: 0x304,
});
/** A TLSVersion value. */
export type TLSVersionValue = (typeof TLSVersion)[keyof typeof TLSVersion];

/** What a default context is for. Python: ssl.Purpose */
export const Purpose = Object.freeze({
  /** A context for a client, which authenticates servers. */
  SERVER_AUTH: "SERVER_AUTH",
  /** A context for a server, which may authenticate clients. */
  CLIENT_AUTH: "CLIENT_AUTH",
} as const);
/** A Purpose value. */
export type PurposeValue = (typeof Purpose)[keyof typeof Purpose];

/** TLS alerts an sniCallback may return to refuse a handshake. Python: ssl.AlertDescription */
export const AlertDescription = Object.freeze({
  /** handshake_failure (40). */
  ALERT_DESCRIPTION_HANDSHAKE_FAILURE: 40,
  /** access_denied (49). */
  ALERT_DESCRIPTION_ACCESS_DENIED: 49,
  /** internal_error (80). */
  ALERT_DESCRIPTION_INTERNAL_ERROR: 80,
  /** unrecognized_name (112). */
  ALERT_DESCRIPTION_UNRECOGNIZED_NAME: 112,
});

/** One entry of SSLContext.getCiphers(). */
export interface CipherInfo {
  /** OpenSSL's cipher name, upper-case, e.g. 'TLS_AES_256_GCM_SHA384'. */
  name: string;
  /** The protocol it belongs to: 'TLSv1.3' or 'TLSv1.2'. */
  protocol: string;
}

/** Python's sni_callback(ssl_socket, server_name, ssl_context): undefined/null to go on, an alert number to refuse. */
export type SNICallback = (sock: SSLSocket, serverName: string, ctx: SSLContext) => number | null | undefined | void;

const NODE_VERSION: Record<number, tls.SecureVersion> = { 0x301: "TLSv1", 0x302: "TLSv1.1", 0x303: "TLSv1.2", 0x304: "TLSv1.3" };

function readFile(path: unknown, what: string): Buffer {
  if (typeof path !== "string" || path === "") throw new TypeError(`${what} must be a file path (string), got ${describe(path)}`);
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new SocketError(code, `${what} '${path}': ${(err as Error).message.replace(/^[A-Z]+: /, "")}`);
  }
}

/** An SSLError for a Node crypto error, with what was being loaded in its text. */
function loadError(err: unknown, what: string): SSLError {
  const details = opensslDetails(err as Error);
  const words = details.reason !== null ? details.reason.toLowerCase().replace(/_/g, " ") : String((err as Error).message);
  return new SSLError(SSL_ERROR_SSL, `${words} (${what})`, details);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in `data` (PEM text, or one DER certificate); throws naming `what` when there are none. */
function certificates(data: Buffer | string, what: string): string[] {
  const text = typeof data === "string" ? data : data.toString("latin1");
  const pems = text.match(PEM_CERT);
  try {
    if (pems !== null) {
      for (const p of pems) new X509Certificate(p); // each must parse
      return pems;
    }
    if (typeof data !== "string") return [new X509Certificate(data).toString()];
  } catch (err) {
    throw loadError(err, what);
  }
  throw new SSLError(SSL_ERROR_SSL, `no certificate found (${what})`, { reason: "NO_CERTIFICATE_OR_CRL_FOUND", library: "X509" });
}

/** Settings shared by the sockets it wraps: certificates, trust, versions, ALPN. Python: ssl.SSLContext */
export class SSLContext {
  /** PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER. Python: SSLContext.protocol */
  readonly protocol: number;
  #verifyMode: number;
  #checkHostname: boolean;
  #minimum: number = TLSVersion.TLSv1_2; // secure default: TLS 1.2 and up
  #maximum: number = TLSVersion.MAXIMUM_SUPPORTED;
  #cert: Buffer | null = null;
  #key: Buffer | null = null;
  #passphrase: string | undefined = undefined;
  #ca: string[] = [];
  #ciphers: string | undefined = undefined;
  #alpn: string[] | null = null;
  #secure: tls.SecureContext | null = null;
  /** Called with (sslSocket, serverName, ctx) when a client names a server (SNI). Python: SSLContext.sni_callback */
  sniCallback: SNICallback | null = null;

  /**
   * Python: ssl.SSLContext(protocol) — PROTOCOL_TLS_CLIENT verifies the server and its name by default.
   * @throws RangeError when protocol is not PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER.
   */
  constructor(protocol: number = PROTOCOL_TLS_CLIENT) {
    if (protocol !== PROTOCOL_TLS_CLIENT && protocol !== PROTOCOL_TLS_SERVER) {
      throw new RangeError(`SSLContext: protocol must be PROTOCOL_TLS_CLIENT (16) or PROTOCOL_TLS_SERVER (17), got ${describe(protocol)}`);
    }
    this.protocol = protocol;
    const client = protocol === PROTOCOL_TLS_CLIENT;
    this.#verifyMode = client ? CERT_REQUIRED : CERT_NONE;
    this.#checkHostname = client;
  }

  /** CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED. Python: SSLContext.verify_mode */
  get verifyMode(): number { return this.#verifyMode; }
  /**
   * Sets whether and how peers' certificates are verified.
   * @throws RangeError for another value, or CERT_NONE while checkHostname is on.
   */
  set verifyMode(v: number) {
    if (v !== CERT_NONE && v !== CERT_OPTIONAL && v !== CERT_REQUIRED) throw new RangeError(`verifyMode must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, got ${describe(v)}`);
    if (v === CERT_NONE && this.#checkHostname) throw new RangeError("verifyMode: cannot set CERT_NONE while checkHostname is enabled");
    this.#verifyMode = v;
  }

  /** Does a client check the server's name against its certificate? Python: SSLContext.check_hostname */
  get checkHostname(): boolean { return this.#checkHostname; }
  /**
   * Sets whether a client checks the server's name against its certificate (true also sets CERT_REQUIRED, as Python).
   * @throws TypeError when v is not a boolean.
   */
  set checkHostname(v: boolean) {
    if (typeof v !== "boolean") throw new TypeError(`checkHostname must be a boolean, got ${describe(v)}`);
    if (v && this.#verifyMode === CERT_NONE) this.#verifyMode = CERT_REQUIRED; // as Python 3.7+
    this.#checkHostname = v;
  }

  /** The lowest TLS version allowed (default TLSv1_2). Python: SSLContext.minimum_version */
  get minimumVersion(): number { return this.#minimum; }
  /**
   * Sets the lowest TLS version allowed (a TLSVersion value).
   * @throws RangeError for a value that is not a TLSVersion, or SSLv3.
   */
  set minimumVersion(v: number) { this.#minimum = this.#version(v, "minimumVersion"); this.#changed(); }

  /** The highest TLS version allowed (default MAXIMUM_SUPPORTED). Python: SSLContext.maximum_version */
  get maximumVersion(): number { return this.#maximum; }
  /**
   * Sets the highest TLS version allowed (a TLSVersion value).
   * @throws RangeError for a value that is not a TLSVersion, or SSLv3.
   */
  set maximumVersion(v: number) { this.#maximum = this.#version(v, "maximumVersion"); this.#changed(); }

  #version(v: unknown, what: string): number {
    if (typeof v !== "number" || !(Object.values(TLSVersion) as number[]).includes(v)) throw new RangeError(`${what} must be a TLSVersion, got ${describe(v)}`);
    if (v === TLSVersion.SSLv3) throw new RangeError(`${what}: SSLv3 is not supported by Node's OpenSSL`);
    return v;
  }

  /**
   * Loads this side's certificate chain and private key (PEM files; the key may sit in `certfile`).
   * Throws at once, naming the file, when a file is missing or the key does not match; sockets
   * wrapped from now on use the new pair. Python: SSLContext.load_cert_chain
   * @throws SocketError (ENOENT, EACCES...) when a file cannot be read, naming it.
   * @throws SSLError when a file holds no certificate, the key is bad or encrypted without the right
   *   password, or does not match the certificate (reason and library as Python's, the files named).
   * @throws TypeError when a path or the password has the wrong type.
   */
  loadCertChain(certfile: string, keyfile?: string | null, password?: string | Uint8Array | (() => string | Uint8Array) | null): void {
    const cert = readFile(certfile, "loadCertChain(): certfile");
    const key = keyfile === undefined || keyfile === null ? cert : readFile(keyfile, "loadCertChain(): keyfile");
    let pass: string | undefined;
    if (typeof password === "function") password = password();
    if (typeof password === "string") pass = password;
    else if (password instanceof Uint8Array) pass = Buffer.from(password).toString("utf8");
    else if (password !== undefined && password !== null) throw new TypeError(`loadCertChain(): password must be a string, bytes or a function returning one, got ${describe(password)}`);
    certificates(cert, `loadCertChain(): certfile '${certfile}'`);
    try {
      tls.createSecureContext({ cert, key, passphrase: pass }); // checks the key and that it matches
    } catch (err) {
      throw loadError(err, `loadCertChain(): certfile '${certfile}', keyfile '${keyfile ?? certfile}'`);
    }
    this.#cert = cert;
    this.#key = key;
    this.#passphrase = pass;
    this.#changed();
  }

  /**
   * Adds trusted CA certificates: a PEM file, a directory of them, and/or PEM text or DER bytes.
   * Python: SSLContext.load_verify_locations
   * @throws TypeError when all three are omitted, or cadata is neither text nor bytes.
   * @throws SocketError when cafile or capath cannot be read, naming it.
   * @throws SSLError when a file or cadata holds no certificate or a bad one, naming it.
   */
  loadVerifyLocations(cafile?: string | null, capath?: string | null, cadata?: string | Uint8Array | null): void {
    if ((cafile ?? null) === null && (capath ?? null) === null && (cadata ?? null) === null) {
      throw new TypeError("loadVerifyLocations(): cafile, capath and cadata cannot be all omitted");
    }
    const add: string[] = [];
    if (cafile !== undefined && cafile !== null) add.push(...certificates(readFile(cafile, "loadVerifyLocations(): cafile"), `cafile '${cafile}'`));
    if (capath !== undefined && capath !== null) {
      let names: string[];
      try {
        names = readdirSync(capath);
      } catch (err) {
        throw new SocketError((err as NodeJS.ErrnoException).code ?? "EIO", `loadVerifyLocations(): capath '${capath}'`);
      }
      for (const name of names) {
        const path = join(capath, name);
        if (!statSync(path).isFile()) continue;
        const text = readFileSync(path, "latin1");
        if (text.includes("-----BEGIN CERTIFICATE-----")) add.push(...certificates(text, `capath file '${path}'`));
      }
    }
    if (cadata !== undefined && cadata !== null) {
      if (typeof cadata !== "string" && !(cadata instanceof Uint8Array)) throw new TypeError(`loadVerifyLocations(): cadata must be PEM text or DER bytes, got ${describe(cadata)}`);
      add.push(...certificates(typeof cadata === "string" ? cadata : Buffer.from(cadata), "cadata"));
    }
    this.#ca.push(...add);
    this.#changed();
  }

  /**
   * Trusts Node's bundled root CAs (Mozilla's list). Python: SSLContext.load_default_certs
   * @throws RangeError when purpose is not a Purpose value.
   */
  loadDefaultCerts(purpose: PurposeValue = Purpose.SERVER_AUTH): void {
    if (purpose !== Purpose.SERVER_AUTH && purpose !== Purpose.CLIENT_AUTH) throw new RangeError(`loadDefaultCerts(): purpose must be Purpose.SERVER_AUTH or Purpose.CLIENT_AUTH, got ${describe(purpose)}`);
    this.#ca.push(...tls.rootCertificates);
    this.#changed();
  }

  /**
   * The protocols offered (client) or accepted (server) by ALPN, in preference order. Python: SSLContext.set_alpn_protocols
   * @throws TypeError when protocols is not an array.
   * @throws RangeError when a protocol is not a string of 1..255 bytes.
   */
  setAlpnProtocols(protocols: readonly string[]): void {
    if (!Array.isArray(protocols)) throw new TypeError(`setAlpnProtocols(): protocols must be an array of strings, got ${describe(protocols)}`);
    for (const p of protocols) {
      if (typeof p !== "string" || p.length === 0 || Buffer.byteLength(p) > 255) throw new RangeError(`setAlpnProtocols(): each protocol must be a string of 1..255 bytes, got ${describe(p)}`);
    }
    this.#alpn = protocols.length > 0 ? [...protocols] : null;
  }

  /**
   * The cipher suites for TLS 1.2 and below, in OpenSSL's cipher-list format. Python: SSLContext.set_ciphers
   * @throws TypeError when ciphers is not a string.
   * @throws SSLError "No cipher can be selected" when OpenSSL accepts none of them.
   */
  setCiphers(ciphers: string): void {
    if (typeof ciphers !== "string") throw new TypeError(`setCiphers(): ciphers must be a string, got ${describe(ciphers)}`);
    try {
      tls.createSecureContext({ ciphers });
    } catch (err) {
      throw new SSLError(SSL_ERROR_SSL, `No cipher can be selected (setCiphers(): '${ciphers}')`, opensslDetails(err as Error));
    }
    this.#ciphers = ciphers;
    this.#changed();
  }

  /** The enabled ciphers, as Python's get_ciphers() lists them (name and protocol). */
  getCiphers(): CipherInfo[] {
    return tls.getCiphers().map((name) => ({ name: name.toUpperCase(), protocol: name.startsWith("tls_") ? "TLSv1.3" : "TLSv1.2" }));
  }

  /**
   * Wraps a stream socket (connected or not, listening or not) in TLS; the result keeps its fileno().
   * Python: SSLContext.wrap_socket(sock, server_side, do_handshake_on_connect, suppress_ragged_eofs, server_hostname)
   * @throws TypeError when sock is not a stream Socket (or already an SSLSocket), or an option is unknown or mistyped.
   * @throws RangeError when the side does not fit the context (a server socket from a client context, or one
   *   without a certificate; a client without serverHostname while checkHostname is on).
   * @throws SocketError EBADF when sock is closed.
   * @throws SSLError when a client context's settings cannot make a Node secure context.
   */
  wrapSocket<F extends number>(sock: Socket<F>, options: WrapOptions = {}): SSLSocket<F> {
    return new SSLSocket(sock, this, options);
  }

  #changed(): void {
    this.#secure = null;
  }

  /** @internal The Node secure context these settings describe (built once per change). */
  secureContext(): tls.SecureContext {
    if (this.#secure !== null) return this.#secure;
    const opts: tls.SecureContextOptions = {
      minVersion: this.#minimum > 0 ? NODE_VERSION[this.#minimum] : "TLSv1",
      maxVersion: this.#maximum > 0 ? NODE_VERSION[this.#maximum] : "TLSv1.3",
    };
    if (this.#cert !== null) { opts.cert = this.#cert; opts.key = this.#key!; opts.passphrase = this.#passphrase; }
    if (this.#ca.length > 0) opts.ca = this.#ca;
    if (this.#ciphers !== undefined) opts.ciphers = this.#ciphers;
    if (this.protocol === PROTOCOL_TLS_SERVER) opts.sessionIdContext = "wasyncore";
    try {
      this.#secure = tls.createSecureContext(opts);
    } catch (err) {
      throw loadError(err, "SSLContext settings");
    }
    return this.#secure;
  }

  /** @internal The ALPN list, or null. */
  get alpnProtocols(): string[] | null { return this.#alpn; }
  /** @internal Has a certificate been loaded? */
  get hasCertificate(): boolean { return this.#cert !== null; }
}

/**
 * A context with Python's secure defaults: SERVER_AUTH gives a client context that verifies
 * servers against cafile/capath/cadata, or Node's bundled root CAs when none is given; CLIENT_AUTH
 * gives a server context. Python: ssl.create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile, capath, cadata)
 * @throws RangeError when purpose is not a Purpose value.
 * @throws SocketError or SSLError as loadVerifyLocations() does.
 */
export function createDefaultContext(purpose: PurposeValue = Purpose.SERVER_AUTH, { cafile, capath, cadata }: { cafile?: string; capath?: string; cadata?: string | Uint8Array } = {}): SSLContext {
  if (purpose !== Purpose.SERVER_AUTH && purpose !== Purpose.CLIENT_AUTH) throw new RangeError(`createDefaultContext(): purpose must be Purpose.SERVER_AUTH or Purpose.CLIENT_AUTH, got ${describe(purpose)}`);
  const ctx = new SSLContext(purpose === Purpose.SERVER_AUTH ? PROTOCOL_TLS_CLIENT : PROTOCOL_TLS_SERVER);
  if (cafile !== undefined || capath !== undefined || cadata !== undefined) ctx.loadVerifyLocations(cafile, capath, cadata);
  else if (ctx.verifyMode !== CERT_NONE) ctx.loadDefaultCerts(purpose);
  return ctx;
}
