// examples/listen.ts, driven end to end as a person would: a child process of
// the current runtime, answering its prompts on stdin, against the fake.

import assert from "node:assert/strict";
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import type { Message } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import type { FakeServer } from "../testing/mod.ts";
import { type LiveScript, runScript, startScript } from "./_spawn.ts";
import { EMAIL, PASSWORD, TWOFA } from "./_setup.ts";

const LISTENER = "examples/listen.ts";

/** A fake server (account with 2FA), a temp folder, and cleanup of both. */
function listenerTest(
  name: string,
  body: (server: FakeServer, dir: string) => Promise<void>,
): void {
  test(name, { timeout: 30_000 }, async () => {
    const server = await startFakeServer({
      keepAliveInterval: 0,
      accounts: [{ email: EMAIL, password: PASSWORD, twofa: TWOFA }],
    });
    const dir = await mkdtemp(join(tmpdir(), "listen-test-"));
    try {
      await body(server, dir);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

function urls(server: FakeServer): string[] {
  return ["--api-url", server.apiUrl, "--websocket-url", server.websocketUrl];
}

/** Runs a first run through its prompts; leaves the listener online. */
async function firstRun(
  server: FakeServer,
  config: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<LiveScript> {
  const child = startScript(LISTENER, {
    args: ["--config", config, ...urls(server), ...extra],
    env,
  });
  try {
    await child.waitFor("stderr", "E-mail: ");
    child.write(`${EMAIL}\n`);
    await child.waitFor("stderr", "Password: ");
    child.write(`${PASSWORD}\n`);
    await child.waitFor("stderr", "Two-factor code: ");
    child.write("000000\n"); // wrong first: it must ask again
    await child.waitFor("stderr", "That code was not accepted.");
    await child.waitFor("stderr", "Two-factor code: ");
    child.write(`${TWOFA}\n`);
    await child.waitFor("stderr", "Device name [");
    child.write("test-box\n");
    await child.waitFor("stderr", "Saved the device's credentials");
    await child.waitFor("stderr", "online");
    // The first run skips the backlog (the welcome message): once that delete
    // is done, whatever the test sends next is live, not backlog.
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "delete" && e.status === 200
    );
    return child;
  } catch (error) {
    await child.kill();
    throw error;
  }
}

async function stopWithCtrlC(child: LiveScript): Promise<void> {
  child.signal("SIGINT");
  assert.deepEqual(await child.exited, { code: 0, signal: null });
}

listenerTest(
  "the listener's first run logs in with 2FA, registers, saves 0600 credentials without password, and prints JSON lines",
  async (server, dir) => {
    const config = join(dir, "nested", "credentials.json");
    const child = await firstRun(server, config, ["--json"]);
    try {
      // The welcome message was skipped as backlog on the first run.
      server.send({
        message: "Disk <b>full</b>",
        title: "db01",
        html: true,
        url: "https://example.com/db",
      });
      const line = await child.waitFor("stdout", '"Disk <b>full</b>"');
      const message = JSON.parse(line) as Message;
      assert.equal(message.title, "db01");
      assert.equal(message.html, 1);
      assert.ok(!child.output().stdout.includes("Welcome"));
      await stopWithCtrlC(child);
    } finally {
      await child.kill();
    }
    const file = await readFile(config, "utf8");
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.ok(
      !file.includes(PASSWORD) && !file.includes(TWOFA) &&
        !file.includes("password"),
    );
    const saved = JSON.parse(file);
    assert.equal(saved.deviceName, "test-box");
    assert.equal(saved.email, EMAIL);
    assert.ok(server.store.devices.has(saved.deviceId));
    const { stdout, stderr } = child.output();
    assert.ok(
      !stdout.includes(PASSWORD) && !stderr.includes(PASSWORD),
      "password echoed",
    );
  },
);

listenerTest(
  "the listener's later runs reuse the credentials, deliver what came meanwhile as lines, and acknowledge only on 'y'",
  async (server, dir) => {
    const config = join(dir, "credentials.json");
    const first = await firstRun(server, config);
    await stopWithCtrlC(first);
    server.send({ message: "while stopped", title: "Backlog", app: "Cron" });
    const child = startScript(LISTENER, {
      args: ["--config", config, "--ack", ...urls(server)],
    });
    try {
      const line = await child.waitFor("stdout", "while stopped");
      assert.match(
        line,
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[Cron\] Backlog: while stopped$/,
      );
      assert.ok(
        !child.output().stderr.includes("E-mail"),
        "asked to log in again",
      );
      const first = server.send({
        message: "Smoke",
        priority: 2,
        app: "Alarm",
        url: "https://example.com/cam",
      });
      assert.match(
        await child.waitFor("stdout", "Smoke"),
        / EMERGENCY \[Alarm\] Smoke {2}<https:\/\/example.com\/cam>$/,
      );
      await child.waitFor("stderr", "Acknowledge this emergency? [y/N]");
      child.write("n\n");
      await child.waitFor("stderr", "not acknowledged");
      assert.equal(server.store.isPending(first.receipt!), true);
      const second = server.send({
        message: "Fire",
        priority: 2,
        app: "Alarm",
      });
      await child.waitFor("stderr", "Acknowledge this emergency? [y/N]");
      child.write("y\n");
      await child.waitFor("stderr", "acknowledged");
      assert.equal(server.store.isPending(second.receipt!), false);
      await stopWithCtrlC(child);
    } finally {
      await child.kill();
    }
  },
);

listenerTest(
  "the listener exits 3 when the device is refused and 4 when another client takes over",
  async (server, dir) => {
    const config = join(dir, "credentials.json");
    const first = await firstRun(server, config);
    const deviceId = JSON.parse(await readFile(config, "utf8")).deviceId;
    const second = startScript(LISTENER, {
      args: ["--config", config, ...urls(server)],
    });
    try {
      await server.waitForLogin(deviceId, 2);
      assert.deepEqual(await first.exited, { code: 4, signal: null });
      assert.match(
        first.output().stderr,
        /another client logged in as this device/,
      );
      await second.waitFor("stderr", "online");
      server.disableDevice(deviceId);
      assert.deepEqual(await second.exited, { code: 3, signal: null });
      assert.match(
        second.output().stderr,
        /Delete .*credentials\.json and run again to log in/,
      );
    } finally {
      await first.kill();
      await second.kill();
    }
  },
);

listenerTest(
  "the listener imports the Python client's config without rewriting it",
  async (server, dir) => {
    const account = server.store.accounts[0];
    const secret = server.store.issueSecret(account);
    const device = server.store.addDevice(account, "seeded");
    const seed = join(dir, "pushover-config.json");
    const text = JSON.stringify({
      email: EMAIL,
      password: PASSWORD,
      secret,
      deviceID: device.id,
      userID: account.userKey,
    });
    await writeFile(seed, text);
    const child = startScript(LISTENER, {
      args: ["--config", seed, ...urls(server)],
    });
    try {
      assert.match(
        await child.waitFor("stdout", "Welcome to Pushover!"),
        /\[Pushover\] Welcome to Pushover!: Your device seeded/,
      );
      await stopWithCtrlC(child);
    } finally {
      await child.kill();
    }
    assert.equal(await readFile(seed, "utf8"), text);
  },
);

listenerTest(
  "the listener sends desktop notifications through notify-send with the priority's urgency and a cached icon",
  async (server, dir) => {
    const bin = join(dir, "bin");
    const log = join(dir, "notify.log");
    await mkdir(bin);
    await writeFile(
      join(bin, "notify-send"),
      `#!/bin/sh\n[ "$1" = "--version" ] && exit 0\nprintf '%s|' "$@" >> "${log}"\necho >> "${log}"\n`,
    );
    await chmod(join(bin, "notify-send"), 0o755);
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      XDG_CACHE_HOME: join(dir, "cache"),
    };
    const child = await firstRun(server, join(dir, "credentials.json"), [
      "--notify",
    ], env);
    try {
      server.send({ message: "quiet one", priority: -1, app: "Low" });
      server.send({ message: "silent one", priority: -2, app: "Silent" });
      server.send({
        message: "urgent one",
        priority: 2,
        app: "High",
        title: "Alarm",
      });
      await child.waitFor("stdout", "urgent one");
      await child.waitFor("stderr", "run with --ack");
      await stopWithCtrlC(child);
    } finally {
      await child.kill();
    }
    const calls = (await readFile(log, "utf8")).trim().split("\n");
    const icon = join(
      dir,
      "cache",
      "pushover-open-client",
      "icons",
      "mnsw2ykc6qa5sbn.png",
    );
    assert.deepEqual(calls, [
      `--app-name=Low|--urgency=low|--icon=${icon}|Low|quiet one|`,
      `--app-name=High|--urgency=critical|--icon=${icon}|Alarm|urgent one|`,
    ]);
    assert.equal((await stat(icon)).size > 0, true);
    assert.equal(server.log.requests("asset").length, 1); // fetched once
  },
);

test("the listener prints --help and rejects bad usage with exit code 2", async () => {
  const help = await runScript(LISTENER, { args: ["--help"] });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: listen \[options\]/);
  const bad = await runScript(LISTENER, { args: ["--backlog", "all"] });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--backlog must be deliver or skip, not 'all'/);
  const unknown = await runScript(LISTENER, { args: ["--frobnicate"] });
  assert.equal(unknown.code, 2);
});

const E2EE_KEY =
  "a3c1f0e2d4b6978856341202eeddccbbaa99887766554433221100ffeeddccbb";

listenerTest(
  "the listener decrypts end-to-end encrypted messages with --e2ee-key-file, keeps the key 0600 beside the credentials, and --json carries e2ee",
  async (server, dir) => {
    const config = join(dir, "credentials.json");
    const keyFile = join(dir, "my.key");
    await writeFile(keyFile, `${E2EE_KEY}\n`, { mode: 0o600 });
    const child = await firstRun(server, config, [
      "--json",
      "--e2ee-key-file",
      keyFile,
    ]);
    try {
      server.send({
        title: "Grab",
        message: "Dune was grabbed",
        encryptWith: E2EE_KEY,
      });
      const line = await child.waitFor("stdout", '"Dune was grabbed"');
      const message = JSON.parse(line) as Message;
      assert.equal(message.title, "Grab");
      assert.equal(message.e2ee, "decrypted");
      await stopWithCtrlC(child);
    } finally {
      await child.kill();
    }
    const saved = join(dir, "e2ee-key");
    assert.equal((await stat(saved)).mode & 0o777, 0o600);
    assert.equal((await readFile(saved, "utf8")).trim(), E2EE_KEY);
    const { stdout, stderr } = child.output();
    assert.ok(!stdout.includes(E2EE_KEY) && !stderr.includes(E2EE_KEY));
    // A later run finds the saved key by itself; a line says what cannot be read.
    server.send({ message: "again, encrypted", encryptWith: E2EE_KEY });
    const later = startScript(LISTENER, {
      args: ["--config", config, ...urls(server)],
    });
    try {
      await later.waitFor("stdout", "again, encrypted");
      later.signal("SIGINT");
      await later.exited;
    } finally {
      await later.kill();
    }
  },
);

listenerTest(
  "the listener refuses a key file others can read, in one line, before connecting",
  async (server, dir) => {
    const config = join(dir, "credentials.json");
    await stopWithCtrlC(await firstRun(server, config));
    const keyFile = join(dir, "open.key");
    await writeFile(keyFile, `${E2EE_KEY}\n`);
    await chmod(keyFile, 0o644);
    const logins = server.log.sockets("login").length;
    const result = await runScript(LISTENER, {
      args: ["--config", config, "--e2ee-key-file", keyFile, ...urls(server)],
    });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr.trim(),
      `refusing the key file ${keyFile}: group or others can read it; run chmod 600 ${keyFile}`,
    );
    assert.ok(!result.stderr.includes(E2EE_KEY));
    assert.equal(server.log.sockets("login").length, logins);
  },
);
