/** Byte i of the stream is POOL[i % PERIOD]. */
export declare const PERIOD: number;
/** The deterministic stream for `seed`. */
export declare function pattern(seed: number): {
  slice(offset: number, n: number): Buffer;
  matches(offset: number, data: Uint8Array): boolean;
};
