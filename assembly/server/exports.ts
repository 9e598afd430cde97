// The exports a server module offers its host (an extra entry file of every server build).

import { pass, passes } from "./loop";

/** Runs one non-waiting pass: -1 = no channel left, 1 = call again soon, 0 = wait for I/O. */
export function server_pass(): i32 {
  return pass(0);
}

/** Passes run so far (diagnostics). */
export function server_passes(): f64 {
  return <f64>passes;
}
