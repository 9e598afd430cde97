// UDP for the sandbox's module datagram table (host/sandbox/datagrams.ts): the libuv UDP handle stays in this folder; outside it a datagram port is bind, send, receive and close.
import { UdpPort, SENT, QUEUED, type DatagramSink } from "./dgram-handle.js";

export type { DatagramSink };
export { SENT, QUEUED };

/** One module datagram socket over a libuv UDP handle: errors come back as code strings ('EADDRINUSE', …). */
export interface ModuleUdpPort {
  /** Binds synchronously (no SO_REUSEADDR); an error code, or null. */
  bind(host: string, port: number): string | null;
  /** Sends one datagram: SENT, QUEUED (onSent follows), or an error code. */
  send(data: Buffer, host: string, port: number): number | string;
  /** Starts delivering datagrams to the sink (after bind or the first send); an error code, or null. */
  startReceiving(): string | null;
  /** The bound address, or null before the OS socket exists. */
  localAddress(): { address: string; port: number } | null;
  /** Closes (datagrams queued in libuv are sent first). */
  close(): void;
}

/** Opens a UDP socket (the OS socket is created on bind or on the first send). */
export function openUdp(ipv6: boolean, sink: DatagramSink): ModuleUdpPort {
  const p = new UdpPort(ipv6, sink);
  return {
    bind: (host, port) => p.bind(host, port, false),
    send: (data, host, port) => p.send(data, host, port),
    startReceiving: () => p.startReceiving(),
    localAddress: () => p.localAddress(),
    close: () => p.close(),
  };
}
