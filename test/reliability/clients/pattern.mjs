// A deterministic byte stream both ends can produce and check at any offset: byte i is
// POOL[i % PERIOD] for a seeded random POOL and a prime PERIOD, so a dropped, repeated or
// reordered run shows up as a mismatch (unless it is a multiple of PERIOD long).
export const PERIOD = 65521;
const SPAN = 1 << 20; // longest slice handed out at once

/** The pattern for `seed`: `slice(offset, n)` returns its bytes at [offset, offset + n). */
export function pattern(seed) {
  let a = seed >>> 0;
  const base = Buffer.allocUnsafe(PERIOD);
  for (let i = 0; i < PERIOD; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    base[i] = (t ^ (t >>> 14)) & 0xff;
  }
  const wide = Buffer.allocUnsafe(PERIOD + SPAN);
  for (let off = 0; off < wide.length; off += PERIOD) base.copy(wide, off, 0, Math.min(PERIOD, wide.length - off));
  return {
    slice(offset, n) {
      if (n > SPAN) throw new RangeError(`pattern slice of ${n} bytes is longer than ${SPAN}`);
      const at = offset % PERIOD;
      return wide.subarray(at, at + n);
    },
    /** Does `data` equal the pattern at `offset`? */
    matches(offset, data) {
      for (let done = 0; done < data.length; done += SPAN) {
        const n = Math.min(SPAN, data.length - done);
        if (!this.slice(offset + done, n).equals(data.subarray(done, done + n))) return false;
      }
      return true;
    },
  };
}
