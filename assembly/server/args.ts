// Command-line helpers for server modules: the runner passes its grants as arguments
// (`--listen HOST:PORT`), so one source reads its address the same way in both flavours.

/** The value after `name` in the module's arguments, or `fallback`. */
export function argValue(name: string, fallback: string): string {
  let argv = process.argv;
  for (let i = 0; i + 1 < argv.length; i++) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

/** A parsed "HOST:PORT" ("[::1]:80" for IPv6). */
export class HostPort {
  constructor(public host: string, public port: i32) {}
}

/** Parses "HOST:PORT"; port -1 when malformed. */
export function parseHostPort(text: string): HostPort {
  let colon = text.lastIndexOf(":");
  if (colon <= 0) return new HostPort(text, -1);
  let host = text.substring(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length - 1);
  let portText = text.substring(colon + 1);
  let port: i32 = 0;
  if (portText.length == 0 || portText.length > 5) return new HostPort(host, -1);
  for (let i = 0; i < portText.length; i++) {
    let c = portText.charCodeAt(i);
    if (c < 48 || c > 57) return new HostPort(host, -1);
    port = port * 10 + (c - 48);
  }
  return new HostPort(host, port > 65535 ? -1 : port);
}
