// A TypeScript consumer of the packed package: uses every public export, type-checked strict (no skipLibCheck).
// Usage (after tsc): node main.js BACKEND CERT.pem KEY.pem   — BACKEND is native or net; prints "consumer ok BACKEND".
import { strict as assert } from "node:assert";
import { openSync, writeFileSync, closeSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST,
  SO_SNDBUF, SO_RCVBUF, IPPROTO_TCP, TCP_NODELAY, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR, POLLNVAL, MSG_OOB, MSG_PEEK,
  SO_REUSEPORT, SO_OOBINLINE, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
  SocketError, ExitNow, EngineAbortError, strerror, Socket, NativeSocket, NativeDatagramSocket,
  ChannelMap, socketMap, callLater, callEvery, Dispatcher, DispatcherWithSend, FileWrapper, FileDispatcher,
  loop, poll, poll2, pollOnce, read, write, readwrite, closeAll, drain, TimerHandle, compactTraceback, configure, loopStats,
  AsyncChat, SimpleProducer, findPrefixAtEnd,
  SSLContext, createDefaultContext, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED,
  TLSVersion, Purpose, AlertDescription, SSLSocket, SSLError, SSLWantReadError, SSLWantWriteError, SSLEOFError,
  SSLZeroReturnError, SSLCertVerificationError, SSL_ERROR_SSL, SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE,
  SSL_ERROR_WANT_X509_LOOKUP, SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN, SSL_ERROR_WANT_CONNECT, SSL_ERROR_EOF,
  SSL_ERROR_INVALID_ERROR_CODE,
  type Address, type AddressOf, type InetAddress, type Inet6Address, type SocketErrorDetails, type BufferLimits,
  type BackendName, type FileLike, type LoopOptions, type Handlers, type TimerCallback, type TimerMap, type TimerOwner,
  type EngineOptions, type LoopStats, type Producer, type Terminator, type FifoEntry, type TLSVersionValue,
  type PurposeValue, type SNICallback, type CipherInfo, type WrapOptions, type PeerCertificate, type RDN,
  type SSLErrorDetails, type DrainOptions,
  serveOnCores, Cores, CoreWorker, type ServeOnCoresOptions, type CoreMode, type CoreSetup, type CoreContext,
  type WorkerStats, type CoresStats, type CoresTotal,
} from "wasyncore";
import * as chat from "wasyncore/chat";
import * as tlsEntry from "wasyncore/tls";
import * as sandbox from "wasyncore/sandbox";

const [backendArg, certFile, keyFile] = process.argv.slice(2);
if ((backendArg !== "native" && backendArg !== "net") || !certFile || !keyFile) {
  console.error("usage: node main.js native|net CERT.pem KEY.pem");
  process.exit(2);
}
const backend: BackendName = backendArg;
const engine: EngineOptions = { backend, sendWindow: 64 * 1024 };
configure(engine);
assert.equal(loopStats().backend, backend);

// Constants are numbers with Linux's values.
const numbers: number[] = [AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR,
  SO_KEEPALIVE, SO_BROADCAST, SO_REUSEPORT, SO_SNDBUF, SO_RCVBUF, IPPROTO_TCP, TCP_NODELAY, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR,
  POLLNVAL, MSG_OOB, MSG_PEEK, SO_OOBINLINE, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
  PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, SSL_ERROR_SSL, SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_X509_LOOKUP, SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN, SSL_ERROR_WANT_CONNECT,
  SSL_ERROR_EOF, SSL_ERROR_INVALID_ERROR_CODE];
assert.ok(numbers.every((n) => Number.isInteger(n)));
assert.deepEqual([AF_INET, AF_INET6, AF_UNIX], [2, 10, 1]);

// Addresses are typed by family.
const s4 = new Socket(AF_INET);
s4.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
s4.bind(["127.0.0.1", 0]);
const [host4, port4] = s4.getsockname();
const typedPort: number = port4;
const typedHost: string = host4;
assert.equal(typedHost, "127.0.0.1");
assert.ok(typedPort > 0);
const inet: InetAddress = s4.getsockname();
const generic: AddressOf<number> = inet;
s4.close();
const s6 = new Socket(AF_INET6);
const [h6, p6, flowinfo, scopeId]: Inet6Address = s6.getsockname();
assert.deepEqual([h6, p6 + flowinfo + scopeId], ["::", 0]);
s6.close();
const unixSock = new Socket(AF_UNIX);
const unixName: string = unixSock.getsockname();
assert.equal(unixName, "");
unixSock.close();
assert.equal(new Socket() instanceof NativeSocket, backend === "native");
const udpSock = new Socket(AF_INET, SOCK_DGRAM);
assert.equal(udpSock instanceof NativeDatagramSocket, backend === "native");
udpSock.close();
closeAll();

