// TCP for the sandbox's module socket table (host/sandbox/sockets.ts): the libuv handles stay in this folder; outside it a listener or a held connection is something to close.
import type * as net from "node:net";
import * as uv from "./handles.js";

export type { StreamSink } from "./handles.js";

/** A bound TCP listener (a libuv TCP handle inside sys/net): outside it, only close() is reachable. */
export interface ServerHandle {
  close(): void;
}

/** A connection accepted by libuv that the module has not taken yet: outside sys/net, only close() is reachable. */
export interface HeldConnection {
  close(): void;
}

/** Binds a TCP listener (not listening yet): the listener, or an error code ('EADDRINUSE', …). */
export function bindTcp(ipv6: boolean, host: string, port: number): ServerHandle | string {
  return uv.bindTcp(ipv6, host, port);
}

/** The address a listener is bound to, or null. */
export function serverAddress(s: ServerHandle): { address: string; port: number } | null {
  return uv.serverAddress(s as uv.ServerHandle);
}

/** Starts listening: each connection libuv accepts goes to `onConnection` (to hold or close); an error code, or null. */
export function listen(s: ServerHandle, backlog: number, onConnection: (c: HeldConnection) => void): string | null {
  return uv.listen(s as uv.ServerHandle, backlog, onConnection);
}

/** Takes a held connection as a stream whose bytes and events go to `sink`. */
export function adopt(c: HeldConnection, sink: uv.StreamSink): net.Socket {
  return uv.adopt(c as uv.UvStreamHandle, sink);
}

/** Connects a stream whose bytes and events go to `sink`. */
export function connect(target: net.NetConnectOpts, sink: uv.StreamSink): net.Socket {
  return uv.connect(target, sink);
}

/** Starts or stops reading a stream (flow control). */
export function setReading(s: net.Socket, on: boolean): void {
  uv.setReading(s, on);
}
