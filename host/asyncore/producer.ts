// asynchat's helpers: producers, find_prefix_at_end, the terminator and size checks, and text encodings.
import { Buffer } from "node:buffer";
import { MAX_TERMINATOR } from "../core/abi.js";
import { describe } from "../core/address.js";

const EMPTY = Buffer.alloc(0);

/** Anything AsyncChat.pushWithProducer() takes: more() returns bytes, empty when done. */
export interface Producer {
  /** The next bytes to send; an empty result (or null/undefined) means the producer is exhausted. Python: producer.more() */
  more(): Uint8Array | null | undefined;
}

/** Hands out its data `bufferSize` bytes at a time. Python: asynchat.simple_producer */
export class SimpleProducer implements Producer {
  /** The bytes not handed out yet. */
  data: Buffer;
  /** Bytes per more(). */
  bufferSize: number;

  /** A producer handing out `data` (copied) `bufferSize` bytes per more() call. Python: simple_producer(data, buffer_size=512) */
  constructor(data: Uint8Array, bufferSize = 512) {
    if (!(data instanceof Uint8Array)) throw new TypeError(`SimpleProducer: data must be a Uint8Array or Buffer, got ${describe(data)}`);
    if (typeof bufferSize !== "number" || !Number.isInteger(bufferSize)) throw new TypeError(`SimpleProducer: bufferSize must be an integer, got ${describe(bufferSize)}`);
    // asyncore: 0 or less is refused (CPython's more() would return b'' at once and drop the data)
    if (bufferSize < 1) throw new RangeError(`SimpleProducer: bufferSize must be >= 1, got ${bufferSize}`);
    this.data = Buffer.from(data);
    this.bufferSize = bufferSize;
  }

  /** The next piece; empty once everything was handed out. Python: simple_producer.more() */
  more(): Buffer {
    const d = this.data;
    if (d.length > this.bufferSize) {
      this.data = d.subarray(this.bufferSize);
      return d.subarray(0, this.bufferSize);
    }
    this.data = EMPTY;
    return d;
  }
}

/**
 * Length of the longest proper prefix of `needle` that `haystack` ends with (0 when none).
 * Both strings or both bytes. Python: asynchat.find_prefix_at_end(haystack, needle)
 */
export function findPrefixAtEnd(haystack: Uint8Array | string, needle: Uint8Array | string): number {
  // asyncore: an empty needle gives 0 (CPython's loop returns -1)
  if (typeof haystack === "string" && typeof needle === "string") {
    let l = needle.length - 1;
    while (l > 0 && !haystack.endsWith(needle.slice(0, l))) l--;
    return Math.max(l, 0);
  }
  if (!(haystack instanceof Uint8Array) || !(needle instanceof Uint8Array)) {
    throw new TypeError(`findPrefixAtEnd(): haystack and needle must both be strings or both bytes, got ${describe(haystack)} and ${describe(needle)}`);
  }
  let l = needle.length - 1;
  while (l > 0 && !endsWith(haystack, needle, l)) l--;
  return Math.max(l, 0);
}

function endsWith(h: Uint8Array, n: Uint8Array, l: number): boolean {
  if (l > h.length) return false;
  const off = h.length - l;
  for (let i = 0; i < l; i++) if (h[off + i] !== n[i]) return false;
  return true;
}

/**
 * Checks a terminator: bytes or a string (encoded as UTF-8; at most 32 KiB), an integer
 * >= 0, or null. Returns it as a Buffer copy, a number or null.
 */
/** Throws a TypeError or RangeError naming `what` unless `v` is an integer in 1..2^31-1; returns it. */
export function checkSize(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`AsyncChat: ${what} must be an integer, got ${describe(v)}`);
  if (v < 1 || v > 2 ** 31 - 1) throw new RangeError(`AsyncChat: ${what} must be in 1..${2 ** 31 - 1}, got ${v}`);
  return v;
}

// Python codec names AsyncChat.encoding takes, and the Node encoding and highest code point of each.
const CODECS: Record<string, [BufferEncoding, number]> = {
  "latin-1": ["latin1", 0xff], latin1: ["latin1", 0xff], "iso-8859-1": ["latin1", 0xff], "iso8859-1": ["latin1", 0xff],
  "utf-8": ["utf8", 0x10ffff], utf8: ["utf8", 0x10ffff], ascii: ["ascii", 0x7f], "us-ascii": ["ascii", 0x7f],
};

/**
 * Encodes `text` with a Python codec name (asynchat's `encoding`): latin-1 (iso-8859-1), utf-8 or ascii.
 * @throws RangeError for another codec name, or a character the codec cannot encode (Python: UnicodeEncodeError).
 */
export function encodeText(text: string, encoding: unknown, what: string): Buffer {
  const codec = typeof encoding === "string" ? CODECS[encoding.toLowerCase().replace(/_/g, "-")] : undefined;
  if (codec === undefined) throw new RangeError(`${what}: encoding must be 'latin-1', 'iso-8859-1', 'utf-8' or 'ascii', got ${describe(encoding)}`);
  const [name, max] = codec;
  if (max < 0x10ffff) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > max) throw new RangeError(`${what}: '${encoding as string}' codec can't encode character ${JSON.stringify(text[i])} in position ${i}`);
    }
  }
  return Buffer.from(text, name);
}

/** Checks a terminator; a string is encoded with `encoding` (a Python codec name) when given, else as UTF-8. */
export function checkTerminator(term: unknown, what: string, encoding: string | null = null): Buffer | number | null {
  if (term === null) return null;
  // asyncore: a boolean is not a count here (Python's bool is an int); a string is encoded as
  // UTF-8 (CPython stores it and fails in handle_read unless use_encoding is set)
  if (typeof term === "number") {
    if (!Number.isInteger(term)) throw new TypeError(`${what}: a numeric terminator must be an integer byte count, got ${term}`);
    if (term < 0) throw new RangeError(`${what}: the number of received bytes must be positive, got ${term}`);
    if (term > Number.MAX_SAFE_INTEGER) throw new RangeError(`${what}: byte count ${term} is too large`);
    return term;
  }
  let bytes: Buffer;
  if (typeof term === "string") bytes = encoding !== null ? encodeText(term, encoding, what) : Buffer.from(term, "utf8");
  else if (term instanceof Uint8Array) bytes = Buffer.from(term);
  else throw new TypeError(`${what}: terminator must be a Uint8Array, a string, a non-negative integer or null, got ${typeof term === "boolean" ? `the boolean ${term}` : describe(term)}`);
  // asyncore: the core searches for at most 32 KiB of terminator (CPython has no limit).
  if (bytes.length > MAX_TERMINATOR) throw new RangeError(`${what}: terminator of ${bytes.length} bytes is longer than ${MAX_TERMINATOR}`);
  return bytes;
}
