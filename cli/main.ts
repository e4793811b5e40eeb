#!/usr/bin/env -S deno run -A
/**
 * The `pushover-open-client` command line: log in once, then listen — print
 * each notification, hand it to a command or a URL, show it on the desktop,
 * acknowledge emergencies — on Deno, Bun and Node ≥ 22, with no dependency.
 *
 *   deno run -A jsr:@openpush/pushover-open-client/cli login
 *   deno task cli listen --notify        # from a clone
 *   node cli/main.ts listen --exec 'notify-me "$PUSHOVER_TITLE"'
 *
 * `pushover-open-client --help` lists the subcommands; each has `--help`.
 * Exit codes: 0 done or stopped by the user (Ctrl-C, SIGTERM, SIGHUP), 1 an
 * unexpected failure, 2 bad usage, 3 the device was refused (log in again),
 * 4 another client took the device over.
 *
 * @example Run a subcommand from a program (what the binary does)
 * ```ts
 * import { main } from "@openpush/pushover-open-client/cli";
 *
 * const code = await main(["status", "--status-file", "/nonexistent"]);
 * console.log(code); // 1: no listener runs
 * ```
 *
 * @module
 */

import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  LoginRequiredError,
  PushoverError,
  SessionReplacedError,
} from "../lib/errors.ts";
import { type Command, helpText, parseCommand } from "./_command.ts";
import { CliError, EXIT } from "./_fail.ts";
import { InboxError } from "../inbox/_errors.ts";
import { flushed, type Io, print, processIo, say } from "./_io.ts";
import { VERSION } from "./_version.ts";
import { Interrupted, Prompt } from "./_prompt.ts";
import {
  followProcessSignals,
  followSignal,
  outliveLateSignals,
  STOP_SIGNALS,
} from "./_signals.ts";

export type { Input, Io } from "./_io.ts";

/**
 * The commands, each loaded only when it runs: `status` (which monitors
 * run every minute) and `--help` do not load the listener, nor the listener
 * the login. The summaries are here for the top-level help.
 */
const COMMANDS: Record<
  string,
  {
    summary: string;
    load(): Promise<Command>;
    /** SIGHUP reloads it (a daemon's way) instead of stopping it. */
    reloadsOnHangup?: true;
  }
> = {
  login: {
    summary: "log in and register this machine as a device",
    load: async () => (await import("./login.ts")).login as Command,
  },
  listen: {
    summary: "print (and hand on) each message as it arrives",
    load: async () => (await import("./listen.ts")).listen as Command,
  },
  messages: {
    summary: "show what is queued, without deleting it",
    load: async () => (await import("./messages.ts")).messages as Command,
  },
  relay: {
    summary: "listen for many devices in one process",
    load: async () => (await import("./relay.ts")).relay as Command,
    reloadsOnHangup: true,
  },
  mcp: {
    summary: "serve the inbox to an AI agent (Model Context Protocol, stdio)",
    load: async () => (await import("./mcp.ts")).mcp as Command,
  },
  history: {
    summary: "show what the inbox keeps: search, dead letters, --follow",
    load: async () => (await import("./history.ts")).history as Command,
  },
  retry: {
    summary: "hand messages a hook could not take over again",
    load: async () => (await import("./retry.ts")).retry as Command,
  },
  pending: {
    summary: "show emergencies waiting for acknowledgement",
    load: async () => (await import("./messages.ts")).pending as Command,
  },
  ack: {
    summary: "acknowledge an emergency (or all of them)",
    load: async () => (await import("./ack.ts")).ack as Command,
  },
  status: {
    summary: "tell whether the listener is connected",
    load: async () => (await import("./status.ts")).status as Command,
  },
  logout: {
    summary: "forget this machine's device",
    load: async () => (await import("./logout.ts")).logout as Command,
  },
  service: {
    summary: "run the listener as a systemd user service",
    load: async () => (await import("./service.ts")).service as Command,
  },
};

const HELP = `Usage: pushover-open-client [COMMAND] [options]

Receive your Pushover notifications on this machine.

Commands:
${
  Object.entries(COMMANDS).map(([name, { summary }]) =>
    `  ${name.padEnd(10)} ${summary}`
  ).join("\n")
}

Without a command: listen. Each command has --help (or: help COMMAND);
--version prints the version.
Exit codes: 0 done, or the listener stopped (Ctrl-C, SIGTERM, SIGHUP); 1 unexpected
failure; 2 bad usage; 3 the device was refused (log in again); 4 another
client took it over; 130 interrupted at a question (Ctrl-C).`;

/**
 * Runs the command line with `args` (without the runtime and script);
 * resolves with the exit code. Every failure is one line on stderr, without
 * a stack trace. `io` is the process's environment and streams unless given:
 * a program running the command line in-process passes its own, with a
 * `signal` to stop it (then the process's signals are left alone).
 *
 * @example Run a subcommand in-process, its output collected
 * ```ts
 * import { main } from "@openpush/pushover-open-client/cli";
 * import { PassThrough } from "node:stream";
 *
 * const stdout = new PassThrough();
 * let text = "";
 * stdout.on("data", (chunk) => text += chunk);
 * const code = await main(["status", "--status-file", "/nonexistent"], {
 *   env: {},
 *   stdin: new PassThrough(),
 *   stdout,
 *   stderr: new PassThrough(),
 *   signal: AbortSignal.timeout(10_000),
 * });
 * console.log(code, text); // 1 "not running (no status file at /nonexistent)"
 * ```
 */
