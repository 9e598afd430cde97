// TLS errors with Python's ssl names and numbers: SSLError.errno is an SSL_ERROR_* number, code its name.
import { SocketError } from "../core/errors.js";

/** Python: ssl.SSL_ERROR_SSL */
export const SSL_ERROR_SSL = 1;
/** Python: ssl.SSL_ERROR_WANT_READ */
export const SSL_ERROR_WANT_READ = 2;
/** Python: ssl.SSL_ERROR_WANT_WRITE */
export const SSL_ERROR_WANT_WRITE = 3;
/** Python: ssl.SSL_ERROR_WANT_X509_LOOKUP */
export const SSL_ERROR_WANT_X509_LOOKUP = 4;
/** Python: ssl.SSL_ERROR_SYSCALL */
export const SSL_ERROR_SYSCALL = 5;
/** Python: ssl.SSL_ERROR_ZERO_RETURN */
export const SSL_ERROR_ZERO_RETURN = 6;
/** Python: ssl.SSL_ERROR_WANT_CONNECT */
export const SSL_ERROR_WANT_CONNECT = 7;
/** Python: ssl.SSL_ERROR_EOF */
export const SSL_ERROR_EOF = 8;
/** Python: ssl.SSL_ERROR_INVALID_ERROR_CODE */
export const SSL_ERROR_INVALID_ERROR_CODE = 10;

const NAMES: Record<number, string> = {
  1: "SSL_ERROR_SSL", 2: "SSL_ERROR_WANT_READ", 3: "SSL_ERROR_WANT_WRITE", 4: "SSL_ERROR_WANT_X509_LOOKUP",
  5: "SSL_ERROR_SYSCALL", 6: "SSL_ERROR_ZERO_RETURN", 7: "SSL_ERROR_WANT_CONNECT", 8: "SSL_ERROR_EOF",
  10: "SSL_ERROR_INVALID_ERROR_CODE",
};

/** Where an SSLError came from (Python: SSLError.reason and SSLError.library). */
export interface SSLErrorDetails {
  /** OpenSSL's reason mnemonic, e.g. 'WRONG_VERSION_NUMBER' (null when none). */
  reason?: string | null;
  /** OpenSSL's library mnemonic, e.g. 'SSL' (null when none). */
  library?: string | null;
}

/** A TLS failure. Python: ssl.SSLError (a subclass of OSError; here of SocketError). */
export class SSLError extends SocketError {
  /** Python's SSL_ERROR_* number (always set on a TLS error). Python: SSLError.errno */
  declare readonly errno: number;
  /** OpenSSL's reason mnemonic, e.g. 'WRONG_VERSION_NUMBER'. Python: SSLError.reason */
  readonly reason: string | null;
  /** OpenSSL's library mnemonic, e.g. 'SSL'. Python: SSLError.library */
  readonly library: string | null;

  /** `errno` is an SSL_ERROR_* number; the message reads like Python's: `[SSL: REASON] text`. */
  constructor(errno: number = SSL_ERROR_SSL, text = "", { reason = null, library = null }: SSLErrorDetails = {}) {
    const code = NAMES[errno] ?? "SSL_ERROR_SSL";
    super(code, text);
    this.name = new.target.name;
    // SocketError took errno from the POSIX table; an SSLError carries Python's SSL_ERROR_* number.
    (this as { errno: number }).errno = errno;
    this.reason = reason;
    this.library = library;
    this.message = reason !== null ? `[${library ?? "SSL"}: ${reason}] ${text}` : text || code;
  }
}

/** The handshake or a read needs more bytes from the peer. Python: ssl.SSLWantReadError */
export class SSLWantReadError extends SSLError {
  constructor(text = "The operation did not complete (read)") { super(SSL_ERROR_WANT_READ, text); }
}

/** The handshake or a write waits for room to send. Python: ssl.SSLWantWriteError */
export class SSLWantWriteError extends SSLError {
  constructor(text = "The operation did not complete (write)") { super(SSL_ERROR_WANT_WRITE, text); }
}

