// compactTraceback: asyncore's one-line trace, from a JS error's stack.

/** `[[file, function, line], type, value, info]` with info '[file|function|line] …' outermost first. Python: asyncore.compact_traceback() */
export function compactTraceback(err: unknown): [[string, string, string], string, string, string] {
  const e = err instanceof Error ? err : null;
  const stack = e?.stack;
  if (!stack) throw new Error("traceback does not exist");
  const frames: [string, string, string][] = [];
  for (const raw of stack.split("\n").slice(1)) {
    const line = raw.trim();
    if (!line.startsWith("at ")) continue;
    const m = /^at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/.exec(line);
    if (!m) { frames.push([line.slice(3), "?", "0"]); continue; }
    frames.push([m[2], m[1] ?? "<anonymous>", m[3]]);
  }
  if (frames.length === 0) frames.push(["?", "?", "0"]);
  frames.reverse(); // JS stacks list the innermost frame first
  const info = frames.map(([f, fn, l]) => `[${f}|${fn}|${l}]`).join(" ");
  return [frames[frames.length - 1], e!.name || e!.constructor.name, e!.message, info];
}
