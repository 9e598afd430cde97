// wasyncore for servers written in AssemblyScript: import from here, call serve(main).
// The same core (channel table, readiness, byte queues, timers, chat framing) the Node host uses,
// driven from inside the module. Build with `wasyncore build SRC.ts -o OUT.wasm --target host|wasix` (host/sandbox/build.ts).
export { Dispatcher, DispatcherWithSend, AF_INET, AF_INET6 } from "./dispatcher";
export { AsyncChat, Producer, SimpleProducer, FifoEntry } from "./chat";
export { Socket, lastErrno } from "./socket";
export { Datagram, SOCK_STREAM, SOCK_DGRAM, MAX_DATAGRAM } from "./datagram";
export { serve, loop, pass, usePoll } from "./loop";
export { TimerHandle, TimerCallback, callLater, callEvery, clockMs } from "./timers";
export { LoopStats, loopStats } from "./stats";
export { argValue, parseHostPort, HostPort } from "./args";
export * from "./errno";
