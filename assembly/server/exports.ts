// The exports a server module offers its host (an extra entry file of every server build).
// host/sandbox/abi-versions.ts lists them per ABI version; a test checks the built modules.

import { pass, passes, timeoutMs } from "./loop";

/** Runs one non-waiting pass: -1 = no channel and no timer left, 1 = call again soon, 0 = wait. (v1) */
export function server_pass(): i32 {
  return pass(0);
}

/** Passes run so far (diagnostics). (v1) */
export function server_passes(): f64 {
  return <f64>passes;
}

/** After a pass that returned 0: milliseconds until the module's next timer is due, -1 without timers. (v2) */
export function server_timeout(): f64 {
  return timeoutMs();
}
