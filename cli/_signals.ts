// What stops the command line: the process's SIGINT and SIGTERM, or the
// signal of a program that runs it in-process.

import process from "node:process";

/** The part of `process` that signal handling uses (a double in tests). */
export interface SignalTarget {
  on(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
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
 * SIGINT and SIGTERM abort `stop`; returns what undoes that. The first
 * signal stops cleanly; a signal while stopping hangs (after
 * {@linkcode DUPLICATE_WINDOW_MS}, or when something else stopped the
 * command) exits at once with 130. Undoing removes both listeners: a
 * program embedding `main()` gets its signals back.
 */
export function followProcessSignals(
  stop: AbortController,
  target: SignalTarget = process,
  now: () => number = Date.now,
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
  target.on("SIGINT", onSignal);
  target.on("SIGTERM", onSignal);
  return () => {
    target.off("SIGINT", onSignal);
    target.off("SIGTERM", onSignal);
  };
}

/**
 * For the binary only: from here on SIGINT and SIGTERM no longer end the
 * process by the runtime's default. The duplicate of the signal that stopped
 * the command may come late (a loaded machine), after main() let go of its
 * listeners and before the process exits with main()'s code; by default it
 * would end a clean stop with 130.
 */
export function outliveLateSignals(target: SignalTarget = process): void {
  const ignore = () => {};
  target.on("SIGINT", ignore);
  target.on("SIGTERM", ignore);
}
