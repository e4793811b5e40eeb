// The command line as a child process of the runtime running the tests,
// against the fake, with its XDG folders in a temporary directory so no
// test touches the real home.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Device } from "../mod.ts";
import { stringifyCredentials } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import type { FakeServer } from "../testing/mod.ts";
import {
  type LiveScript,
  runScript,
  type ScriptResult,
  startScript,
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
  /** Runs the CLI to its end. */
  run(
    args: string[],
    options?: { stdin?: string; env?: Record<string, string>; limit?: number },
  ): Promise<ScriptResult>;
  /** Starts the CLI; stop it with signal(). */
  start(
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

/** A test with a fresh fake (2FA and plain accounts) and a temporary home. */
export function cliTest(
  name: string,
  body: (context: CliContext) => Promise<void>,
  { skip }: { skip?: string | false } = {},
): void {
  test(name, { timeout: 30_000, skip }, async () => {
    const server = await startFakeServer({
      keepAliveInterval: 0,
      accounts: [
        { email: EMAIL, password: PASSWORD, twofa: TWOFA },
        PLAIN,
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), "cli-test-"));
    const env = (extra: Record<string, string> = {}) => ({
      XDG_CONFIG_HOME: join(dir, "config"),
      XDG_STATE_HOME: join(dir, "state"),
      XDG_CACHE_HOME: join(dir, "cache"),
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
        runScript(CLI, {
          args,
          stdin: options.stdin,
          limit: options.limit,
          env: env(options.env),
        }),
      start: (args, extra, pipeTo) =>
        startScript(CLI, { args, env: env(extra), pipeTo }),
      seed: async (deviceName = "seeded") => {
        const account = server.store.accounts[0];
        const secret = server.store.issueSecret(account);
        const record = server.store.addDevice(account, deviceName);
        record.queue.length = 0; // as login leaves it: the welcome deleted
        const device = { secret, deviceId: record.id };
        await mkdir(join(dir, "config", "pushover-open-client"), {
          recursive: true,
        });
        await writeFile(
          config,
          stringifyCredentials({
            device,
            email: EMAIL,
            deviceName,
            userKey: account.userKey,
            apiUrl: server.apiUrl,
            websocketUrl: server.websocketUrl,
          }),
          { mode: 0o600 },
        );
        return device;
      },
    };
    try {
      await body(context);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** Sends SIGINT (Ctrl-C) and expects exit code 0. */
export async function interrupt(child: LiveScript): Promise<number | null> {
  child.signal("SIGINT");
  return (await child.exited).code;
}
