// Shared by the JavaScript bench servers: the hand-parsed HTTP "hello" work,
// line framing for the chat peers, and the startup handshake with the harness.

const TERMINATOR = Buffer.from('\r\n\r\n');
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
const responseCache = [];

/** The bytes answering `n` pipelined requests (cached up to 64). */
export function responses(n) {
  if (n > 64) return Buffer.from(RESPONSE.repeat(n));
  return (responseCache[n] ??= Buffer.from(RESPONSE.repeat(n)));
}

/**
 * Counts complete requests (each ends in CRLF CRLF) across reads.
 * feed(chunk) returns how many requests completed; a partial one is kept.
 */
export class RequestCounter {
  tail = null;

  feed(chunk) {
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    let count = 0;
    let end = 0;
    for (let i = buf.indexOf(TERMINATOR); i !== -1; i = buf.indexOf(TERMINATOR, end)) {
      count++;
      end = i + 4;
    }
    this.tail = end === buf.length ? null : Buffer.from(buf.subarray(end));
    return count;
  }
}

/**
 * Splits a byte stream into '\n'-terminated messages across reads.
 * feed(chunk, onMessage) calls onMessage(message) for each complete one (without '\n').
 */
export class LineSplitter {
  parts = [];

  feed(chunk, onMessage) {
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      this.parts.push(chunk.subarray(start, i));
      onMessage(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts));
      this.parts = [];
      start = i + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
  }
}

/** Tells the harness the listening port (the first line on stdout). */
export function announcePort(port) {
  process.stdout.write(`${port}\n`);
}

/** Tells the harness this server cannot run here, and why; then exits. */
export function unavailable(reason) {
  process.stdout.write(`UNAVAILABLE ${reason}\n`);
  process.exit(0);
}

/** The mode argument: http, echo, chat, or one of `extra`. */
export function modeFromArgv(extra = []) {
  const mode = process.argv[2];
  const modes = ['http', 'echo', 'chat', ...extra];
  if (!modes.includes(mode)) {
    process.stderr.write(`usage: ${process.argv[1]} ${modes.join('|')}\n`);
    process.exit(2);
  }
  return mode;
}
