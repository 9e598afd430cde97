/** A seeded PRNG returning numbers in [0, 1). */
export declare function rng(seed: number): () => number;
/** Requests of about `target` bytes, then QUIT, and the exact replies they get. */
export declare function conversation(rand: () => number, target: number, maxBin?: number): {
  request: Buffer;
  reply: Buffer;
  frames: number;
};
