// wasyncore: Python's asyncore on Node, with a WebAssembly core.
export { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, IPPROTO_TCP, TCP_NODELAY, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR, POLLNVAL } from "./core/constants.js";
export { SocketError, ExitNow, EngineAbortError, strerror } from "./core/errors.js";
export type { Address, AddressOf, InetAddress, Inet6Address } from "./core/address.js";
export type { SocketErrorDetails } from "./core/errors.js";
export type { BufferLimits } from "./socket/orphans.js";
export type { BackendName } from "./sys/seam.js";
export { Socket, NativeSocket, NativeDatagramSocket } from "./socket/socket.js";
export { MSG_OOB, MSG_PEEK } from "./core/constants.js";
export { SO_REUSEPORT, SO_OOBINLINE, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT } from "./core/constants.js";
export { ChannelMap, socketMap, callLater, callEvery } from "./asyncore/map.js";
export { Dispatcher } from "./asyncore/dispatcher.js";
export { DispatcherWithSend } from "./asyncore/with-send.js";
export { FileWrapper, FileDispatcher, type FileLike } from "./asyncore/file.js";
export { loop, poll, poll2, pollOnce, read, write, readwrite, closeAll, type LoopOptions, type Handlers } from "./asyncore/loop.js";
export { drain, type DrainOptions } from "./asyncore/drain.js";
export { TimerHandle, type TimerCallback, type TimerMap, type TimerOwner } from "./asyncore/timers.js";
export { compactTraceback } from "./asyncore/traceback.js";
export { configure, loopStats, type EngineOptions, type LoopStats } from "./asyncore/stats.js";
export { AsyncChat, SimpleProducer, findPrefixAtEnd, type Producer, type Terminator, type FifoEntry } from "./asyncore/chat.js";
export * from "./tls/index.js"; // tls: Python's ssl (also the package's "wasyncore/tls" export)
export { serveOnCores, Cores, CoreWorker, type ServeOnCoresOptions, type CoreMode, type CoreSetup, type CoreContext, type WorkerStats, type CoresStats, type CoresTotal } from "./cores/index.js";
