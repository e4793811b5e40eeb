// What the command line reads and writes: the process's own streams and
// environment when it is the program, others when a program (or a test)
// runs it in-process through main(args, io).

import process from "node:process";
import { type Readable, Writable as NodeWritable } from "node:stream";
import type { Writable } from "node:stream";
import type { WebSocketConstructor } from "../mod.ts";
import { oneLine } from "./_format.ts";

/** Standard input; a terminal has `isTTY` and raw mode. */
export interface Input extends Readable {
  /** True when a person types into it. */
  isTTY?: boolean;
  /** Turns the terminal's line discipline off (for hidden answers). */
  setRawMode?(raw: boolean): unknown;
}

/**
 * The command line's surroundings: environment, standard streams, and what
 * stops it. {@linkcode processIo} gives the process's own.
 */
export interface Io {
  /** Variables read (XDG folders, `PUSHOVER_*`) and handed to hooks. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where answers to questions come from. */
  readonly stdin: Input;
  /** Where messages and requested output go. */
  readonly stdout: Writable;
  /** Where questions, progress and errors go. */
  readonly stderr: Writable;
  /**
   * Stops the command as SIGINT or SIGTERM do. Without it, `main` stops on
   * those signals of the process.
   */
  readonly signal?: AbortSignal;
  /** How requests go: the platform's `fetch` unless given (a fake's). */
  readonly fetch?: typeof fetch;
  /** How the listener connects: the platform's `WebSocket` unless given. */
  readonly WebSocket?: WebSocketConstructor;
}

/**
 * The process's environment and streams. A write to a stream whose reader
 * went away (EPIPE: `2>&1 | head -1`) is dropped, as console's are, instead
 * of crashing the process; stdout's `Output` still notices it.
 */
export function processIo(): Io {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners("error").includes(ignore)) stream.on("error", ignore);
  }
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: denoStream("stdout") ?? process.stdout,
    stderr: process.stderr.isTTY
      ? process.stderr
      : denoStream("stderr") ?? nonBlocking(process.stderr),
  };
}

/**
 * Node's stderr into a pipe writes synchronously: a reader that stopped
 * reading (`listen 2>&1 | less`, paused) froze the process — deliveries,
 * timers, the signals that would stop it — once a chatty hook filled the
 * pipe. Unblocked, it queues what it cannot write yet, and signals back
 * pressure. (Bun's already does; a file never blocks for long.)
 */
function nonBlocking(stream: Writable): Writable {
  const handle =
    (stream as { _handle?: { setBlocking?(on: boolean): unknown } })
      ._handle;
  handle?.setBlocking?.(false);
  return stream;
}

/** Deno's own stdout or stderr, written the way that never blocks the event loop. */
interface DenoOutput {
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * On Deno, stdout and stderr through their own asynchronous writes:
 * node:process's streams write a pipe synchronously there, so a reader that
 * stopped reading (`listen 2>&1 | less`, paused) froze the whole process —
 * timers, and the signals that would stop it.
 */
function denoStream(name: "stdout" | "stderr"): Writable | undefined {
  const deno = (globalThis as {
    Deno?: Record<"stdout" | "stderr", DenoOutput>;
  }).Deno;
  if (!deno) return undefined;
  const output = deno[name];
  const stream = new NodeWritable({
    write(chunk: Uint8Array, _encoding, done) {
      (async () => {
        let rest = chunk;
        while (rest.length > 0) {
          rest = rest.subarray(await output.write(rest));
        }
      })().then(() => done(), done);
    },
  });
  // As the process's own streams: a reader gone (BrokenPipe) is no crash.
  stream.on("error", ignore);
  return stream;
}

/**
 * Resolves once what was written to `stream` has gone out: before exiting,
 * so that a last line is not lost.
 */
export function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write("", () => resolve());
    } catch {
      resolve();
    }
  });
}

function ignore(): void {}

/**
 * How a child's stderr is set up: a terminal is inherited (it stays a
 * terminal, and the child's lines keep their order); anything else is a
 * pipe, whose output the caller forwards to `io.stderr` minding its back
 * pressure. Not inherited there: a child given our stderr pipe resets it
 * to blocking writes (libuv does so for a child's stdio, and the two share
 * it), and one full pipe froze the listener again.
 */
export function childStderr(io: Io): "inherit" | "pipe" {
  return (io.stderr as { isTTY?: boolean }).isTTY === true ? "inherit" : "pipe";
}

/** Writes `text` and a newline to stdout (help, `status`). */
export function print(io: Io, text: string): void {
  write(io.stdout, `${text}\n`);
}

/**
 * Writes `text` as one line to stderr (progress, errors, questions'
 * context): whatever a server or a sender put in it, no escape sequence or
 * line break reaches the terminal.
 */
export function say(io: Io, text: string): void {
  write(io.stderr, `${oneLine(text)}\n`);
}

/** Several lines of our own to stderr (next steps), each cleaned as by say. */
export function sayLines(io: Io, lines: string[]): void {
  for (const line of lines) say(io, line);
}

/**
 * Writes `chunk` as it is (a question, a child's output); what cannot be
 * written, to a stream whose reader went away, is dropped.
 */
export function write(stream: Writable, chunk: string | Uint8Array): void {
  try {
    stream.write(chunk);
  } catch {
    // Deno and Bun may throw at once where Node emits "error": dropped too.
  }
}
