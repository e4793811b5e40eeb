// Handing each message to something else: a command (`--exec`) or a URL
// (`--webhook`). A message counts as handled only when its hook succeeded.

import { spawn } from "node:child_process";
import process from "node:process";
import { parseRetryAfter } from "../lib/_http.ts";
import type { Message } from "../mod.ts";
import { toJson } from "./_format.ts";
import { childStderr, type Io } from "./_io.ts";

/**
 * A hook that did not succeed this time; `retryAfter` in ms, if told.
 * `final`: trying again cannot help (the system refuses to start it).
 */
export class HookFailed extends Error {
  readonly retryAfter: number | undefined;
  readonly final: boolean;
  constructor(message: string, retryAfter?: number, final = false) {
    super(message);
    this.retryAfter = retryAfter;
    this.final = final;
  }
}

/**
 * Errors starting a process that the same start would meet again: an
 * environment or argument list too big, a command that is not executable.
 */
const FINAL_SPAWN_ERRORS = new Set(["E2BIG", "ENAMETOOLONG"]);

/** Hands one message on; resolves when it was taken, throws HookFailed. */
export type Hook = (message: Message, signal: AbortSignal) => Promise<void>;

/** NUL cannot travel in an environment variable or an argument: dropped. */
export function withoutNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "") : text;
}

/**
 * The most of one variable a hook's environment carries, in UTF-16 units.
 * Linux refuses to start a process with any one variable over 128 KiB
 * (E2BIG), and an end-to-end encrypted body of 512 characters can unpack to
 * 300 KB: each copy is cut here, ten of them stay far below the total limit,
 * and the whole message is always on stdin.
 */
export const ENV_VALUE_LIMIT = 16 * 1024;

/**
 * The message in environment variables, for `sh -c`: the message text goes
 * there and on stdin, never into the command line. A value over
 * ENV_VALUE_LIMIT is cut (PUSHOVER_JSON, which a cut would break, is left
 * empty) and named in PUSHOVER_TRUNCATED.
 */
export function hookEnvironment(message: Message): Record<string, string> {
  const cut: string[] = [];
  const limited = (name: string, value: string) => {
    if (value.length <= ENV_VALUE_LIMIT) return value;
    cut.push(name);
    if (name === "PUSHOVER_JSON") return "";
    // Not between the two halves of a surrogate pair.
    const end = /[\ud800-\udbff]/.test(value[ENV_VALUE_LIMIT - 1])
      ? ENV_VALUE_LIMIT - 1
      : ENV_VALUE_LIMIT;
    return value.slice(0, end);
  };
  const text = (value: unknown) =>
    value === undefined ? "" : withoutNul(String(value));
  const values: Record<string, string> = {
    PUSHOVER_ID: message.id_str,
    PUSHOVER_TITLE: text(message.title ?? message.app),
    PUSHOVER_MESSAGE: text(message.message),
    PUSHOVER_APP: text(message.app),
    PUSHOVER_PRIORITY: text(message.priority),
    PUSHOVER_URL: text(message.url),
    PUSHOVER_URL_TITLE: text(message.url_title),
    PUSHOVER_RECEIPT: text(message.receipt),
    PUSHOVER_DATE: text(message.date),
    PUSHOVER_JSON: JSON.stringify(toJson(message)), // JSON escapes NUL
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    env[name] = limited(name, value);
  }
  env.PUSHOVER_TRUNCATED = cut.join(",");
  return env;
}

/** The login's answers never reach a hook, whatever their names suggest. */
const LOGIN_VARIABLES = [
  "PUSHOVER_EMAIL",
  "PUSHOVER_PASSWORD",
  "PUSHOVER_TWOFA",
  "PUSHOVER_WEBHOOK_AUTH",
];

/** Our environment without the login's answers: what children get. */
export function childEnvironment(
  parent: Io["env"],
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...parent };
  for (const name of LOGIN_VARIABLES) delete env[name];
  return env;
}

/**
 * `--exec CMD`: runs `sh -c CMD` with the message in the environment and as
 * JSON on stdin; the hook's own output goes to stderr, so stdout stays the
 * listener's. Succeeds when CMD exits 0; one that runs past `timeout` ms is
 * killed (SIGTERM, then SIGKILL, its whole process group) and counts as
 * failed, as does a shell that cannot start.
 */
