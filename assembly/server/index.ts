// wasyncore for servers written in AssemblyScript: import from here, call serve(main).
// The same core (channel table, readiness, byte queues) the Node host uses, driven from inside
// the module. Build with `wasyncore build SRC.ts -o OUT.wasm --target host|wasix` (host/sandbox/build.ts).
export { Dispatcher, DispatcherWithSend, AF_INET, AF_INET6 } from "./dispatcher";
export { Socket, lastErrno } from "./socket";
export { serve, loop, pass } from "./loop";
export { argValue, parseHostPort, HostPort } from "./args";
export * from "./errno";
