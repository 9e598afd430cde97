// The chunk pool: fixed-size blocks for every channel's byte queues, with a free list.
// Chunks come from the runtime heap on demand, up to the memory cap; a freed chunk goes
// back on the free list, so a steady workload stops allocating after warm-up.
import { K_NEXT, K_START, K_END, K_DATA, DEFAULT_CHUNK, DEFAULT_CAP } from "./layout";

export let chunkSize: u32 = DEFAULT_CHUNK;
export let memoryCap: u32 = DEFAULT_CAP;
export let chunksLive: u32 = 0; // handed out
export let chunksFree: u32 = 0; // on the free list
export let bytesAllocated: u32 = 0; // chunk bytes taken from the heap
let freeList: usize = 0;

// wasm32 memory ends at 4 GiB: past it memory.grow fails and the runtime's allocator traps.
@inline const MEMORY_LIMIT: u64 = 1 << 32;
@inline const GROW_SLACK: u64 = 2 << 16; // the allocator's block headers and rounding

/** Whether the heap could take `bytes` more even if it has to grow memory (refuse rather than trap). */
export function heapRoom(bytes: u64): bool {
  return (<u64>memory.size() << 16) + bytes + GROW_SLACK <= MEMORY_LIMIT;
}

/** Sets the chunk size (only while no chunk exists) and the cap on chunk memory. */
export function poolConfigure(size: u32, cap: u32): bool {
  if (size != chunkSize) {
    if (chunksLive != 0 || size < 64 || size > (1 << 24)) return false;
    poolTrim();
    chunkSize = size;
  }
  memoryCap = cap;
  return true;
}

/** Could chunkAlloc() hand out a chunk now? */
export function poolHasRoom(): bool {
  if (freeList != 0) return true;
  let total = <u32>K_DATA + chunkSize;
  return <u64>bytesAllocated + total <= <u64>memoryCap && heapRoom(total);
}

/** Takes a chunk (empty, unlinked) or returns 0 at the cap or the end of wasm memory. */
export function chunkAlloc(): usize {
  let c = freeList;
  if (c != 0) {
    freeList = <usize>load<u32>(c, K_NEXT);
    chunksFree--;
  } else {
    let total = <u32>K_DATA + chunkSize;
    if (<u64>bytesAllocated + total > <u64>memoryCap || !heapRoom(total)) return 0;
    c = heap.alloc(total);
    bytesAllocated += total;
  }
  store<u32>(c, 0, K_NEXT);
  store<u32>(c, 0, K_START);
  store<u32>(c, 0, K_END);
  chunksLive++;
  return c;
}

/**
 * Takes a chunk for received bytes, or 0 once input would hold more than three quarters of the
 * cap: the last quarter stays for output, so a server whose input filled the pool can still
 * send, drain its application buffers and read again (no deadlock at the cap).
 */
export function chunkAllocInput(): usize {
  let total = <u64>K_DATA + <u64>chunkSize;
  if ((<u64>chunksLive + 1) * total > <u64>memoryCap - (<u64>memoryCap >> 2)) return 0;
  return chunkAlloc();
}

/** Input bytes that new chunks could still take before the input share of the cap is reached. */
export function inputChunkRoom(): u64 {
  let total = <u64>K_DATA + <u64>chunkSize;
  let limit = (<u64>memoryCap - (<u64>memoryCap >> 2)) / total;
  return limit > <u64>chunksLive ? (limit - <u64>chunksLive) * <u64>chunkSize : 0;
}

/** Returns a chunk to the free list. */
export function chunkFree(c: usize): void {
  store<u32>(c, <u32>freeList, K_NEXT);
  freeList = c;
  chunksLive--;
  chunksFree++;
}

/** Gives every free chunk back to the heap. */
export function poolTrim(): void {
  let c = freeList;
  while (c != 0) {
    let next = <usize>load<u32>(c, K_NEXT);
    heap.free(c);
    bytesAllocated -= <u32>K_DATA + chunkSize;
    c = next;
  }
  freeList = 0;
  chunksFree = 0;
}