export function execHook(command: string, timeout: number, io: Io): Hook {
  return (message, signal) =>
    new Promise((resolve, reject) => {
      const failed = (why: string, final = false) =>
        reject(new HookFailed(`--exec: the command ${why}`, undefined, final));
      const couldNotStart = (error: unknown) =>
        failed(
          `could not start: ${(error as Error).message}`,
          FINAL_SPAWN_ERRORS.has(String((error as { code?: unknown }).code)),
        );
      let child: ReturnType<typeof spawn>;
      try {
        // A process group of its own, so a stop or a timeout ends everything
        // the command started (`sh -c "a; sleep 30"` leaves sleep otherwise).
        child = spawn("sh", ["-c", command], {
          env: { ...childEnvironment(io.env), ...hookEnvironment(message) },
          stdio: ["pipe", "pipe", childStderr(io)],
          detached: true,
        });
      } catch (error) {
        couldNotStart(error);
        return;
      }
      const signalGroup = (name: "SIGTERM" | "SIGKILL") => {
        try {
          process.kill(-child.pid!, name);
        } catch {
          child.kill(name); // gone already, or no process groups here
        }
      };
      // Its stdout to our stderr: stdout stays the listener's own. Piped,
      // so a stderr nobody reads holds back the hook (its timeout ends it),
      // not the listener, and nothing piles up in memory.
      child.stdout!.pipe(io.stderr, { end: false });
      child.stderr?.pipe(io.stderr, { end: false });
      let outcome: string | undefined;
      let killer: ReturnType<typeof setTimeout> | undefined;
      const kill = (why: string) => {
        outcome ??= why;
        signalGroup("SIGTERM");
        killer ??= setTimeout(() => signalGroup("SIGKILL"), 2_000);
      };
      const timer = setTimeout(
        () => kill(`did not finish within ${timeout / 1000} s`),
        timeout,
      );
      const onAbort = () => kill("was stopped");
      signal.addEventListener("abort", onAbort);
      // The SIGKILL stays due when the shell exits: what it started and
      // that shrugged off the SIGTERM (a `trap "" TERM`) is still in its
      // group, and would finish its work unsupervised, once per try.
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      child.stdin!.on("error", () => {}); // a hook need not read its stdin
      child.stdin!.end(`${JSON.stringify(toJson(message))}\n`);
      // A shell that cannot start (ENOENT, EAGAIN) has an error and no exit.
      child.on("error", (error) => {
        settle();
        couldNotStart(error);
      });
      child.on("exit", (code, killedBy) => {
        settle();
        if (code === 0 && outcome === undefined) resolve();
        else {
          failed(
            outcome ??
              (killedBy ? `was killed (${killedBy})` : `exited with ${code}`),
          );
        }
      });
    });
}

/**
 * `--webhook URL`: POSTs the message's JSON; taken on a 2xx only (a
 * redirect is not followed: it would turn the POST into a GET without the
 * message). A 429 or 503's `Retry-After` sets the next try's earliest time.
 * `auth` (`user:password`, from PUSHOVER_WEBHOOK_AUTH: never in argv, where
 * every user of the machine can read it) becomes a Basic `Authorization`
 * header, and never shows in a report. `request` is the platform's `fetch`
 * unless given.
 */
export function webhookHook(
  target: URL,
  timeout: number,
  auth?: string,
  request: typeof fetch = fetch,
): Hook {
  const headers: Record<string, string> = {
    "content-type": "application/json",
  };
  if (auth) {
    // UTF-8, then base64 (RFC 7617): btoa alone refuses non-Latin-1 text.
    const bytes = new TextEncoder().encode(auth);
    headers.authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  const where = target.origin;
  return async (message, signal) => {
    let response: Response;
    try {
      response = await request(target, {
        method: "POST",
        headers,
        body: JSON.stringify(toJson(message)),
        redirect: "manual",
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
      });
    } catch (error) {
      // The error's own text may hold the URL: only its kind is shown.
      throw new HookFailed(
        `--webhook: ${where} could not be reached (${
          (error as Error).name === "TimeoutError"
            ? `no answer within ${timeout / 1000} s`
            : "network error"
        })`,
      );
    }
    await response.body?.cancel().catch(() => {});
    if (response.ok) return;
    const redirect = response.status >= 300 && response.status < 400;
    throw new HookFailed(
      `--webhook: ${where} answered ${response.status || "a redirect"}${
        redirect ? " (a redirect: give --webhook the URL it points to)" : ""
      }`,
      parseRetryAfter(response.headers.get("retry-after")),
    );
  };
}
