// What stops the command line: the process's SIGINT, SIGTERM and SIGHUP, or
// the signal of a program that runs it in-process.

import process from "node:process";

/** A signal that stops the command line cleanly. */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/**
 * Ctrl-C, a kill, and a terminal's hangup (a closed window, a dropped SSH
 * session): each stops cleanly — hooks ended, the status file written —
 * where the runtime's default would end the process and leave a hook
 * running on its own. Windows has no SIGHUP (listening for it throws).
 */
export const STOP_SIGNALS: readonly StopSignal[] = process.platform === "win32"
  ? ["SIGINT", "SIGTERM"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** The part of `process` that signal handling uses (a double in tests). */
export interface SignalTarget {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
  exit(code: number): void;
}

/**
 * How long after the signal that stopped the command another one is the
 * same keypress: `deno task` forwards the terminal's SIGINT to the process
 * group that already got it, so one Ctrl-C arrives twice.
 */
export const DUPLICATE_WINDOW_MS = 1_000;

/** `stop` aborts with `signal`; returns what undoes that. */
export function followSignal(
  signal: AbortSignal,
  stop: AbortController,
): () => void {
  const onAbort = () => stop.abort();
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort);
  return () => signal.removeEventListener("abort", onAbort);
}

/**
 * {@linkcode STOP_SIGNALS} abort `stop`; returns what undoes that. The first
 * signal stops cleanly; a signal while stopping hangs (after
 * {@linkcode DUPLICATE_WINDOW_MS}, or when something else stopped the
 * command) exits at once with 130. Undoing removes the listeners: a
 * program embedding `main()` gets its signals back.
 */
export function followProcessSignals(
  stop: AbortController,
  target: SignalTarget = process,
  now: () => number = Date.now,
  signals: readonly StopSignal[] = STOP_SIGNALS,
): () => void {
  let stoppedAt: number | undefined;
  const onSignal = () => {
    // Stopped otherwise (end of input) and hanging: a first signal exits.
    const since = stoppedAt === undefined ? Infinity : now() - stoppedAt;
    if (stop.signal.aborted && since > DUPLICATE_WINDOW_MS) {
      target.exit(130);
      return;
    }
    stoppedAt ??= now();
    stop.abort();
  };
  for (const name of signals) target.on(name, onSignal);
  return () => {
    for (const name of signals) target.off(name, onSignal);
  };
}

/**
 * For the binary only: from here on {@linkcode STOP_SIGNALS} no longer end the
 * process by the runtime's default. The duplicate of the signal that stopped
 * the command may come late (a loaded machine), after main() let go of its
 * listeners and before the process exits with main()'s code; by default it
 * would end a clean stop with 130.
 */
export function outliveLateSignals(target: SignalTarget = process): void {
  const ignore = () => {};
  for (const name of STOP_SIGNALS) target.on(name, ignore);
}