export async function main(
  args: string[],
  io: Io = processIo(),
): Promise<number> {
  const first = args[0];
  if (first === "--version" || first === "-V") {
    print(io, `pushover-open-client ${VERSION}`);
    return EXIT.ok;
  }
  if (first === "help" && args[1] !== undefined) {
    return await main([args[1], "--help"], io);
  }
  if (first === "--help" || first === "-h" || first === "help") {
    print(io, HELP);
    return EXIT.ok;
  }
  const named = first !== undefined && !first.startsWith("-");
  const name = named ? first : "listen";
  const entry = COMMANDS[name];
  if (!entry) {
    say(
      io,
      `unknown command '${name}'; commands: ${
        Object.keys(COMMANDS).join(", ")
      } (see --help)`,
    );
    return EXIT.usage;
  }
  const rest = named ? args.slice(1) : args;
  // -h or --help anywhere (before a lone --) wins over any other flag: the
  // user asks how, whatever else the line says.
  const end = rest.indexOf("--");
  const asked = (end === -1 ? rest : rest.slice(0, end)).some((arg) =>
    arg === "-h" || arg === "--help"
  );
  const stop = new AbortController();
  const stopListening = io.signal
    ? followSignal(io.signal, stop)
    : followProcessSignals(
      stop,
      process,
      Date.now,
      entry.reloadsOnHangup
        ? STOP_SIGNALS.filter((name) => name !== "SIGHUP")
        : STOP_SIGNALS,
    );
  try {
    const command = await entry.load();
    if (asked) {
      print(io, helpText(command, io.env));
      return EXIT.ok;
    }
    // Every check of the flags, before any question, request or file.
    const options = parseCommand(command, rest, io.env);
    return await command.run(options, {
      io,
      prompt: new Prompt(stop, io),
      signal: stop.signal,
      net: { fetch: io.fetch, WebSocket: io.WebSocket },
    });
  } catch (error) {
    if (error instanceof Interrupted) return EXIT.interrupted;
    if (stop.signal.aborted) return EXIT.ok;
    say(io, describe(error));
    return exitCode(error);
  } finally {
    stopListening();
  }
}

/** The one map from a failure to the exit code every command promises. */
function exitCode(error: unknown): number {
  if (error instanceof CliError) return error.code;
  if (error instanceof LoginRequiredError) return EXIT.loginRequired;
  if (error instanceof SessionReplacedError) return EXIT.sessionReplaced;
  return EXIT.error;
}

/** One line for a person: no class name, no stack. */
function describe(error: unknown): string {
  // Each names its file or flag and what to do, in one line.
  if (error instanceof CliError || error instanceof InboxError) {
    return firstLine(error.message);
  }
  if (error instanceof PushoverError) {
    // "Cannot X: the server answered …" reads well as it is.
    return firstLine(error.message);
  }
  if (error instanceof Error) {
    return `unexpected failure: ${firstLine(error.message)}`;
  }
  return `unexpected failure: ${firstLine(String(error))}`;
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

/** Whether this module is the program (Node 22 has no import.meta.main). */
function isProgram(): boolean {
  if (typeof import.meta.main === "boolean") return import.meta.main;
  const script = process.argv[1];
  if (!script || !import.meta.url.startsWith("file:")) return false;
  try {
    return realpathSync(script) ===
      realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Why this runtime cannot run the CLI, or undefined: Node before 22 has no
 * global WebSocket and no `node:sqlite`, and fails later with an error that
 * names neither (`versions` is `process.versions`).
 *
 * @example
 * ```ts
 * import { unsupportedRuntime } from "@openpush/pushover-open-client/cli";
 *
 * console.log(unsupportedRuntime({ node: "20.19.2" })); // "… needs Node 22 or newer …"
 * console.log(unsupportedRuntime({ node: "24.1.0" })); // undefined
 * ```
 */
export function unsupportedRuntime(
  versions: Record<string, string | undefined>,
): string | undefined {
  if (versions.deno !== undefined || versions.bun !== undefined) {
    return undefined;
  }
  const major = Number(versions.node?.split(".")[0]);
  return major < 22
    ? `pushover-open-client needs Node 22 or newer (this is Node ${versions.node}); install a newer Node, or run it with Deno 2 or Bun 1`
    : undefined;
}

if (isProgram()) {
  const unsupported = unsupportedRuntime(process.versions);
  if (unsupported) {
    process.stderr.write(`${unsupported}\n`);
    process.exit(EXIT.error);
  }
  outliveLateSignals();
  // What was printed goes out before the exit (stdout and stderr are both
  // written asynchronously on Deno). After a signal, stdout is not waited
  // for — it may be what blocks (a reader that stopped reading), and a
  // signal must end the process however full the pipe is — and stderr's
  // last lines a second at most.
  let signalled = false;
  for (const name of STOP_SIGNALS) process.on(name, () => signalled = true);
  const io = processIo();
  const code = await main(process.argv.slice(2), io);
  // A signal while flushing ends the wait: the pipe may never drain.
  const interrupted = new Promise<void>((resolve) => {
    for (const name of STOP_SIGNALS) process.on(name, () => resolve());
  });
  const written = signalled
    ? [flushed(io.stderr), new Promise((resolve) => setTimeout(resolve, 1_000))]
    : [Promise.all([flushed(io.stdout), flushed(io.stderr)])];
  await Promise.race([...written, interrupted]);
  // Explicitly: stdin and signal handlers must not keep a finished run up.
  process.exit(code);
}