// Errors: code, errno (positive or undefined), syscall/address/port.
const details: SocketErrorDetails = { syscall: "connect", address: "127.0.0.1", port: 1 };
const refused = new SocketError("ECONNREFUSED", "connect(['127.0.0.1', 1])", details);
const errno: number | undefined = refused.errno;
assert.ok(errno !== undefined && errno > 0);
assert.equal(new SocketError("ENOTFOUND").errno, undefined);
assert.equal(strerror(111), "Connection refused");
assert.ok(new ExitNow() instanceof Error && new EngineAbortError("x") instanceof Error);
const [[, fn], type, value] = compactTraceback(new TypeError("boom"));
assert.deepEqual([typeof fn, type, value], ["string", "TypeError", "boom"]);

// An echo server (AsyncChat framing lines), a DispatcherWithSend client, timers, on a map of our own.
const map = new ChannelMap();
const events: string[] = [];

class LineEcho extends AsyncChat {
  #buf: Buffer[] = [];
  constructor(sock: Socket, m: ChannelMap) {
    super(sock, m);
    this.setTerminator("\n");
    const t: Terminator | undefined = this.getTerminator();
    assert.ok(Buffer.isBuffer(t));
  }
  override collectIncomingData(data: Buffer): void { this.#buf.push(data); }
  override foundTerminator(): void {
    const line = Buffer.concat(this.#buf).toString();
    this.#buf = [];
    const producer: Producer = new SimpleProducer(Buffer.from(`${line.toUpperCase()}\n`), 4);
    this.pushWithProducer(producer);
    if (line === "bye") this.closeWhenDone();
  }
}

class Server extends Dispatcher {
  constructor(m: ChannelMap) {
    super(null, m);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.setReuseAddr();
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
  }
  override handleAccepted(sock: Socket, addr: Address): void {
    events.push(`accepted ${typeof addr}`);
    new LineEcho(sock, map);
  }
}

class Client extends DispatcherWithSend {
  got = "";
  constructor(address: Address, m: ChannelMap) {
    super(null, m);
    this.createSocket(AF_INET);
    this.connect(address);
    this.send(Buffer.from("hello\nbye\n"));
  }
  override handleConnect(): void { events.push("connect"); }
  override handleRead(): void {
    this.got += this.recv(100).toString();
  }
  override handleClose(): void {
    events.push(`client got ${JSON.stringify(this.got)}`);
    this.close();
    server.close();
  }
}

const server = new Server(map);
const serverAddress = server.socket!.getsockname();
new Client(serverAddress, map);
const ticks: TimerHandle = map.callEvery(0.001, () => { if (events.length > 10) ticks.cancel(); });
const once: TimerCallback = (tag: string) => events.push(`timer ${tag}`);
map.callLater(0, once, "fired");
const options: LoopOptions = { map, timeout: 0.05, count: 2000 };
await loop(options);
ticks.cancel();
// (which of accept and connect a pass dispatches first depends on the backend)
assert.deepEqual(events.filter((e) => !e.startsWith("timer")).sort(), ["accepted object", 'client got "HELLO\\nBYE\\n"', "connect"]);
assert.ok(events.includes("timer fired"));
assert.equal(map.size, 0);

// The default map and the module-level timers; one-pass functions.
const h: TimerHandle = callLater(0, () => undefined);
const every = callEvery(10, () => undefined);
every.cancel();
assert.ok(h instanceof TimerHandle && socketMap instanceof ChannelMap);
const wait: number | null = pollOnce();
assert.ok(wait === null || wait >= 0);
await poll(0);
await poll2(0);
await loop({ timeout: 0.01 });
const timerMap: TimerMap = map;
const owner: TimerOwner = new Dispatcher(null, new ChannelMap());
assert.ok(typeof timerMap.handleTimerError === "function" && owner.isClosed() === false);
(owner as Dispatcher).close();

// read()/write()/readwrite() with any object that has the handlers.
const calls: string[] = [];
const obj: Handlers = {
  handleReadEvent: () => calls.push("read"), handleWriteEvent: () => calls.push("write"), handleExptEvent: () => calls.push("expt"),
  handleClose: () => calls.push("close"), handleError: () => calls.push("error"),
};
read(obj);
write(obj);
readwrite(obj, POLLIN | POLLOUT | POLLPRI);
assert.deepEqual(calls, ["read", "write", "read", "write", "expt"]);

// Files: a FileWrapper reads a regular file; a FileDispatcher dispatches it.
const path = join(tmpdir(), `wasyncore-consumer-${process.pid}.txt`);
writeFileSync(path, "file data");
const fd = openSync(path, "r");
const fileLike: FileLike = fd;
const wrapper = new FileWrapper(fileLike);
closeSync(fd);
assert.equal(wrapper.read(4).toString(), "file");
wrapper.close();
const fileMap = new ChannelMap();
let fileText = "";
class Reader extends FileDispatcher {
  override handleRead(): void { fileText += this.recv(100).toString(); }
  override handleClose(): void { this.close(); }
  override writable(): boolean { return false; }
}
new Reader(openSync(path, "r"), fileMap);
await loop({ map: fileMap, timeout: 0.05, count: 100 });
unlinkSync(path);
assert.equal(fileText, "file data");

// Chat helpers, also from wasyncore/chat.
assert.equal(findPrefixAtEnd(Buffer.from("abc\r"), Buffer.from("\r\n")), 1);
assert.equal(chat.AsyncChat, AsyncChat);
assert.equal(chat.SimpleProducer, SimpleProducer);
assert.equal(chat.findPrefixAtEnd, findPrefixAtEnd);
const fifo: FifoEntry[] = [Buffer.from("x"), null];
assert.equal(fifo.length, 2);

// TLS: a handshake and an echo over loopback, and the names of wasyncore/tls.
assert.equal(tlsEntry.SSLContext, SSLContext);
const serverCtx = new SSLContext(PROTOCOL_TLS_SERVER);
serverCtx.loadCertChain(certFile, keyFile);
const clientCtx = createDefaultContext(Purpose.SERVER_AUTH);
clientCtx.checkHostname = false;
clientCtx.verifyMode = CERT_NONE;
const minimum: TLSVersionValue = TLSVersion.TLSv1_2;
clientCtx.minimumVersion = minimum;
const purpose: PurposeValue = Purpose.CLIENT_AUTH;
const sni: SNICallback = () => (purpose === "CLIENT_AUTH" ? undefined : AlertDescription.ALERT_DESCRIPTION_ACCESS_DENIED);
serverCtx.sniCallback = sni;
const ciphers: CipherInfo[] = clientCtx.getCiphers();
assert.ok(ciphers.length > 0);
const tlsMap = new ChannelMap();
let tlsGot = "";
let peer: PeerCertificate | null = null;

class TlsEcho extends DispatcherWithSend {
  constructor(sock: Socket, m: ChannelMap) {
    super(serverCtx.wrapSocket(sock, { serverSide: true }), m);
  }
  override handleRead(): void {
    const d = this.recv(100);
    if (d.length > 0) this.send(d);
  }
  override handleClose(): void { this.close(); }
}
class TlsServer extends Dispatcher {
  constructor(m: ChannelMap) {
    super(null, m);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(["127.0.0.1", 0]);
    this.listen(5);
  }
  override handleAccepted(sock: Socket): void { new TlsEcho(sock, tlsMap); }
}
class TlsClient extends DispatcherWithSend {
  constructor(address: Address, m: ChannelMap) {
    super(null, m);
    const wrap: WrapOptions = { serverHostname: "localhost" };
    this.setSocket(clientCtx.wrapSocket(new Socket(AF_INET), wrap));
    this.connect(address);
    this.send(Buffer.from("over tls"));
  }
  override handleConnect(): void {
    const s = this.socket as SSLSocket;
    peer = s.getpeercert() as PeerCertificate | null;
  }
  override handleRead(): void {
    tlsGot += this.recv(100).toString();
    if (tlsGot === "over tls") { this.close(); tlsServer.close(); closeAll({ map: tlsMap }); }
  }
}
const sslTyped = clientCtx.wrapSocket(new Socket(AF_INET), { serverHostname: "localhost" });
const [sslHost, sslPort]: InetAddress = sslTyped.getsockname(); // SSLSocket<AF_INET> reports [host, port]
assert.deepEqual([sslHost, sslPort], ["0.0.0.0", 0]);
sslTyped.close();
const tlsServer = new TlsServer(tlsMap);
new TlsClient(tlsServer.socket!.getsockname(), tlsMap);
await loop({ map: tlsMap, timeout: 0.05, count: 4000 });
assert.equal(tlsGot, "over tls");
assert.deepEqual(peer, {}); // CERT_NONE: the certificate was not verified, so (as Python) an empty dict
const rdn: RDN = [["commonName", "x"]];
const sslDetails: SSLErrorDetails = { reason: "X", library: "SSL" };
const tlsErrors: SSLError[] = [new SSLError(SSL_ERROR_SSL, "x", sslDetails), new SSLWantReadError(), new SSLWantWriteError(),
  new SSLEOFError(), new SSLZeroReturnError(), new SSLCertVerificationError(18, "self-signed certificate")];
assert.ok(tlsErrors.every((e) => e instanceof SocketError) && rdn.length === 1);

// wasyncore/sandbox: its names resolve with their types; checkModule() refuses what is not a server module.
const endpoint: sandbox.Endpoint = sandbox.parseEndpoint("127.0.0.1:8080", "listen");
assert.deepEqual([endpoint.host, endpoint.port], ["127.0.0.1", 8080]);
assert.equal(new sandbox.Grants(["127.0.0.1:0"]).mayBind("127.0.0.1", 0), true);
assert.equal(typeof sandbox.WasmServer.start, "function");
assert.ok(new sandbox.WasmServerError("m.wasm", "x") instanceof Error);
const serverOptions: sandbox.ServerOptions = { listen: ["127.0.0.1:0"], memoryMb: 16, listenUdp: ["127.0.0.1:0"], allowUdp: ["127.0.0.1:53"] };
assert.equal(serverOptions.memoryMb, 16);
// datagram grants (ABI v3): bind under listenUdp, send to allowUdp; the counters a module's stats carry
const udpGrants = new sandbox.Grants([], [], ["127.0.0.1:0"], ["127.0.0.1:53"]);
assert.equal(udpGrants.mayBindUdp("127.0.0.1", 0) && udpGrants.maySendUdp("127.0.0.1", 53) && !udpGrants.maySendUdp("127.0.0.1", 54), true);
const dgramStats: sandbox.DatagramStats = { sockets: 0, queued: 0, queuedBytes: 0, sendQueued: 0, dropped: 0, sent: 0, received: 0, denied: 0 };
assert.ok(sandbox.ABI_VERSIONS.wasyncore_sock_v3.imports.includes("sock_sendto") && dgramStats.dropped === 0);
assert.ok(sandbox.DEFAULT_SOCKET_LIMITS.dgramQueue > 0);
const socketLimits: sandbox.SocketLimits = { ...sandbox.DEFAULT_SOCKET_LIMITS };
assert.ok(socketLimits.maxFds > 0 && sandbox.DEFAULT_LIMITS.memoryMb > 0 && sandbox.MAX_TABLE_ELEMENTS > 0);
const abi: sandbox.AbiVersion | undefined = sandbox.ABI_VERSIONS[sandbox.SOCK_NAMESPACE];
assert.ok(abi !== undefined && abi.imports.length > 0);
assert.ok(sandbox.SOCK_IMPORTS && sandbox.SERVER_EXPORTS && sandbox.WASIX_IMPORTS && sandbox.WASI_SHIM_IMPORTS);
assert.ok(sandbox.SERVER_EXPORTS_V2.includes("server_timeout"));
// a module with no imports and no exports speaks v1 (the frozen namespace)
assert.equal(sandbox.abiVersionOf(new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))), 1);
try {
  const shape: sandbox.ModuleShape = sandbox.checkModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), 16);
  assert.ok(shape);
} catch (err) {
  assert.ok(err instanceof sandbox.ModuleRefused, String(err));
}
const moduleStats = (s: sandbox.ModuleStats): number => s.rss;
const socketStats = (s: sandbox.SocketStats): number => s.fds;
assert.equal(typeof moduleStats === "function" && typeof socketStats === "function", true);

