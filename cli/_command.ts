// One contract for every command: a flag table that both parses the command
// line and writes the help, `options` that turns what was parsed into the
// command's settings (every check there, before any I/O), and `run` with
// those settings and the context (streams, prompt, stop, network).

import { parseArgs } from "node:util";
import type { WebSocketConstructor } from "../mod.ts";
import { usage } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import type { Io } from "./_io.ts";
import type { Prompt } from "./_prompt.ts";

/** The environment a command reads (XDG folders, `PUSHOVER_*`). */
export type Env = Io["env"];

/** One flag: how it parses and what its line in the help says. */
export interface Flag {
  /** A switch, or a flag with a value. */
  readonly type: "boolean" | "string";
  /** May be given more than once; the values in order. */
  readonly multiple?: boolean;
  /** The value's name in the help (PATH, URL, DUR). */
  readonly value?: string;
  /** The help line(s); a function when it names an environment's default. */
  readonly help: string | ((env: Env) => string);
  /** A heading this flag starts in the help (flags after it go under it). */
  readonly section?: string;
  /** Parsed but left out of the help (a flag refused with a reason). */
  readonly hidden?: boolean;
}

/** A command's flags by name (without the leading `--`). */
export type Flags = Readonly<Record<string, Flag>>;

/** What the flags parsed to, typed from the table. */
export type Values<F extends Flags> = {
  -readonly [K in keyof F]?: F[K] extends { type: "boolean" } ? boolean
    : F[K] extends { multiple: true } ? string[]
    : string;
};

/** What `options` gets: the flags' values and the arguments. */
export interface Parsed<F extends Flags> {
  values: Values<F>;
  positionals: string[];
  /** With `rest`: everything after the first argument, unparsed. */
  rest: string[];
}

/** How requests and sockets go: the platform's unless given (tests). */
export interface Net {
  fetch?: typeof fetch;
  WebSocket?: WebSocketConstructor;
}

/** What a command runs with besides its options. */
export interface Context {
  io: Io;
  prompt: Prompt;
  /** Aborted by Ctrl-C, SIGTERM, SIGHUP or the caller's signal. */
  signal: AbortSignal;
  net: Net;
}

/** A command: its table, its checks, and what it does. */
export interface Command<F extends Flags = Flags, O = unknown> {
  readonly name: string;
  /** What follows the command's name on each usage line. */
  readonly usage: readonly string[];
  /** The paragraph(s) after the usage. */
  readonly about: string | ((env: Env) => string);
  readonly flags: F;
  /** How many arguments besides flags it takes (0 unless given). */
  readonly positionals?: number;
  /**
   * Everything after the first argument is passed on unparsed (`service`
   * hands it to `listen`'s table).
   */
  readonly rest?: boolean;
  /** Text after the flags (units, examples). */
  readonly footer?: string;
  /** The settings `run` gets; throws a usage error (exit 2) for bad input. */
  options(parsed: Parsed<F>, env: Env): O;
  /** Runs with checked settings; resolves with the exit code. */
  run(options: O, context: Context): Promise<number>;
}

/** A command, its flag types inferred from its table. */
export function defineCommand<const F extends Flags, O>(
  command: Command<F, O>,
): Command<F, O> {
  return command;
}

/** Every command has it; `main` looks for it before parsing. */
const HELP: Flags = { help: { type: "boolean", help: "this text" } };

/**
 * Parses `args` with the command's table and checks them with its
 * `options`: an unknown flag, a missing value, a stray argument or a
 * control character in a value is a usage error naming it.
 */
export function parseCommand<F extends Flags, O>(
  command: Command<F, O>,
  args: string[],
  env: Env,
): O {
  const { name } = command;
  const split = command.rest ? firstArgument(args) : args.length;
  const own = args.slice(0, split === -1 ? args.length : split + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      options: { ...command.flags, ...HELP } as ParseSpecs,
      allowPositionals: (command.positionals ?? 0) > 0,
    });
  } catch (error) {
    // node:util's messages name the flag; some take two lines (a hint).
    const message = (error as Error).message.replace(/\s*\n\s*/g, " ");
    throw usage(`${name}: ${message}; see ${name} --help`);
  }
  const limit = command.positionals ?? 0;
  if (parsed.positionals.length > limit) {
    throw usage(
      `${name}: unexpected argument '${
        oneLine(parsed.positionals[limit])
      }'; see ${name} --help`,
    );
  }
  const flag = flagWithControl(parsed.values);
  if (flag !== undefined) {
    throw usage(
      `${name}: --${flag} holds a control character (a line break, a carriage return or an escape); remove it`,
    );
  }
  return command.options({
    values: parsed.values as Values<F>,
    positionals: parsed.positionals,
    rest: split === -1 ? [] : args.slice(split + 1),
  }, env);
}

type ParseSpecs = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/**
 * The first flag whose value holds a control character, if any. A line
 * break or an escape in a value ends a unit file's line, forges a log line
 * or moves a terminal's cursor: none is wanted in any flag, from the command
 * line or from a file (the relay's).
 */
export function flagWithControl(
  values: Readonly<Record<string, unknown>>,
): string | undefined {
  for (const [flag, value] of Object.entries(values)) {
    const list = Array.isArray(value) ? value : [value];
    if (list.some((v) => typeof v === "string" && CONTROL.test(v))) return flag;
  }
  return undefined;
}

/** Control characters but tab (C0, DEL, C1). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** Where the first argument that is not a flag is, or -1. */
function firstArgument(args: string[]): number {
  return args.findIndex((arg) => !arg.startsWith("-"));
}

/** Where a flag's help starts, and how wide the help may be. */
const HELP_COLUMN = 24;
const WIDTH = 78;

/** The command's help, from its table. */
export function helpText(command: Command, env: Env): string {
  const usageLines = command.usage.map((line, i) =>
    `${i === 0 ? "Usage: " : "       "}pushover-open-client ${command.name}${
      line ? ` ${line}` : ""
    }`
  );
  const about = typeof command.about === "function"
    ? command.about(env)
    : command.about;
  const lines = [...usageLines, "", about, ""];
  const flags = Object.entries({ ...command.flags, ...HELP });
  if (!flags[0][1].section) lines.push("Options:");
  for (const [name, flag] of flags) {
    if (flag.hidden) continue;
    if (flag.section) lines.push(`${flag.section}:`);
    const label = `  --${name}${flag.value ? ` ${flag.value}` : ""}`;
    const text = typeof flag.help === "function" ? flag.help(env) : flag.help;
    lines.push(...column(label, text));
  }
  if (command.footer) lines.push("", command.footer);
  return lines.join("\n");
}

/**
 * A flag's label and its help wrapped beside it, in the help column. A
 * no-break space keeps two words on one line (a default and its path).
 */
function column(label: string, text: string): string[] {
  const words = text.split(/[ \n]+/).map((word) =>
    word.replace(/\u00a0/g, " ")
  );
  const lines: string[] = [];
  let line = label.length < HELP_COLUMN - 1
    ? label.padEnd(HELP_COLUMN)
    : `${label}  `;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + word.length > WIDTH) {
      lines.push(line.trimEnd());
      line = " ".repeat(HELP_COLUMN);
      empty = true;
    }
    line += `${empty ? "" : " "}${word}`;
    empty = false;
  }
  lines.push(line.trimEnd());
  return lines;
}
