// The command line against the fake, with its XDG folders in a temporary
// directory so no test touches the real home: in-process through main(args,
// io) for most tests (no runtime to start: the suite's CPU), and as a child
// process of the runtime running the tests where the process itself is
// what is tested (signals, pipes, exit codes, start-up).

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { type Io, main } from "../cli/main.ts";
import type { Device } from "../mod.ts";
import { stringifyCredentials } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import type { FakeServer } from "../testing/mod.ts";
import {
  type LiveScript,
  runScript,
  type ScriptResult,
  startScript,
  Transcript,
} from "./_spawn.ts";
import { EMAIL, PASSWORD, TWOFA } from "./_setup.ts";

export const CLI = "cli/main.ts";

/** A second account, without 2FA, for the login without prompts. */
export const PLAIN = { email: "plain@example.com", password: "plain-pw-77" };

/** What a CLI test gets: the fake, a home of its own, and ways to run. */
export interface CliContext {
  server: FakeServer;
  dir: string;
  /** XDG folders inside `dir`, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** The credentials file path (XDG_CONFIG_HOME's). */
  config: string;
  /** The status file path (XDG_STATE_HOME's). */
  statusFile: string;
  /** `--api-url … --websocket-url …` for this fake. */
  urls: string[];
  /** Runs the CLI to its end, in-process. */
  run(args: string[], options?: RunOptions): Promise<ScriptResult>;
  /** Runs the CLI to its end as a child process. */
  runProcess(args: string[], options?: RunOptions): Promise<ScriptResult>;
  /** Starts the CLI in-process; stop it with signal("SIGINT"). */
  start(args: string[], env?: Record<string, string>): LiveScript;
  /** Starts the CLI as a child process; stop it with signal(). */
  startProcess(
    args: string[],
    env?: Record<string, string>,
    pipeTo?: string,
  ): LiveScript;
  /**
   * A device registered on the fake and saved (with the fake's URLs) where
   * the CLI looks, as `login` would leave it.
   */
  seed(name?: string): Promise<Device>;
}

/** How a run to its end is fed. */
export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** Milliseconds it may take (10 s). */
  limit?: number;
}