// drain(): a listening server stops accepting, the map empties.
const drainMap = new ChannelMap();
const listening = new Dispatcher(null, drainMap);
listening.createSocket(AF_INET);
listening.setReuseAddr();
if (backend === "native") listening.setReusePort(); // net needs Node >= 22.12 for it
listening.bind(["127.0.0.1", 0]);
listening.listen(5);
const drainOptions: DrainOptions = { map: drainMap, timeout: 5 };
const drained: boolean = await drain(drainOptions);
assert.equal(drained, true);
assert.equal(drainMap.size, 0);

// Several cores: the names and their types (serveOnCores forks this script, so it is not started here).
const mode: CoreMode = "process";
const setup: CoreSetup = (ctx: CoreContext) => { assert.ok(ctx.index < ctx.count); };
const coreOptions: ServeOnCoresOptions = { mode, address: ["127.0.0.1", 0] };
const sumWorkers = (s: CoresStats): number => s.workers.reduce((n: number, w: WorkerStats) => n + w.channels, 0);
const totalWorkers = (t: CoresTotal): number => t.workers;
assert.equal(typeof totalWorkers, "function");
assert.equal(typeof serveOnCores, "function");
assert.ok(typeof Cores === "function" && typeof CoreWorker === "function" && typeof setup === "function");
assert.equal(sumWorkers({ workers: [], total: { workers: 0 } } as unknown as CoresStats), 0);
assert.equal(coreOptions.mode, "process");

// Limits and stats.
const limits: BufferLimits = { sendWindow: 1 << 16, recvPause: 1 << 18 };
const d = new Dispatcher();
d.createSocket(AF_INET);
d.setBufferLimits(limits);
d.close();
const stats: LoopStats = loopStats();
assert.equal(stats.backend, backend);
assert.equal(typeof generic, "object");
console.log(`consumer ok ${backend}`);