/** The connection closed without a TLS close_notify where one was required. Python: ssl.SSLEOFError */
export class SSLEOFError extends SSLError {
  constructor(text = "EOF occurred in violation of protocol") { super(SSL_ERROR_EOF, text); }
}

/** The peer closed the TLS layer (close_notify). Python: ssl.SSLZeroReturnError */
export class SSLZeroReturnError extends SSLError {
  constructor(text = "TLS/SSL connection has been closed (EOF)") { super(SSL_ERROR_ZERO_RETURN, text); }
}

/** The peer's certificate failed verification. Python: ssl.SSLCertVerificationError */
export class SSLCertVerificationError extends SSLError {
  /** OpenSSL's X509_V_ERR_* number (62 for a host name mismatch). Python: verify_code */
  readonly verifyCode: number;
  /** What failed, e.g. 'self-signed certificate'. Python: verify_message */
  readonly verifyMessage: string;
  constructor(verifyCode: number, verifyMessage: string) {
    super(SSL_ERROR_SSL, `certificate verify failed: ${verifyMessage}`, { reason: "CERTIFICATE_VERIFY_FAILED", library: "SSL" });
    this.verifyCode = verifyCode;
    this.verifyMessage = verifyMessage;
  }
}

// OpenSSL's X509_V_ERR_* numbers for the codes Node reports (x509_vfy.h).
const VERIFY_CODES: Record<string, number> = {
  UNABLE_TO_GET_ISSUER_CERT: 2, UNABLE_TO_GET_CRL: 3, UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6, CERT_SIGNATURE_FAILURE: 7, CERT_NOT_YET_VALID: 9, CERT_HAS_EXPIRED: 10,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 13, ERROR_IN_CERT_NOT_AFTER_FIELD: 14, OUT_OF_MEM: 17,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18, SELF_SIGNED_CERT_IN_CHAIN: 19, UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21, CERT_CHAIN_TOO_LONG: 22, CERT_REVOKED: 23, INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25, INVALID_PURPOSE: 26, CERT_UNTRUSTED: 27, CERT_REJECTED: 28, HOSTNAME_MISMATCH: 62,
};

const LIBRARIES: Record<string, string> = {
  "SSL routines": "SSL", "x509 certificate routines": "X509", "PEM routines": "PEM", "asn1 encoding routines": "ASN1",
  "digital envelope routines": "EVP", "DECODER routines": "DECODER", "rsa routines": "RSA", "system library": "SYS",
};

interface NodeTlsError extends Error { code?: string; library?: string; reason?: string; }

/** OpenSSL's library and reason for a Node crypto/TLS error (from err.library and err.code). */
export function opensslDetails(err: NodeTlsError): Required<SSLErrorDetails> {
  const code = typeof err.code === "string" ? err.code : "";
  const library = err.library !== undefined ? LIBRARIES[err.library] ?? err.library.toUpperCase() : null;
  let reason: string | null = null;
  const m = /^ERR_(?:SSL|OSSL)_(?:(?:X509|PEM|ASN1|EVP|RSA|DECODER)_)?(.+)$/.exec(code);
  if (m !== null) reason = m[1];
  else if (typeof err.reason === "string") reason = err.reason.toUpperCase().replace(/ /g, "_");
  return { reason, library };
}

/** Python's SSLError (or subclass) for an error Node's TLS layer reported. */
export function sslErrorFrom(err: unknown, hostname?: string | null): SSLError {
  if (err instanceof SSLError) return err;
  const e = (err instanceof Error ? err : new Error(String(err))) as NodeTlsError;
  const code = typeof e.code === "string" ? e.code : "";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new SSLCertVerificationError(62, `Hostname mismatch, certificate is not valid for '${hostname ?? ""}'.`);
  }
  const verify = VERIFY_CODES[code];
  if (verify !== undefined) return new SSLCertVerificationError(verify, e.message);
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") return new SSLEOFError();
  const { reason, library } = opensslDetails(e);
  // OpenSSL's own text ("...:SSL routines:ssl3_get_record:wrong version number:...") reads best as its reason's words.
  const text = reason !== null ? reason.toLowerCase().replace(/_/g, " ") : e.message;
  return new SSLError(SSL_ERROR_SSL, text, { reason, library });
}
