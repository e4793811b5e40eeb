// Handing each message to something else: a command (`--exec`) or a URL
// (`--webhook`). A message counts as handled only when its hook succeeded.

import { spawn } from "node:child_process";
import process from "node:process";
import { parseRetryAfter } from "../lib/_http.ts";
import type { Message } from "../mod.ts";
import { toJson } from "./_format.ts";

/** A hook that did not succeed this time; `retryAfter` in ms, if told. */
export class HookFailed extends Error {
  readonly retryAfter: number | undefined;
  constructor(message: string, retryAfter?: number) {
    super(message);
    this.retryAfter = retryAfter;
  }
}

/** Hands one message on; resolves when it was taken, throws HookFailed. */
export type Hook = (message: Message, signal: AbortSignal) => Promise<void>;

/**
 * The message in environment variables, for `sh -c`: the message text goes
 * there and on stdin, never into the command line.
 */
export function hookEnvironment(message: Message): Record<string, string> {
  const json = JSON.stringify(toJson(message));
  const text = (value: unknown) => value === undefined ? "" : String(value);
  return {
    PUSHOVER_ID: message.id_str,
    PUSHOVER_TITLE: text(message.title ?? message.app),
    PUSHOVER_MESSAGE: text(message.message),
    PUSHOVER_APP: text(message.app),
    PUSHOVER_PRIORITY: text(message.priority),
    PUSHOVER_URL: text(message.url),
    PUSHOVER_URL_TITLE: text(message.url_title),
    PUSHOVER_RECEIPT: text(message.receipt),
    PUSHOVER_DATE: text(message.date),
    PUSHOVER_JSON: json,
  };
}

/**
 * `--exec CMD`: runs `sh -c CMD` with the message in the environment and as
 * JSON on stdin; the hook's own output goes to stderr, so stdout stays the
 * listener's. Succeeds when CMD exits 0; one that runs past `timeout` ms is
 * killed (SIGTERM, then SIGKILL) and counts as failed.
 */
export function execHook(command: string, timeout: number): Hook {
  return (message, signal) =>
    new Promise((resolve, reject) => {
      // A process group of its own, so a stop or a timeout ends everything
      // the command started (`sh -c "a; sleep 30"` leaves sleep otherwise).
      const child = spawn("sh", ["-c", command], {
        env: { ...process.env, ...hookEnvironment(message) },
        stdio: ["pipe", "pipe", "inherit"],
        detached: true,
      });
      const signalGroup = (name: "SIGTERM" | "SIGKILL") => {
        try {
          process.kill(-child.pid!, name);
        } catch {
          child.kill(name); // gone already, or no process groups here
        }
      };
      child.stdout.on("data", (chunk) => process.stderr.write(chunk));
      let outcome: string | undefined;
      const kill = (why: string) => {
        outcome ??= why;
        signalGroup("SIGTERM");
        setTimeout(() => signalGroup("SIGKILL"), 2_000).unref?.();
      };
      const timer = setTimeout(
        () => kill(`did not finish within ${timeout / 1000} s`),
        timeout,
      );
      const onAbort = () => kill("was stopped");
      signal.addEventListener("abort", onAbort);
      child.stdin.on("error", () => {}); // a hook need not read its stdin
      child.stdin.end(`${JSON.stringify(toJson(message))}\n`);
      child.on("error", (error) => {
        outcome ??= `could not start: ${(error as Error).message}`;
      });
      child.on("exit", (code, killedBy) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (code === 0 && outcome === undefined) resolve();
        else {
          reject(
            new HookFailed(
              `--exec: the command ${
                outcome ??
                  (killedBy
                    ? `was killed (${killedBy})`
                    : `exited with ${code}`)
              }`,
            ),
          );
        }
      });
    });
}

/**
 * `--webhook URL`: POSTs the message's JSON; taken on a 2xx. A 429 or 503's
 * `Retry-After` sets the next try's earliest time.
 */
export function webhookHook(url: string, timeout: number): Hook {
  return async (message, signal) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(toJson(message)),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
      });
    } catch (error) {
      throw new HookFailed(
        `--webhook: ${new URL(url).origin} could not be reached (${
          (error as Error).name === "TimeoutError"
            ? `no answer within ${timeout / 1000} s`
            : (error as Error).message
        })`,
      );
    }
    await response.body?.cancel().catch(() => {});
    if (response.ok) return;
    throw new HookFailed(
      `--webhook: ${new URL(url).origin} answered ${response.status}`,
      parseRetryAfter(response.headers.get("retry-after")),
    );
  };
}
