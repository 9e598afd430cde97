// wasyncore: Python's asyncore on Node, with a WebAssembly core.
export { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, IPPROTO_TCP, TCP_NODELAY, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR, POLLNVAL } from "./constants.js";
export { SocketError, ExitNow, EngineAbortError, strerror } from "./errors.js";
export type { Address } from "./address.js";
export { Socket } from "./socket.js";
export { NativeSocket } from "./native-socket.js"; // the native backend's Socket; loading it registers the backend
export { NativeDatagramSocket } from "./native-dgram.js"; // its SOCK_DGRAM socket
export { MSG_OOB, MSG_PEEK } from "./constants.js";
export { ChannelMap, socketMap } from "./map.js";
export { Dispatcher, DispatcherWithSend } from "./dispatcher.js";
export { FileWrapper, FileDispatcher } from "./file.js";
export { loop, poll, poll2, pollOnce, read, write, readwrite, closeAll, type LoopOptions, type Handlers } from "./loop.js";
export { callLater, callEvery, TimerHandle, type TimerCallback } from "./timers.js";
export { compactTraceback } from "./traceback.js";
export { configure, loopStats, type EngineOptions, type LoopStats } from "./stats.js";
export { AsyncChat, SimpleProducer, findPrefixAtEnd, type Producer, type Terminator, type FifoEntry } from "./chat.js";
export * from "./tls/index.js"; // tls: Python's ssl (also the package's "wasyncore/tls" export)
