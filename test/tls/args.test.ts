// Bad arguments throw at the call, naming the file or option; the errors carry Python's numbers and names.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  Socket, SocketError, AF_INET, SOCK_DGRAM,
  SSLContext, SSLError, SSLWantReadError, SSLWantWriteError, SSLEOFError, SSLZeroReturnError, SSLCertVerificationError,
  PROTOCOL_TLS_SERVER, PROTOCOL_TLS_CLIENT, CERT_NONE, CERT_REQUIRED, TLSVersion, Purpose, createDefaultContext,
} from "../../host/index.js";
import * as tlsEntry from "../../host/tls/index.js";
import { makePki, type Pki } from "./helpers.js";

let pki: Pki;
beforeAll(() => { pki = makePki(); });
afterAll(() => pki.cleanup());

describe("TLS arguments and errors", () => {
  it("loadCertChain: a missing file, a key that does not match, a wrong password throw naming the file", () => {
    const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
    const missing = `${pki.dir}/nope.pem`;
    expect(() => ctx.loadCertChain(missing, pki.serverKey)).toThrow(SocketError);
    expect(() => ctx.loadCertChain(missing, pki.serverKey)).toThrow(`loadCertChain(): certfile '${missing}'`);
    try { ctx.loadCertChain(missing); } catch (err) { expect((err as SocketError).code).toBe("ENOENT"); }
    let mismatch: SSLError | undefined;
    try { ctx.loadCertChain(pki.serverCert, pki.otherKey); } catch (err) { mismatch = err as SSLError; }
    expect(mismatch).toBeInstanceOf(SSLError);
    expect(mismatch!.reason).toBe("KEY_VALUES_MISMATCH");
    expect(mismatch!.library).toBe("X509");
    expect(mismatch!.message).toContain(pki.otherKey);
    expect(() => ctx.loadCertChain(pki.serverCert, pki.serverKeyEncrypted, "wrong")).toThrow(SSLError);
    expect(() => ctx.loadCertChain(pki.serverCert, pki.serverKeyEncrypted, () => "somepass")).not.toThrow();
    expect(() => ctx.loadCertChain(pki.caCert.replace("ca.pem", "ca.key"))).toThrow(/NO_START_LINE.*certfile .*ca\.key/);
  });

  it("context settings: protocol, verifyMode, versions, ciphers, ALPN, verify locations", () => {
    expect(() => new SSLContext(99)).toThrow(RangeError);
    const client = new SSLContext(PROTOCOL_TLS_CLIENT);
    expect([client.verifyMode, client.checkHostname, client.minimumVersion]).toEqual([CERT_REQUIRED, true, TLSVersion.TLSv1_2]);
    expect(() => { client.verifyMode = CERT_NONE; }).toThrow(/checkHostname/);
    client.checkHostname = false;
    client.verifyMode = CERT_NONE;
    client.checkHostname = true; // as Python: turns verification back on
    expect(client.verifyMode).toBe(CERT_REQUIRED);
    expect(() => { client.minimumVersion = 5; }).toThrow("minimumVersion must be a TLSVersion, got 5");
    expect(() => client.setCiphers("NO-SUCH-CIPHER")).toThrow(/No cipher can be selected.*NO-SUCH-CIPHER/);
    expect(() => client.setAlpnProtocols([""])).toThrow(RangeError);
    expect(() => client.loadVerifyLocations()).toThrow("cafile, capath and cadata cannot be all omitted");
    expect(() => client.loadVerifyLocations(`${pki.dir}/missing-ca.pem`)).toThrow(/cafile '.*missing-ca\.pem'/);
    client.loadVerifyLocations(null, pki.dir); // a directory of PEM files
    const server = createDefaultContext(Purpose.CLIENT_AUTH);
    expect([server.protocol, server.verifyMode, server.checkHostname]).toEqual([PROTOCOL_TLS_SERVER, CERT_NONE, false]);
  });

  it("wrapSocket: unknown options, the wrong side, a missing name, a closed or datagram socket", () => {
    const client = new SSLContext(PROTOCOL_TLS_CLIENT);
    const server = new SSLContext(PROTOCOL_TLS_SERVER);
    const sock = new Socket(AF_INET);
    expect(() => client.wrapSocket(sock, { serverHostname: "x", handshake: true } as never)).toThrow("wrapSocket(): unknown option 'handshake'");
    expect(() => client.wrapSocket(sock, { serverSide: true })).toThrow(/server socket with a PROTOCOL_TLS_CLIENT context/);
    expect(() => server.wrapSocket(sock)).toThrow(/client socket with a PROTOCOL_TLS_SERVER context/);
    expect(() => client.wrapSocket(sock)).toThrow("wrapSocket(): checkHostname requires serverHostname");
    expect(() => server.wrapSocket(sock, { serverSide: true })).toThrow(/loadCertChain/);
    expect(() => client.wrapSocket(sock, { serverHostname: "x", doHandshakeOnConnect: 1 } as never)).toThrow("doHandshakeOnConnect must be a boolean, got 1");
    const dgram = new Socket(AF_INET, SOCK_DGRAM);
    expect(() => client.wrapSocket(dgram, { serverHostname: "x" })).toThrow(TypeError);
    dgram.close();
    const ssl = client.wrapSocket(sock, { serverHostname: "localhost" });
    expect(ssl.fileno()).toBe(sock.fileno());
    expect(() => client.wrapSocket(ssl, { serverHostname: "x" })).toThrow("already an SSLSocket");
    expect(() => ssl.getpeercert()).toThrow("handshake not done yet");
    expect([ssl.version(), ssl.cipher(), ssl.selectedAlpnProtocol(), ssl.pending()]).toEqual([null, null, null, 0]);
    ssl.close();
    expect(sock.closed).toBe(true);
    expect(ssl.fileno()).toBe(-1);
    expect(() => ssl.send(Buffer.from("x"))).toThrow(SocketError);
    expect(() => client.wrapSocket(sock, { serverHostname: "x" })).toThrow("wrapSocket() on a closed socket");
  });

  it("errors: Python's SSL_ERROR_* numbers and names, subclasses of SocketError", () => {
    const cases: [SSLError, number, string][] = [
      [new SSLWantReadError(), 2, "SSL_ERROR_WANT_READ"], [new SSLWantWriteError(), 3, "SSL_ERROR_WANT_WRITE"],
      [new SSLZeroReturnError(), 6, "SSL_ERROR_ZERO_RETURN"], [new SSLEOFError(), 8, "SSL_ERROR_EOF"],
      [new SSLCertVerificationError(18, "self-signed certificate"), 1, "SSL_ERROR_SSL"],
    ];
    for (const [err, errno, code] of cases) {
      expect(err).toBeInstanceOf(SSLError);
      expect(err).toBeInstanceOf(SocketError);
      expect([err.errno, err.code]).toEqual([errno, code]);
    }
    expect(cases[4][0].message).toBe("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate");
    expect(tlsEntry.SSLContext).toBe(SSLContext); // wasyncore/tls exports the same classes
  });
});
