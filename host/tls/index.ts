// wasyncore/tls: Python's ssl module for asyncore programs, camelCased, over Node's OpenSSL.
export {
  SSLContext, createDefaultContext, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED,
  TLSVersion, Purpose, AlertDescription, type TLSVersionValue, type PurposeValue, type SNICallback, type CipherInfo,
} from "./context.js";
export { SSLSocket, type WrapOptions } from "./socket.js";
export type { PeerCertificate, RDN } from "./cert.js";
export {
  SSLError, SSLWantReadError, SSLWantWriteError, SSLEOFError, SSLZeroReturnError, SSLCertVerificationError,
  SSL_ERROR_SSL, SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_X509_LOOKUP, SSL_ERROR_SYSCALL,
  SSL_ERROR_ZERO_RETURN, SSL_ERROR_WANT_CONNECT, SSL_ERROR_EOF, SSL_ERROR_INVALID_ERROR_CODE, type SSLErrorDetails,
} from "./errors.js";
