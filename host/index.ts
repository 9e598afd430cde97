// wasyncore: Python's asyncore on Node, with a WebAssembly core.
export { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR, SO_ERROR, SO_KEEPALIVE, IPPROTO_TCP, TCP_NODELAY, POLLIN, POLLOUT, POLLPRI, POLLHUP, POLLERR, POLLNVAL } from "./constants.js";
export { SocketError, ExitNow, EngineAbortError, strerror } from "./errors.js";
export type { Address } from "./address.js";
export { Socket } from "./socket.js";
export { NativeSocket } from "./native-socket.js"; // the native backend's Socket; loading it registers the backend
export { MSG_OOB, MSG_PEEK } from "./constants.js";
export { ChannelMap, socketMap } from "./map.js";
export { Dispatcher, DispatcherWithSend } from "./dispatcher.js";
export { loop, poll, poll2, read, write, readwrite, closeAll, type LoopOptions, type Handlers } from "./loop.js";
export { compactTraceback } from "./traceback.js";
export { configure, loopStats, type EngineOptions, type LoopStats } from "./stats.js";