/**
 * The CLI in-process: main() with streams of its own, `env` over ours, and
 * SIGINT/SIGTERM as an abort. What needs a process (SIGSTOP, a real pipe)
 * is refused: use startProcess().
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  net: Pick<Io, "fetch" | "WebSocket"> = {},
): LiveScript {
  const stop = new AbortController();
  const stdin = new PassThrough();
  const transcript = new Transcript();
  const closed = { stdout: false, stderr: false };
  const output = (name: "stdout" | "stderr") =>
    new Writable({
      write(chunk, _encoding, done) {
        if (closed[name]) {
          // What a pipe whose reader went away answers.
          done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
        } else {
          transcript.append(name, String(chunk));
          done();
        }
      },
    });
  const stdout = output("stdout");
  const stderr = output("stderr");
  const exited = main(args, {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdin,
    stdout,
    stderr,
    signal: stop.signal,
    ...net,
  }).then((code) => ({ code, signal: null }));
  exited.then(() => transcript.ended(), () => {});
  return {
    waitFor: (stream, pattern, ms) => transcript.waitFor(stream, pattern, ms),
    write: (text) => stdin.write(text),
    endInput: () => stdin.end(),
    closeStdout: () => closed.stdout = true,
    closeStderr: () => closed.stderr = true,
    signal: (name) => {
      if (name !== "SIGINT" && name !== "SIGTERM") {
        throw new Error(`${name} needs a process: use startProcess()`);
      }
      stop.abort();
    },
    exited,
    output: () => transcript.output(),
    kill: async () => {
      stop.abort();
      await exited;
    },
  };
}

/** Runs the CLI in-process to its end, `stdin` given and then ended. */
export async function runCli(
  args: string[],
  { stdin = "", env, limit = 60_000 }: RunOptions = {},
  net: Pick<Io, "fetch" | "WebSocket"> = {},
): Promise<ScriptResult> {
  const started = Date.now();
  const cli = startCli(args, env, net);
  cli.write(stdin);
  // An ended stdin: what `child.stdin.end(text)` gives a child.
  cli.endInput();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cli.signal("SIGTERM");
      const { stdout, stderr } = cli.output();
      reject(
        new Error(
          `${
            args.join(" ")
          } did not end within ${limit} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, limit);
  });
  try {
    const { code } = await Promise.race([cli.exited, late]);
    return { code, ...cli.output(), elapsed: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** A test with a fresh fake (2FA and plain accounts) and a temporary home. */
export function cliTest(
  name: string,
  body: (context: CliContext) => Promise<void>,
  { skip, timeout = 120_000 }: {
    skip?: string | false;
    /** The safety net (ms): a test waits for events, and this only ends a hang. */
    timeout?: number;
  } = {},
): void {
  test(name, { timeout, skip }, async () => {
    const server = await startFakeServer({
      keepAliveInterval: 0,
      accounts: [
        { email: EMAIL, password: PASSWORD, twofa: TWOFA },
        PLAIN,
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), "cli-test-"));
    const net = inProcess(server);
    const env = (extra: Record<string, string> = {}) => ({
      XDG_CONFIG_HOME: join(dir, "config"),
      XDG_STATE_HOME: join(dir, "state"),
      XDG_CACHE_HOME: join(dir, "cache"),
      XDG_DATA_HOME: join(dir, "data"),
      PUSHOVER_EMAIL: "",
      PUSHOVER_PASSWORD: "",
      PUSHOVER_TWOFA: "",
      ...extra,
    });
    const config = join(
      dir,
      "config",
      "pushover-open-client",
      "credentials.json",
    );
    const context: CliContext = {
      server,
      dir,
      env,
      config,
      statusFile: join(dir, "state", "pushover-open-client", "status.json"),
      urls: [
        "--api-url",
        server.apiUrl,
        "--websocket-url",
        server.websocketUrl,
      ],
      run: (args, options = {}) =>
        runCli(args, { ...options, env: env(options.env) }, net),
      runProcess: (args, options = {}) =>
        runScript(CLI, { args, ...options, env: env(options.env) }),
      start: (args, extra) => startCli(args, env(extra), net),
      startProcess: (args, extra, pipeTo) =>
        startScript(CLI, { args, env: env(extra), pipeTo }),
      seed: (deviceName = "seeded") => seedDevice(server, config, deviceName),
    };
    try {
      await body(context);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The fake's in-process transport for the CLI run in-process: no port
 * between them. Requests to anywhere else (a webhook's receiver) go out
 * through the platform's fetch.
 */
function inProcess(server: FakeServer): Pick<Io, "fetch" | "WebSocket"> {
  const origin = new URL(server.apiUrl).origin;
  return {
    fetch: (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      return new URL(url).origin === origin
        ? server.fetch(input, init)
        : fetch(input, init);
    },
    WebSocket: server.WebSocket,
  };
}

/**
 * A device registered on `server`'s first account and saved in `config`
 * (with the fake's URLs), as `login` would leave it: its backlog (the
 * welcome) deleted.
 */
export async function seedDevice(
  server: FakeServer,
  config: string,
  deviceName: string,
): Promise<Device> {
  const account = server.store.accounts[0];
  const secret = server.store.issueSecret(account);
  const record = server.store.addDevice(account, deviceName);
  record.queue.length = 0;
  const device = { secret, deviceId: record.id };
  await mkdir(dirname(config), { recursive: true });
  await writeFile(
    config,
    stringifyCredentials({
      device,
      email: account.email,
      deviceName,
      userKey: account.userKey,
      apiUrl: server.apiUrl,
      websocketUrl: server.websocketUrl,
    }),
    { mode: 0o600 },
  );
  return device;
}

/**
 * A server's odd answer: the next download gives one message, id 1 (below
 * what the fake queues next, which must still come), with `fields` over a
 * plain one's; a message is sent whose `!` brings that download.
 */
export function sendOddMessage(
  server: FakeServer,
  fields: Record<string, unknown>,
): void {
  const message = {
    id: 1,
    id_str: "1",
    umid: 9,
    umid_str: "9",
    aid: 1,
    aid_str: "1",
    app: "Tests",
    icon: "i",
    date: 1_780_000_000,
    priority: 0,
    acked: 0,
    ...fields,
  };
  server.failNext({
    type: "json",
    body: JSON.stringify({ status: 1, request: "r", messages: [message] }),
  }, { endpoint: "download" });
  server.send({ message: "the download that brings it" });
}

/** Sends SIGINT (Ctrl-C) and expects exit code 0. */
export async function interrupt(child: LiveScript): Promise<number | null> {
  child.signal("SIGINT");
  return (await child.exited).code;
}
