// Runs a script as a child process of the runtime running the tests, so a
// test on Bun runs it on Bun, on Node 22 on Node 22, and so on.

import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** How a script ran. */
export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  elapsed: number;
}

/**
 * The environment a child starts with: ours, no colours, and Node's compile
 * cache (Node ≥ 22.1; type-stripped modules included), so the many short
 * CLI runs of the suite do not each compile the library again.
 */
function childEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ...process.env as Record<string, string>,
    NO_COLOR: "1",
    NODE_COMPILE_CACHE: join(tmpdir(), "pushover-open-client-node-cache"),
    ...extra,
  };
}

/** The command line that runs `script` (a path relative to the repo root). */
export function runtimeCommand(script: string, args: string[] = []): string[] {
  const isDeno = "Deno" in globalThis;
  return isDeno
    ? [process.execPath, "run", "-A", script, ...args]
    : [process.execPath, script, ...args];
}

/**
 * Runs `script` to its end with `stdin` written to it; rejects if it has not
 * exited by itself within `limit` ms (it is killed then).
 */
export function runScript(
  script: string,
  { args = [], stdin = "", limit = 60_000, env = {} }: {
    args?: string[];
    stdin?: string;
    limit?: number;
    env?: Record<string, string>;
  } = {},
): Promise<ScriptResult> {
  const [program, ...rest] = runtimeCommand(script, args);
  const started = Date.now();
  const child = spawn(program, rest, {
    cwd: new URL("../", import.meta.url).pathname,
    env: childEnv(env),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => stdout += chunk);
  child.stderr.on("data", (chunk) => stderr += chunk);
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${script} ${
            args.join(" ")
          } did not exit within ${limit} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, limit);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsed: Date.now() - started });
    });
  });
}

/** A script running as a child process, driven through its stdio. */
export interface LiveScript {
  /**
   * Resolves with the first line of `stream` after the last one matched that
   * contains `pattern`; rejects after `ms` ms, showing what was printed.
   */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: string | RegExp,
    ms?: number,
  ): Promise<string>;
  /** Writes to the child's stdin. */
  write(text: string): void;
  /** Ends the child's stdin (what Ctrl-D at the start of a line gives). */
  endInput(): void;
  /** Closes the read end of the child's stdout, as `| head -1` does. */
  closeStdout(): void;
  /** Closes the read end of the child's stderr (`2>&1 | head -1`). */
  closeStderr(): void;
  /** Sends a signal (e.g. SIGINT, as Ctrl-C does). */
  signal(signal: "SIGINT" | "SIGTERM" | "SIGSTOP" | "SIGCONT" | "SIGHUP"): void;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Kills the child if it still runs, and waits for it: for `finally`. */
  kill(): Promise<void>;
}

/**
 * What a script printed, as it comes, and waiting for lines of it: shared
 * by child processes and the command line run in-process (tests/_cli.ts).
 */
export class Transcript {
  readonly #text = { stdout: "", stderr: "" };
  readonly #read = { stdout: 0, stderr: 0 };
  readonly #waiters = new Set<() => void>();

  /** Adds printed text; waiters look at it. */
  append(stream: "stdout" | "stderr", chunk: string): void {
    this.#text[stream] += chunk;
    this.ended();
  }

  /** The script ended: waiters look one last time. */
  ended(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** See {@linkcode LiveScript.waitFor}. */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: string | RegExp,
    ms = 30_000,
  ): Promise<string> {
    const text = this.#text;
    const read = this.#read;
    return new Promise((resolve, reject) => {
      const check = () => {
        const lines = text[stream].slice(read[stream]).split("\n");
        let offset = read[stream];
        for (const [index, line] of lines.entries()) {
          // The last piece may be a prompt without a newline yet: fine too.
          const matched = typeof pattern === "string"
            ? line.includes(pattern)
            : pattern.test(line);
          if (matched) {
            read[stream] = offset + line.length +
              (index < lines.length - 1 ? 1 : 0);
            done();
            resolve(line);
            return;
          }
          offset += line.length + 1;
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no ${stream} line with ${pattern} within ${ms} ms\nstdout: ${text.stdout}\nstderr: ${text.stderr}`,
          ),
        );
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Everything printed so far. */
  output(): { stdout: string; stderr: string } {
    return { ...this.#text };
  }
}

/** `word` quoted for bash. */
export const shellQuote = (word: string): string =>
  `'${word.replaceAll("'", `'\\''`)}'`;

/** Starts `script` with the current runtime; stop it with signal() or kill. */
export function startScript(
  script: string,
  { args = [], env = {}, pipeTo, shell }: {
    args?: string[];
    env?: Record<string, string>;
    /**
     * A bash script around the script's command line (given quoted): limits
     * its process inherits (`ulimit -f 64; exec ${command}`), a namespace it
     * runs in.
     */
    shell?: (command: string) => string;
    /**
     * A shell command the script's stdout is piped into (`head -1`), as a
     * person's shell would; the script's exit code is then printed on
     * stderr as `exit=N` once it ends.
     */
    pipeTo?: string;
  } = {},
): LiveScript {
  const command = runtimeCommand(script, args);
  const quote = shellQuote;
  const [program, ...rest] = pipeTo !== undefined
    ? [
      "bash",
      "-c",
      `${
        command.map(quote).join(" ")
      } | ${pipeTo}; echo "exit=\${PIPESTATUS[0]}" >&2`,
    ]
    : shell !== undefined
    ? ["bash", "-c", shell(command.map(quote).join(" "))]
    : command;
  const child = spawn(program, rest, {
    cwd: new URL("../", import.meta.url).pathname,
    env: childEnv(env),
  });
  const transcript = new Transcript();
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream].setEncoding("utf8");
    child[stream].on(
      "data",
      (chunk: string) => transcript.append(stream, chunk),
    );
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal })),
  );
  exited.then(() => transcript.ended());
  return {
    waitFor: (stream, pattern, ms) => transcript.waitFor(stream, pattern, ms),
    write: (data) => child.stdin.write(data),
    endInput: () => child.stdin.end(),
    closeStdout: () => child.stdout.destroy(),
    closeStderr: () => child.stderr.destroy(),
    // process.kill rather than child.kill: Deno's child.kill reports a
    // handled SIGINT as a kill even when the child exited with code 0. Not
    // once it has exited: its pid may be another process's by then.
    signal: (name) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`cannot send ${name}: the child has exited`);
      }
      process.kill(child.pid!, name);
    },
    exited,
    output: () => transcript.output(),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
      await exited;
    },
  };
}
