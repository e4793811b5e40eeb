// The command line's `login`, `messages`, `pending`, `ack`, `status`,
// `logout` and `service`, run as a person or a service would run them,
// against the fake: in-process through main(), and as processes of the
// runtime under test where stdin, signals or start-up are tested.

import assert from "node:assert/strict";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { CLI, cliTest, PLAIN, runCli } from "./_cli.ts";
import { runScript } from "./_spawn.ts";
import { EMAIL, PASSWORD, TWOFA } from "./_setup.ts";

/** Nothing a person sees may name a JS class or show a stack frame. */
function assertPlain(stderr: string): void {
  assert.doesNotMatch(
    stderr,
    /\b(TypeError|RangeError|Error:|PushoverError)\b|^\s+at /m,
  );
}

cliTest(
  "login without prompts (PUSHOVER_EMAIL, PUSHOVER_PASSWORD) registers, deletes the welcome and saves 0600 credentials with the URLs, no password",
  async ({ server, runProcess, urls, config }) => {
    // A process: the binary starts and reads its environment on this runtime.
    const result = await runProcess(["login", "--name", "svc-box", ...urls], {
      env: { PUSHOVER_EMAIL: PLAIN.email, PUSHOVER_PASSWORD: PLAIN.password },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^Logged in as plain@example\.com; this machine is the device "svc-box"\. Saved to .*credentials\.json \(no password\)\./,
    );
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    const text = await readFile(config, "utf8");
    assert.ok(!text.includes(PLAIN.password) && !text.includes("password"));
    const saved = JSON.parse(text);
    assert.equal(saved.apiUrl, server.apiUrl);
    assert.equal(saved.websocketUrl, server.websocketUrl);
    assert.equal(saved.deviceName, "svc-box");
    // The new device's backlog (its welcome) is gone.
    assert.deepEqual(server.store.devices.get(saved.deviceId)!.queue, []);
    assert.ok(!result.stderr.includes(PLAIN.password));
  },
);

cliTest(
  "login reads piped answers line by line: e-mail, password, a refused 2FA code, the right one",
  async ({ server, runProcess, urls, config }) => {
    // A process: this runtime's own stdin, not a test's stream.
    const result = await runProcess(["login", "--name", "piped", ...urls], {
      // All at once, as a pipe delivers them: none may be lost.
      // The right code with spaces around it, as typed: trimmed.
      stdin: `${EMAIL}\n${PASSWORD}\n000000\n ${TWOFA} \n`,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /E-mail: Password: Two-factor code: That code was not accepted\.\nTwo-factor code: Logged in as/,
    );
    assert.equal(JSON.parse(await readFile(config, "utf8")).email, EMAIL);
    assert.equal(server.log.requests("login").length, 3);
    assert.ok(
      !result.stderr.includes(PASSWORD) && !result.stderr.includes(TWOFA),
    );
  },
);

for (
  const [at, stdin, what] of [
    ["the e-mail", "", "e-mail"],
    ["the password", `${EMAIL}\n`, "password"],
    ["the 2FA code", `${EMAIL}\n${PASSWORD}\n`, "two-factor code"],
  ] as const
) {
  cliTest(
    `login stops in one line, exit 2, at end of input at ${at}`,
    async ({ server, run, urls, config }) => {
      const result = await run(["login", ...urls], { stdin });
      assert.equal(result.code, 2);
      const last = result.stderr.trim().split("\n").at(-1)!;
      assert.match(
        last,
        new RegExp(
          `login: no ${what} was given \\(end of input\\); type it in a terminal, or set PUSHOVER_`,
        ),
      );
      assertPlain(result.stderr);
      assert.equal(server.log.requests("register").length, 0);
      await assert.rejects(stat(config));
    },
  );
}

cliTest(
  "login checks the URLs before asking anything: clear text to another host is refused",
  async ({ run }) => {
    const result = await run(
      ["login", "--api-url", "http://api.example.com/1"],
      {
        stdin: `${EMAIL}\n`,
      },
    );
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr.trim(),
      "--api-url must use https:// (http:// only for this machine): the device's secret would travel in clear text to api.example.com",
    );
  },
);

cliTest(
  "a typed password is kept as typed, its spaces too",
  async ({ server, run, urls }) => {
    const password = "  pass phrase  ";
    server.addAccount({ email: "spaces@example.com", password });
    const result = await run(["login", "--name", "spaced", ...urls], {
      stdin: `spaces@example.com\n${password}\n`,
    });
    assert.equal(result.code, 0, result.stderr);
  },
);

cliTest(
  "Ctrl-C while login's request is on its way stops it there: nothing is registered or saved",
  async ({ server, start, urls, config }) => {
    // Answered late, not never: a login that went on would register then.
    server.failNext({ type: "delay", ms: 10_000 }, { endpoint: "login" });
    const login = start(["login", "--name", "stopped", ...urls], {
      PUSHOVER_EMAIL: PLAIN.email,
      PUSHOVER_PASSWORD: PLAIN.password,
    });
    try {
      while (server.log.requests("login").length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      login.signal("SIGINT");
      await login.exited;
    } finally {
      await login.kill();
    }
    assert.equal(server.log.requests("register").length, 0);
    await assert.rejects(stat(config));
  },
);

cliTest(
  "login that fails leaves the saved device its own end-to-end key; one whose credentials cannot be written registers nothing",
  async ({ server, run, urls, config, dir }) => {
    const keyA = join(dir, "a.key");
    const keyB = join(dir, "b.key");
    await writeFile(keyA, `${"a".repeat(64)}\n`, { mode: 0o600 });
    await writeFile(keyB, `${"b".repeat(64)}\n`, { mode: 0o600 });
    const env = {
      PUSHOVER_EMAIL: PLAIN.email,
      PUSHOVER_PASSWORD: PLAIN.password,
    };
    const first = await run(
      ["login", "--name", "one", "--e2ee-key-file", keyA, ...urls],
      { env },
    );
    assert.equal(first.code, 0, first.stderr);
    const saved = join(dirname(config), "e2ee-key");
    const refused = await run(
      ["login", "--name", "two", "--e2ee-key-file", keyB, ...urls],
      { env: { ...env, PUSHOVER_PASSWORD: "wrong" } },
    );
    assert.equal(refused.code, 3, refused.stderr);
    assert.equal((await readFile(saved, "utf8")).trim(), "a".repeat(64));
    const registered = server.log.requests("register").length;
    const folder = join(dir, "taken");
    await mkdir(folder);
    const blocked = await run(
      ["login", "--name", "three", "--config", folder, ...urls],
      { env },
    );
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /^cannot write .*taken: it is a directory\n$/);
    assert.equal(server.log.requests("register").length, registered);
  },
);

cliTest(
  "login with a wrong password: asked again on a terminal, but without one it stops (exit 3) after one try",
  async ({ server, run, urls }) => {
    const result = await run(["login", ...urls], {
      env: { PUSHOVER_EMAIL: PLAIN.email, PUSHOVER_PASSWORD: "wrong" },
    });
    assert.equal(result.code, 3);
    assert.equal(
      result.stderr.trim(),
      "Pushover did not accept the e-mail plain@example.com with that password",
    );
    assert.equal(server.log.requests("login").length, 1);
  },
);

cliTest(
  "login with a taken name stops without a terminal after one registration request, suggesting --name or --force; --force takes the name over",
  async ({ server, run, urls, config, seed }) => {
    const old = await seed("kitchen");
    const env = {
      PUSHOVER_EMAIL: EMAIL,
      PUSHOVER_PASSWORD: PASSWORD,
      PUSHOVER_TWOFA: TWOFA,
    };
    const taken = await run(["login", "--name", "kitchen", ...urls], { env });
    assert.equal(taken.code, 2);
    assert.equal(
      taken.stderr.trim(),
      'the device name "kitchen" is taken by another device of this account: pass --name with another name, or --force to take "kitchen" over (that device most likely stops working)',
    );
    assert.equal(server.log.requests("register").length, 1);
    const forced = await run(
      ["login", "--name", "kitchen", "--force", ...urls],
      { env },
    );
    assert.equal(forced.code, 0, forced.stderr);
    const saved = JSON.parse(await readFile(config, "utf8"));
    assert.notEqual(saved.deviceId, old.deviceId);
    assert.equal(server.store.devices.has(old.deviceId), false);
  },
);

cliTest(
  "a credentials file that is not one, or a directory, is named with the fix in one line",
  async ({ run, dir }) => {
    const notJson = join(dir, "broken.json");
    await writeFile(notJson, "{ not json");
    const broken = await run(["messages", "--config", notJson]);
    assert.equal(broken.code, 2);
    assert.equal(
      broken.stderr.trim(),
      `${notJson} is not a credentials file (the text is not JSON): run "pushover-open-client login --config ${notJson}" to write a new one`,
    );
    const folder = join(dir, "folder");
    await mkdir(folder);
    const isDir = await run(["listen", "--config", folder]);
    assert.equal(isDir.code, 2);
    assert.equal(
      isDir.stderr.trim(),
      `cannot read ${folder}: it is a directory; pass --config FILE`,
    );
    const none = await run(["listen", "--config", join(dir, "none.json")]);
    assert.equal(none.code, 3);
    assert.match(
      none.stderr.trim(),
      /^no device is saved in .*none\.json: run "pushover-open-client login --config \S*none\.json" first$/,
    );
    for (const result of [broken, isDir, none]) assertPlain(result.stderr);
  },
);

cliTest(
  "messages lists the queue without deleting; pending lists emergencies with receipts; ack RECEIPT and ack --all acknowledge",
  async ({ server, run, seed }) => {
    const device = await seed();
    server.send({ message: "plain one", title: "T" });
    const first = server.send({ message: "fire", priority: 2, app: "Alarm" });
    const second = server.send({ message: "smoke", priority: 2, app: "Alarm" });
    const listed = await run(["messages", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((m) => m.message), [
      "plain one",
      "fire",
      "smoke",
    ]);
    assert.equal(typeof lines[0].id, "string");
    assert.equal("id_str" in lines[0], false);
    assert.equal(server.store.devices.get(device.deviceId)!.queue.length, 3);
    const pending = await run(["pending"]);
    assert.equal(pending.code, 0);
    assert.match(
      pending.stdout,
      new RegExp(`^${first.receipt}  .* EMERGENCY \\[Alarm\\] fire$`, "m"),
    );
    const one = await run(["ack", first.receipt!]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(server.store.isPending(first.receipt!), false);
    assert.equal(server.store.isPending(second.receipt!), true);
    const all = await run(["ack", "--all"]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(server.store.isPending(second.receipt!), false);
    const neither = await run(["ack"]);
    assert.equal(neither.code, 2);
  },
);

cliTest(
  "logout forgets the device and says it stays on the dashboard; a second logout says so, exit 0; status no longer names the device",
  async ({ run, seed, config, statusFile }) => {
    await seed("desk");
    await mkdir(join(statusFile, ".."), { recursive: true });
    await writeFile(
      statusFile,
      JSON.stringify({ state: "stopped", since: "x", pid: 1, device: "desk" }),
    );
    const result = await run(["logout"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^Forgot the device "desk" \(deleted .*\)\. It stays on your dashboard/,
    );
    await assert.rejects(stat(config));
    const again = await run(["logout"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^not logged in: no device is saved in /);
    const status = await run(["status"]);
    assert.doesNotMatch(status.stdout, /desk/);
  },
);

cliTest(
  "logout deletes a broken credentials file in the usual place, saying so; one named with --config, or a folder in its place, is left alone",
  async ({ run, config, dir }) => {
    await mkdir(join(config, ".."), { recursive: true });
    await writeFile(config, "{not json", { mode: 0o600 });
    const named = join(dir, "mine.json");
    await writeFile(named, "{not json", { mode: 0o600 });
    const given = await run(["logout", "--config", named]);
    assert.equal(given.code, 2);
    assert.match(given.stderr, /is not a credentials file/);
    assert.equal(await readFile(named, "utf8"), "{not json");
    const usual = await run(["logout"]);
    assert.equal(usual.code, 0, usual.stderr);
    assert.match(
      usual.stderr,
      /^Forgot the device \(deleted .*, which was not a credentials file\)\. It stays on your dashboard/,
    );
    await assert.rejects(stat(config));
    // A folder where the file should be: not known to be credentials.
    await mkdir(config);
    const folder = await run(["logout"]);
    assert.equal(folder.code, 2);
    assert.equal(
      folder.stderr,
      `cannot read ${config}, so nothing was deleted: check what it is, and delete it yourself if it is not needed\n`,
    );
    assert.ok((await stat(config)).isDirectory());
  },
);

cliTest(
  "status reads the status file: exit 1 without a listener, a dead listener's file is told apart",
  async ({ run, statusFile }) => {
    const none = await run(["status"]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^not running \(no status file at /);
    await mkdir(join(statusFile, ".."), { recursive: true });
    await writeFile(
      statusFile,
      JSON.stringify({
        state: "connected",
        since: "2026-01-01T00:00:00.000Z",
        pid: 2 ** 22 + 7,
      }),
    );
    const dead = await run(["status"]);
    assert.equal(dead.code, 1);
    assert.match(
      dead.stdout,
      /^not running \(the listener, pid \d+, ended without saying so\)/,
    );
    // A live listener (this process stands in for it): a problem from before
    // the connection that runs now is said to be over; a later one is not.
    const problem = async (lastErrorAt: string) => {
      await writeFile(
        statusFile,
        JSON.stringify({
          state: "connected",
          since: "2026-01-01T10:00:00.000Z",
          pid: process.pid,
          lastError: "the connection closed",
          lastErrorAt,
        }),
      );
      return (await run(["status"])).stdout;
    };
    assert.match(
      await problem("2026-01-01T09:59:00.000Z"),
      /^last problem: the connection closed \(at 2026-01-01T09:59:00\.000Z; connected again since\)$/m,
    );
    assert.match(
      await problem("2026-01-01T10:01:00.000Z"),
      /^last problem: the connection closed \(at 2026-01-01T10:01:00\.000Z\)$/m,
    );
  },
);

test("service print writes a systemd user unit with absolute paths (every PATH flag) that restarts on failure but not after exit 3 or 4", async () => {
  // A process: the unit names the runtime and flags it was started with
  // (in-process, they would be the test runner's).
  const result = await runScript(CLI, {
    args: [
      "service",
      "print",
      "--notify",
      "--config",
      "relative/creds.json",
      "--inbox=kept/inbox.sqlite",
    ],
  });
  assert.equal(result.code, 0, result.stderr);
  const unit = result.stdout;
  const exec = unit.match(/^ExecStart=(.*)$/m)![1];
  assert.match(exec, /^\/\S+ /, "the runtime by absolute path");
  assert.doesNotMatch(exec, /--test/, "no test runner's flags");
  assert.match(
    exec,
    / \/\S+\/cli\/main\.ts listen --notify --config \/\S+\/relative\/creds\.json --inbox=\/\S+\/kept\/inbox\.sqlite$/,
  );
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^RestartPreventExitStatus=2 3 4$/m);
  assert.match(unit, /^WantedBy=default\.target$/m);
});

/** Where `service install` writes the unit, under a test's home. */
const unitFile = (dir: string) =>
  join(dir, "config", "systemd", "user", "pushover-open-client.service");

cliTest(
  "service install writes the unit where systemd looks, systemd-analyze verify accepts it (hostile quoting included), and uninstall removes it",
  async (context) => {
    const hostile = `echo "$PUSHOVER_TITLE 100%" \\ 'x'`;
    const install = await context.run([
      "service",
      "install",
      "--notify",
      "--exec",
      hostile,
    ]);
    assert.equal(install.code, 0, install.stderr);
    const unit = unitFile(context.dir);
    assert.match(
      install.stderr,
      /systemctl --user enable --now pushover-open-client/,
    );
    const text = await readFile(unit, "utf8");
    assert.match(text, /^ExecStart=.* listen --notify --exec "/m);
    if (spawnSync("systemd-analyze", ["--version"]).error) {
      console.log(
        "# skipped: systemd-analyze is not installed; the unit was not verified",
      );
    } else {
      assert.doesNotMatch(install.stderr, /systemd-analyze verify:/);
      const verify = spawnSync("systemd-analyze", ["verify", unit], {
        encoding: "utf8",
      });
      assert.equal(verify.status, 0, verify.stderr);
    }
    // Stopped and disabled where a user session runs systemd; elsewhere
    // (a container) removed, with what failed said and exit 1.
    const session = spawnSync("systemctl", ["--user", "daemon-reload"]);
    const uninstall = await context.run(["service", "uninstall"]);
    if (session.status === 0) {
      assert.equal(uninstall.code, 0, uninstall.stderr);
    } else {
      assert.equal(uninstall.code, 1, uninstall.stderr);
      assert.match(uninstall.stderr, /^Removed .*, but systemctl --user /m);
    }
    await assert.rejects(stat(unit));
  },
);

cliTest(
  "service install writes nothing, exit 2, when systemd-analyze refuses the unit; uninstall says which systemctl step failed, exit 1",
  async (context) => {
    const bin = join(context.dir, "bin");
    await mkdir(bin);
    await writeFile(
      join(bin, "systemd-analyze"),
      "#!/bin/sh\necho 'Unknown key name in section Service' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    await writeFile(join(bin, "systemctl"), "#!/bin/sh\nexit 1\n", {
      mode: 0o755,
    });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const unit = unitFile(context.dir);
    const install = await context.run(["service", "install", "--notify"], {
      env,
    });
    assert.equal(install.code, 2, install.stderr);
    assert.match(
      install.stderr,
      /systemd-analyze verify refused the unit \(Unknown key name in section Service\); nothing was written/,
    );
    await assert.rejects(stat(unit));
    await mkdir(dirname(unit), { recursive: true });
    await writeFile(unit, "[Unit]\n");
    const uninstall = await context.run(["service", "uninstall"], { env });
    assert.equal(uninstall.code, 1);
    assert.match(
      uninstall.stderr,
      /but systemctl --user disable --now pushover-open-client failed/,
    );
    assert.doesNotMatch(uninstall.stderr, /Stopped, disabled and removed/);
  },
);

cliTest(
  "service install --webhook puts PUSHOVER_WEBHOOK_AUTH in a 0600 EnvironmentFile beside the credentials, never in the unit, itself 0600",
  async (context) => {
    const install = await context.run(
      ["service", "install", "--webhook", "https://hooks.example/in"],
      { env: { PUSHOVER_WEBHOOK_AUTH: 'bot:s3"cr\\et' } },
    );
    assert.equal(install.code, 0, install.stderr);
    const unit = await readFile(unitFile(context.dir), "utf8");
    const secrets = join(
      context.dir,
      "config",
      "pushover-open-client",
      "service.env",
    );
    assert.match(unit, new RegExp(`^EnvironmentFile=${secrets}$`, "m"));
    assert.doesNotMatch(unit, /s3"cr|bot:/);
    // A webhook's URL may carry a token in its path: the unit is private.
    assert.equal((await stat(unitFile(context.dir))).mode & 0o777, 0o600);
    assert.equal((await stat(secrets)).mode & 0o777, 0o600);
    assert.equal(
      await readFile(secrets, "utf8"),
      'PUSHOVER_WEBHOOK_AUTH="bot:s3\\"cr\\\\et"\n',
    );
  },
);

cliTest(
  "service install under umask 000 makes the unit's folders 0700",
  async (context) => {
    const previous = process.umask(0);
    try {
      const install = await context.run(["service", "install"]);
      assert.equal(install.code, 0, install.stderr);
    } finally {
      process.umask(previous);
    }
    for (const folder of ["systemd", "systemd/user"]) {
      const mode = (await stat(join(context.dir, "config", folder))).mode;
      assert.equal(mode & 0o777, 0o700, folder);
    }
  },
);

test("every subcommand has --help, and bad usage is exit 2 with one line", async () => {
  const commands = [
    "login",
    "listen",
    "messages",
    "pending",
    "ack",
    "status",
    "logout",
    "service",
  ];
  const helps = await Promise.all(
    commands.map((command) => runCli([command, "--help"])),
  );
  helps.forEach((help, i) => {
    assert.equal(help.code, 0, `${commands[i]} --help: ${help.stderr}`);
    assert.match(
      help.stdout,
      new RegExp(`^Usage: pushover-open-client ${commands[i]}`),
    );
  });
  const top = await runCli(["--help"]);
  assert.match(top.stdout, /^Usage: pushover-open-client \[COMMAND\]/);
  const unknown = await runCli(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /^unknown command 'frobnicate'; commands: login, listen/,
  );
  const flag = await runCli(["listen", "--frobnicate"]);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr.trim().split("\n").length, 1);
  assert.match(
    flag.stderr,
    /^listen: Unknown option '--frobnicate'; see listen --help/,
  );
  const backlog = await runCli(["listen", "--backlog", "all"]);
  assert.equal(backlog.code, 2);
  assert.equal(
    backlog.stderr.trim(),
    "--backlog: 'all' is not a mode; use deliver, skip or max-age=DURATION",
  );
});

cliTest(
  "login asks again for a refused password typed at the prompt, and stops at once on SIGTERM during a question (exit 130: not logged in, so `login && listen` stops)",
  async ({ server, run, urls, startProcess }) => {
    const again = await run(["login", "--name", "retry", ...urls], {
      stdin: `${PLAIN.email}\nwrong\n${PLAIN.password}\n`,
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /Password: That e-mail and password were not accepted\.\nPassword: Logged in/,
    );
    assert.equal(server.log.requests("login").length, 2);
    const waiting = startProcess(["login", ...urls]);
    try {
      await waiting.waitFor("stderr", "E-mail: ");
      waiting.signal("SIGTERM");
      assert.equal((await waiting.exited).code, 130);
    } finally {
      await waiting.kill();
    }
  },
);

cliTest(
  "the older Python client's config file is read as it is, never rewritten",
  async ({ server, start, dir, urls }) => {
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
    const child = start(["listen", "--config", seed, ...urls]);
    try {
      await child.waitFor("stdout", "Welcome to Pushover!");
      child.signal("SIGINT");
      assert.equal((await child.exited).code, 0);
    } finally {
      await child.kill();
    }
    assert.equal(await readFile(seed, "utf8"), text);
  },
);

const E2EE_KEY =
  "a3c1f0e2d4b6978856341202eeddccbbaa99887766554433221100ffeeddccbb";

cliTest(
  "listen --e2ee-key-file decrypts, keeps the key 0600 beside the credentials for later runs, --json carries e2ee; a key file others can read is refused before connecting",
  async ({ server, seed, start, run, dir, config }) => {
    await seed();
    const open = join(dir, "open.key");
    await writeFile(open, `${E2EE_KEY}\n`, { mode: 0o644 });
    await chmod(open, 0o644);
    const refused = await run(["listen", "--e2ee-key-file", open]);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr.trim(),
      `--e2ee-key-file: refusing ${open}: group or others can read it; run chmod 600 ${open}`,
    );
    assert.equal(server.log.sockets("login").length, 0);
    const keyFile = join(dir, "my.key");
    await writeFile(keyFile, `${E2EE_KEY}\n`, { mode: 0o600 });
    server.send({
      title: "Grab",
      message: "Dune was grabbed",
      encryptWith: E2EE_KEY,
    });
    const child = start(["listen", "--json", "--e2ee-key-file", keyFile]);
    try {
      const message = JSON.parse(
        await child.waitFor("stdout", "Dune was grabbed"),
      );
      assert.equal(message.title, "Grab");
      assert.equal(message.e2ee, "decrypted");
      child.signal("SIGINT");
      assert.equal((await child.exited).code, 0);
    } finally {
      await child.kill();
    }
    const saved = join(config, "..", "e2ee-key");
    assert.equal((await stat(saved)).mode & 0o777, 0o600);
    server.send({ message: "again, encrypted", encryptWith: E2EE_KEY });
    const later = start(["listen"]);
    try {
      await later.waitFor("stdout", "again, encrypted");
      later.signal("SIGINT");
      await later.exited;
    } finally {
      await later.kill();
    }
    for (const output of [child.output(), later.output(), refused]) {
      assert.ok(
        !output.stdout.includes(E2EE_KEY) && !output.stderr.includes(E2EE_KEY),
      );
    }
  },
);

cliTest(
  "Ctrl-C to the whole process group of `deno task listen` (a terminal's way) ends it with exit 0",
  async (context) => {
    // The Deno binary itself (on PATH, `deno` may be npm's Node wrapper).
    const deno = process.execPath;
    await context.seed();
    const { spawn } = await import("node:child_process");
    // A process group of its own, as a shell gives a foreground job.
    const child = spawn(deno, ["task", "listen"], {
      cwd: new URL("../", import.meta.url).pathname,
      env: { ...process.env, ...context.env() },
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => stderr += chunk);
    let closed = false;
    const exited = new Promise<number | null>((resolve) =>
      child.on("close", (code) => {
        closed = true;
        resolve(code);
      })
    );
    try {
      await context.server.waitForLogin();
      process.kill(-child.pid!, "SIGINT");
      assert.equal(await exited, 0, stderr);
    } finally {
      // Only while `deno task` runs: once it is gone, its pid (the group's
      // id) may be another process's.
      try {
        if (!closed) process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }
  },
  {
    skip: !("Deno" in globalThis) &&
      "`deno task` is tried on the Deno run of this file",
  },
);

test("service refuses listen options that listen would refuse (a unit failing at every restart), and --help anywhere is help", async () => {
  const bogus = await runCli(["service", "print", "--bogus"]);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /^listen: Unknown option '--bogus'/);
  const help = await runCli(["service", "install", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: pushover-open-client service/);
});

test("durations out of a timer's range are refused: --retry-delay 0, --exec-timeout 25d", async () => {
  for (
    const [flag, value] of [["--retry-delay", "0"], ["--exec-timeout", "25d"]]
  ) {
    const result = await runCli(["listen", flag, value]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr.trim(),
      `${flag}: '${value}' is out of range; give more than 0 and at most 24 days`,
    );
  }
});
