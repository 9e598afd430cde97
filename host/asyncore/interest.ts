// InterestTable: the channels whose readable()/writable() are asked each pass, in dense arrays.
//
// asyncore asks every channel that overrides readable()/writable() on every pass; with 10,000 idle
// such channels that ask is most of a pass. So the answers live in dense arrays (no Map walk), each
// is compared in JS with the one the core already has, and only the channels whose answer changed
// go to the core, in one interest_commit per SCRATCH_PAIRS of them: an idle channel costs its two
// calls and a compare, no call into the core.
import { getEngine } from "../core/engine.js";
import { R, W } from "../core/abi.js";

/** What the table asks (a map entry that overrides readable() and/or writable()). */
export interface InterestSource {
  readable?(): boolean;
  writable?(): boolean;
}

const UNKNOWN = 0xff; // not yet told to the core: the next commit sends whatever the answer is
const EMPTY_CHANGES = 0;

/** The channels of one map that are asked each pass, by fd (token), with the answers the core has. */
export class InterestTable {
  private fds: number[] = [];
  private entries: (InterestSource | null)[] = [];
  private told = new Uint8Array(64); // the bits the core has for entries[i], or UNKNOWN
  private readonly index = new Map<number, number>(); // fd → position
  private changes = new Int32Array(2 * 256); // {fd, bits} pairs found by one commit
  private committing = false;
  private removed: number[] = []; // positions emptied during a commit, compacted after it

  /** How many channels are asked each pass. */
  get size(): number { return this.index.size; }

  has(fd: number): boolean { return this.index.has(fd); }

  /** Asks `entry` each pass from now on (its answer goes to the core at the next commit). */
  set(fd: number, entry: InterestSource): this {
    const at = this.index.get(fd);
    if (at !== undefined) {
      this.entries[at] = entry;
      this.told[at] = UNKNOWN;
      return this;
    }
    const i = this.fds.length;
    if (i === this.told.length) {
      const grown = new Uint8Array(i * 2);
      grown.set(this.told);
      this.told = grown;
    }
    this.fds.push(fd);
    this.entries.push(entry);
    this.told[i] = UNKNOWN;
    this.index.set(fd, i);
    return this;
  }

  /** Stops asking the channel `fd`. */
  delete(fd: number): boolean {
    const at = this.index.get(fd);
    if (at === undefined) return false;
    this.index.delete(fd);
    if (this.committing) { // a handler closed a channel mid-commit: keep positions stable until it ends
      this.entries[at] = null;
      this.removed.push(at);
      return true;
    }
    this.removeAt(at);
    return true;
  }

  private removeAt(at: number): void {
    const last = this.fds.length - 1;
    if (at !== last) {
      const fd = this.fds[last];
      this.fds[at] = fd;
      this.entries[at] = this.entries[last];
      this.told[at] = this.told[last];
      this.index.set(fd, at);
    }
    this.fds.pop();
    this.entries.pop();
  }

  /** Asks every channel readable()/writable(); hands the core only the answers that changed. */
  commit(): void {
    const fds = this.fds;
    const entries = this.entries;
    let told = this.told;
    let changes = this.changes;
    let n = EMPTY_CHANGES;
    this.committing = true;
    try {
      // fds.length is read each time: channels a handler adds meanwhile are asked in this pass too
      for (let i = 0; i < fds.length; i++) {
        const ch = entries[i];
        if (ch === null) continue;
        const bits = (ch.readable!() ? R : 0) | (ch.writable!() ? W : 0);
        if (told !== this.told) told = this.told; // set() grew it
        if (bits === told[i]) continue;
        told[i] = bits;
        if (2 * n + 2 > changes.length) {
          const grown = new Int32Array(changes.length * 2);
          grown.set(changes);
          this.changes = changes = grown;
        }
        changes[2 * n] = fds[i];
        changes[2 * n + 1] = bits;
        n++;
      }
    } finally {
      this.committing = false;
      if (this.removed.length > 0) this.compact();
      if (n > 0) this.send(changes, n);
    }
  }

  private compact(): void {
    const gone = this.removed.sort((a, b) => b - a); // from the end, so the swaps move live entries only
    this.removed = [];
    for (const at of gone) this.removeAt(at);
  }

  // The changed pairs go through the core's scratch area, SCRATCH_PAIRS at a time. A stale token (a
  // channel closed by another handler during this commit) is skipped by the core.
  private send(changes: Int32Array, n: number): void {
    const e = getEngine();
    const core = e.core;
    const cap = core.scratch_pairs();
    for (let done = 0; done < n; done += cap) {
      const k = Math.min(cap, n - done);
      e.int32s(core.scratch_ptr(), k * 2).set(changes.subarray(done * 2, (done + k) * 2));
      core.interest_commit(k);
    }
  }

  /** Forgets what the core was told (every answer goes to it at the next commit). */
  invalidate(): void {
    this.told.fill(UNKNOWN);
  }
}
