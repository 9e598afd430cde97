// The framed protocol of the AsyncChat reliability tests, as a client generates it: requests
// and the exact replies an AsyncChat server owes them (test/reliability/chat-helpers.ts).
//
//   ECHO <text>\r\n          → ECHO <text>\r\n
//   \r\n (an empty line)     → EMPTY\r\n
//   BIN <n>\r\n<n bytes>     → BIN <n>\r\n<the n bytes>       (the server switches to a count)
//   DATA\r\n<body>\r\n.\r\n  → DATA <len>\r\n<body>\r\n.\r\n  (SMTP-style: terminator switched
//                                                             inside foundTerminator)
//   QUIT\r\n                 → BYE <frames before it>\r\n, then the server closes when done
import { randomBytes } from "node:crypto";

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT = Buffer.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,;:!?-_=+*/<>()[]{}#@$%^&|~'\"");
const BODY = Buffer.from("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"); // no '.', no CR/LF
const CRLF = Buffer.from("\r\n");
const END = Buffer.from("\r\n.\r\n");

function pick(rand, alphabet, n) {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = alphabet[Math.floor(rand() * alphabet.length)];
  return out;
}

/** A DATA body: lines of BODY characters joined by CRLF (never containing the end marker). */
function body(rand, n) {
  const out = pick(rand, BODY, n);
  for (let i = 1; i + 1 < n; i += 1 + Math.floor(rand() * 80)) { out[i] = 13; out[i + 1] = 10; i++; }
  return out;
}

/**
 * Requests of about `target` bytes (at least one frame, then QUIT) and the replies they get.
 * `maxBin` bounds one binary frame. Returns { request, reply, frames }.
 */
export function conversation(rand, target, maxBin = 64 * 1024) {
  const req = [];
  const rep = [];
  let size = 0;
  let frames = 0;
  const add = (q, r) => { req.push(...q); rep.push(...r); size += q.reduce((a, b) => a + b.length, 0); frames++; };
  do {
    const k = rand();
    if (k < 0.35) {
      const line = Buffer.concat([Buffer.from("ECHO "), pick(rand, TEXT, Math.floor(rand() * 200)), CRLF]);
      add([line], [line]);
    } else if (k < 0.4) {
      add([CRLF], [Buffer.from("EMPTY\r\n")]);
    } else if (k < 0.8) {
      const n = Math.floor(rand() * rand() * maxBin); // mostly small, sometimes large
      const data = randomBytes(n); // any bytes, CR and LF included
      const head = Buffer.from(`BIN ${n}\r\n`);
      add([head, data], [head, data]);
    } else {
      const b = body(rand, Math.floor(rand() * rand() * maxBin));
      add([Buffer.from("DATA\r\n"), b, END], [Buffer.from(`DATA ${b.length}\r\n`), b, END]);
    }
  } while (size < target);
  req.push(Buffer.from("QUIT\r\n"));
  rep.push(Buffer.from(`BYE ${frames}\r\n`));
  return { request: Buffer.concat(req), reply: Buffer.concat(rep), frames };
}
