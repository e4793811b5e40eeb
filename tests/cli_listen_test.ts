// `listen`, end to end against the fake (in-process through main(), or a
// process where the process is the point): what it prints, what it hands to
// hooks, and — above all — that nothing is deleted before it was delivered,
// whatever fails: a hook, a webhook, stdout, the user stopping it in the
// middle. These run one pass (--no-inbox): what stays queued on the server
// is what they check. With the inbox (the default), see cli_inbox_test.ts.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
} from "node:fs";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import process from "node:process";
import { CLI, type CliContext, cliTest, interrupt } from "./_cli.ts";
import { shellQuote, startScript } from "./_spawn.ts";
import { queued } from "./_setup.ts";
import { ENV_VALUE_LIMIT } from "../cli/_hooks.ts";
import type { Device } from "../mod.ts";

/** Resolves once the server has deleted through the message with `id`. */
function deletedThrough(context: CliContext, device: Device, count = 0) {
  return context.server.log.waitFor(() =>
    context.server.store.devices.get(device.deviceId)!.queue.length === count
  );
}

/** Resolves once the status file satisfies `test` (rewritten as it goes). */
async function statusFileSays(
  context: CliContext,
  test: (file: Record<string, unknown>) => unknown,
): Promise<void> {
  for (let tries = 0;; tries++) {
    const text = await readFile(context.statusFile, "utf8").catch(() => "");
    try {
      if (test(JSON.parse(text))) return;
    } catch { /* being rewritten, or not there yet */ }
    // A safety net of a minute, not a claim on how soon.
    if (tries > 6_000) assert.fail(`the status file never said so: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

cliTest(
  "listen delivers what was queued while it was down, as lines, using the URLs saved at login, and deletes only what it printed",
  async (context) => {
    const device = await context.seed();
    context.server.send({
      message: "while down",
      title: "Backlog",
      app: "Cron",
    });
    context.server.send({
      message: "no title",
      app: "Cron",
      url: "https://example.com/x",
    });
    // A process: the listener as it runs on this runtime, end to end.
    const child = context.startProcess(["listen", "--no-inbox"]);
    try {
      assert.match(
        await child.waitFor("stdout", "while down"),
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[Cron\] Backlog: while down$/,
      );
      assert.match(
        await child.waitFor("stdout", "no title"),
        /\[Cron\] no title {2}<https:\/\/example\.com\/x>$/,
      );
      await deletedThrough(context, device);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "listen --json prints NDJSON with 64-bit ids only as exact strings, and a message without a body does not crash it",
  async (context) => {
    const device = await context.seed();
    const child = context.start(["listen", "--no-inbox", "--json"]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({ message: "first", title: "T" });
      const message = JSON.parse(await child.waitFor("stdout", '"first"'));
      for (const id of ["id", "umid", "aid"]) {
        assert.equal(typeof message[id], "string", id);
        assert.equal(`${id}_str` in message, false);
      }
      // A body-less message (a sender's or server's slip) is still delivered.
      const record = context.server.store.devices.get(device.deviceId)!;
      context.server.send({ message: "placeholder", title: "Empty" });
      // deno-lint-ignore no-explicit-any
      delete (record.queue.at(-1) as any).message;
      await child.waitFor("stdout", '"Empty"');
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

const HOSTILE = [
  "$(touch PWNED)",
  "`touch PWNED`",
  "; touch PWNED;",
  "' \" \\ $HOME",
  "line one\nline two",
].join(" | ");

cliTest(
  "listen --exec hands the message over in the environment and on stdin, never in the command line: hostile text is not executed and arrives intact; 300 KB whole on stdin, cut in the environment",
  async (context) => {
    await context.seed();
    const out = join(context.dir, "hook");
    await mkdir(out);
    const hook =
      `printf '%s' "$PUSHOVER_MESSAGE" > "${out}/message.$PUSHOVER_ID"; ` +
      `printf '%s' "$PUSHOVER_TRUNCATED" > "${out}/cut.$PUSHOVER_ID"; ` +
      `printf '%s' "$PUSHOVER_JSON" > "${out}/json.$PUSHOVER_ID"; ` +
      `printf '%s' "$PUSHOVER_TITLE" > "${out}/title.$PUSHOVER_ID"; cat > "${out}/stdin.$PUSHOVER_ID"`;
    // Twice over Linux's 128 KiB limit for one variable (E2BIG): what an
    // end-to-end encrypted body of 512 characters can unpack to.
    const big = "x".repeat(300_000);
    const child = context.start(["listen", "--no-inbox", "--exec", hook]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      const hostile = context.server.send({
        message: HOSTILE,
        title: "-u $(id)",
      });
      const large = context.server.send({ message: big, title: "big" });
      await child.waitFor("stdout", "big");
      const id = (sent: typeof hostile) => Object.values(sent.ids)[0];
      await waitForFile(join(out, `stdin.${id(large)}`), big.length);
      assert.equal(
        await readFile(join(out, `message.${id(hostile)}`), "utf8"),
        HOSTILE,
      );
      assert.equal(
        await readFile(join(out, `title.${id(hostile)}`), "utf8"),
        "-u $(id)",
      );
      const json = JSON.parse(
        await readFile(join(out, `stdin.${id(hostile)}`), "utf8"),
      );
      assert.equal(json.message, HOSTILE);
      assert.equal(
        (await readFile(join(out, `message.${id(large)}`), "utf8")).length,
        ENV_VALUE_LIMIT,
      );
      assert.equal(
        await readFile(join(out, `cut.${id(large)}`), "utf8"),
        "PUSHOVER_MESSAGE,PUSHOVER_JSON",
      );
      assert.equal(await readFile(join(out, `json.${id(large)}`), "utf8"), "");
      assert.equal(
        JSON.parse(await readFile(join(out, `stdin.${id(large)}`), "utf8"))
          .message,
        big,
      );
      assert.equal(await readFile(join(out, `cut.${id(hostile)}`), "utf8"), "");
      await assert.rejects(stat(join(process.cwd(), "PWNED")));
      await assert.rejects(stat(join(context.dir, "PWNED")));
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

/** Waits until `path` holds `length` bytes (a hook writes it in pieces). */
async function waitForFile(path: string, length: number): Promise<void> {
  // A safety net of a minute, not a claim: a busy machine runs hooks late.
  for (let i = 0; i < 6_000; i++) {
    try {
      if ((await stat(path)).size >= length) return;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${path} did not reach ${length} bytes`);
}

cliTest(
  "a failing --exec hook is retried with backoff and leaves the message on the server; stopped during the backoff, the next start delivers it",
  async (context) => {
    const device = await context.seed();
    context.server.send({ message: "must not be lost" });
    const failing = context.start([
      "listen",
      "--no-inbox",
      "--exec",
      "exit 7",
      "--retry-delay",
      "20ms,40ms",
    ]);
    try {
      await failing.waitFor(
        "stderr",
        "--exec: the command exited with 7; trying again in",
      );
      await failing.waitFor(
        "stderr",
        "--exec: the command exited with 7; trying again in",
      );
      failing.signal("SIGTERM"); // during the backoff
      assert.equal((await failing.exited).code, 0);
    } finally {
      await failing.kill();
    }
    assert.deepEqual(queued(context.server, device), ["must not be lost"]);
    const out = join(context.dir, "delivered");
    const working = context.start([
      "listen",
      "--no-inbox",
      "--exec",
      `cat > "${out}"`,
    ]);
    try {
      await working.waitFor("stdout", "must not be lost");
      await deletedThrough(context, device);
      assert.equal(
        JSON.parse(await readFile(out, "utf8")).message,
        "must not be lost",
      );
      assert.equal(await interrupt(working), 0);
    } finally {
      await working.kill();
    }
  },
);

/** `listen` with a hook that times out after 200 ms, tried again a minute on. */
function timedOutHook(hook: string, timeout = "200ms"): string[] {
  return [
    "listen",
    "--no-inbox",
    "--exec",
    hook,
    "--exec-timeout",
    timeout,
    "--retry-delay",
    "60s",
  ];
}

cliTest(
  "SIGTERM while a hook runs stops the listener at once with exit 0, the message still queued; --exec-timeout kills a hung hook",
  async (context) => {
    const device = await context.seed();
    context.server.send({ message: "slow one" });
    const hook = "echo hook-started >&2; sleep 30";
    // A process: the signal itself, with a hook's process group running.
    const running = context.startProcess([
      "listen",
      "--no-inbox",
      "--exec",
      hook,
    ]);
    try {
      await running.waitFor("stderr", "hook-started");
      running.signal("SIGTERM");
      assert.equal((await running.exited).code, 0);
    } finally {
      await running.kill();
    }
    assert.deepEqual(queued(context.server, device), ["slow one"]);
    const timed = context.start(timedOutHook(hook));
    try {
      await timed.waitFor(
        "stderr",
        "--exec: the command did not finish within 0.2 s; trying again in 60 s",
      );
      timed.signal("SIGTERM"); // during the backoff
      assert.equal((await timed.exited).code, 0);
    } finally {
      await timed.kill();
    }
    assert.deepEqual(queued(context.server, device), ["slow one"]);
  },
);

cliTest(
  "a terminal's hangup (SIGHUP) while a hook runs stops the listener as SIGTERM does: exit 0, the hook ended, the message still queued",
  async (context) => {
    const device = await context.seed();
    context.server.send({ message: "slow one" });
    const pidFile = join(context.dir, "hook.pid");
    const running = context.startProcess([
      "listen",
      "--no-inbox",
      "--exec",
      `echo $$ > ${pidFile}; echo hook-started >&2; sleep 30`,
    ]);
    try {
      await running.waitFor("stderr", "hook-started");
      running.signal("SIGHUP");
      assert.equal((await running.exited).code, 0);
    } finally {
      await running.kill();
    }
    assert.deepEqual(queued(context.server, device), ["slow one"]);
    const hook = Number(await readFile(pidFile, "utf8"));
    assert.throws(() => process.kill(hook, 0), "the hook's shell is gone");
  },
);

/** What Linux's /proc/PID/wchan says of a writer waiting on a full pipe or socket. */
const WRITE_BLOCKED = /pipe_write|sock_alloc_send/;

cliTest(
  "a stderr nobody reads holds back a chatty hook, not the listener: SIGTERM still stops it at once",
  async (context) => {
    await context.seed();
    context.server.send({ message: "chatty" });
    const fifo = join(context.dir, "stderr.fifo");
    execFileSync("mkfifo", [fifo]);
    // Open, never read: a reader that stopped reading (`2>&1 | less`).
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const pidFile = join(context.dir, "hook.pid");
    const running = startScript(CLI, {
      args: [
        "listen",
        "--no-inbox",
        "--exec",
        `echo $$ > ${pidFile}; exec head -c 10000000 /dev/zero`,
      ],
      env: context.env(),
      shell: (command) => `exec ${command} 2> ${shellQuote(fifo)}`,
    });
    try {
      // The hook blocked writing (to a pipe on Deno, a socket pair on Node
      // and Bun): what the listener could take is taken.
      let hook = "";
      const started = Date.now();
      while (
        !hook ||
        !WRITE_BLOCKED.test(readFileSync(`/proc/${hook}/wchan`, "utf8"))
      ) {
        if (Date.now() - started > 30_000) {
          assert.fail("the hook never blocked");
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (!hook && existsSync(pidFile)) {
          hook = readFileSync(pidFile, "utf8").trim();
        }
      }
      running.signal("SIGTERM");
      let safety: ReturnType<typeof setTimeout> | undefined;
      const frozen = new Promise<never>((_, reject) => {
        // A safety net only: a listener that is not frozen exits at once.
        safety = setTimeout(() => reject(new Error("frozen")), 30_000);
      });
      const { code } = await Promise.race([running.exited, frozen]);
      clearTimeout(safety);
      assert.equal(code, 0);
    } finally {
      await running.kill();
      closeSync(reader);
    }
  },
  { skip: !existsSync("/proc/self/wchan") && "needs Linux's /proc" },
);

cliTest(
  "a hook that outlives --exec-timeout has its whole process group ended: what shrugged off SIGTERM gets SIGKILL after 2 s",
  async (context) => {
    await context.seed();
    context.server.send({ message: "slow one" });
    const pidFile = join(context.dir, "straggler.pid");
    // A child that ignores SIGTERM (sleep inherits the ignoring), beside a
    // shell that does not.
    const hook =
      `sh -c 'trap "" TERM; echo $$ > "$0"; exec sleep 300' ${pidFile} & wait`;
    // Time for both shells to start, and the child to ignore SIGTERM, before
    // the timeout: 0.2 s was not always enough on a loaded machine (two
    // test runs side by side), and a child ended before its trap wrote no
    // pid.
    const timed = context.start(timedOutHook(hook, "2s"));
    let straggler: number | undefined;
    try {
      await timed.waitFor("stderr", "did not finish within 2 s");
      straggler = Number(await readFile(pidFile, "utf8"));
      const alive = () => {
        try {
          process.kill(straggler!, 0);
          return true;
        } catch {
          return false;
        }
      };
      const started = Date.now();
      while (alive()) {
        // A safety net only: it is gone 2 s after the SIGTERM.
        if (Date.now() - started > 30_000) assert.fail("still running");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Gone: its pid may be another process's by now (pids wrap at 32,768
      // here), which the cleanup below must not kill.
      straggler = undefined;
      timed.signal("SIGTERM");
      assert.equal((await timed.exited).code, 0);
    } finally {
      await timed.kill();
      try {
        if (straggler) process.kill(straggler, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
  },
);

cliTest(
  "listen --webhook POSTs the JSON, retries a 503 as its Retry-After says, and deletes only after a 2xx",
  async (context) => {
    const device = await context.seed();
    const bodies: string[] = [];
    let answers = [503, 200];
    const hook = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => body += chunk);
      request.on("end", () => {
        bodies.push(body);
        const status = answers.shift() ?? 200;
        response.writeHead(
          status,
          status === 503 ? { "retry-after": "0" } : {},
        );
        response.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const port = (hook.address() as { port: number }).port;
    const child = context.start([
      "listen",
      "--no-inbox",
      "--webhook",
      `http://127.0.0.1:${port}/hook`,
      "--retry-delay",
      "10ms",
    ]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({ message: "to the hook", priority: 1 });
      await child.waitFor("stderr", "answered 503; trying again in");
      await deletedThrough(context, device);
      assert.equal(bodies.length, 2);
      const sent = JSON.parse(bodies[1]);
      assert.equal(sent.message, "to the hook");
      assert.equal(sent.priority, 1);
      assert.equal(typeof sent.id, "string");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
      answers = [];
      await new Promise((resolve) => hook.close(resolve));
    }
  },
);

cliTest(
  "listen | head -1: when the reader goes away the listener exits 0 and the message it could not write stays queued",
  async (context) => {
    const device = await context.seed();
    const child = context.startProcess(
      ["listen", "--no-inbox", "--json"],
      {},
      "head -1",
    );
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({ message: "read by head" });
      await child.waitFor("stdout", "read by head"); // and head is gone
      context.server.send({ message: "nobody reads this" });
      await child.waitFor("stderr", "exit=");
      assert.match(child.output().stderr, /^exit=0$/m);
    } finally {
      await child.kill();
    }
    assert.deepEqual(queued(context.server, device), ["nobody reads this"]);
    assert.doesNotMatch(child.output().stderr, /EPIPE|Error|at /);
  },
);

cliTest(
  "listen keeps running when the reader of its stderr went away (2>&1 | head -1): later messages are delivered",
  async (context) => {
    await context.seed();
    // A process: the runtime's own stderr, whose EPIPE must not crash it.
    const child = context.startProcess(["listen", "--no-inbox"]);
    child.closeStderr(); // before it writes "online" there
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "after stderr went away" });
      await child.waitFor("stdout", "after stderr went away");
      child.signal("SIGTERM");
      assert.equal((await child.exited).code, 0);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "listen --min-priority and --app leave out what does not match (and delete it); --backlog skip drops what was queued before the start",
  async (context) => {
    const device = await context.seed();
    context.server.send({ message: "old backlog", app: "Alarm", priority: 2 });
    // Queued a minute ago: skip errs on delivering within the start's second.
    const old = context.server.store.devices.get(device.deviceId)!.queue[0];
    old.queuedDate -= 60;
    old.date -= 60;
    const child = context.start([
      "listen",
      "--no-inbox",
      "--min-priority",
      "1",
      "--app",
      "Alarm",
      "--app",
      "Door",
      "--backlog",
      "skip",
    ]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({ message: "low alarm", app: "Alarm", priority: 0 });
      context.server.send({ message: "other app", app: "Cron", priority: 2 });
      context.server.send({ message: "door bell", app: "Door", priority: 1 });
      await child.waitFor("stdout", "door bell");
      await deletedThrough(context, device);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const printed = child.output().stdout.trim().split("\n");
    assert.equal(printed.length, 1);
    assert.match(printed[0], /\[Door\] door bell$/);
  },
);

cliTest(
  "listen --notify runs notify-send with -- before the text, the priority's urgency, no silent messages, quiet hours as low urgency, and an Acknowledge button that acknowledges",
  async (context) => {
    await context.seed();
    const bin = join(context.dir, "bin");
    const log = join(context.dir, "notify.log");
    await mkdir(bin);
    // A notify-send with --action/--wait whose user clicks "Acknowledge".
    await writeFile(
      join(bin, "notify-send"),
      `#!/bin/sh
# The login's answers reach no notify-send, not even the probe.
[ -n "$PUSHOVER_PASSWORD" ] && echo "PASSWORD LEAKED" >> "${log}"
[ "$1" = "--help" ] && { echo "--action --wait"; exit 0; }
printf '%s|' "$@" >> "${log}"; echo >> "${log}"
case "$*" in *--wait*) echo ack ;; esac
`,
    );
    await chmod(join(bin, "notify-send"), 0o755);
    const child = context.start(["listen", "--no-inbox", "--notify"], {
      PATH: `${bin}:${process.env.PATH}`,
      PUSHOVER_PASSWORD: "never-for-notify-send",
    });
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({
        message: "low one",
        priority: -1,
        app: "Low",
        title: "-u",
      });
      context.server.send({
        message: "silent one",
        priority: -2,
        app: "Silent",
      });
      const fire = context.server.send({
        message: "fire",
        priority: 2,
        app: "High",
        title: "Alarm",
      });
      await child.waitFor("stderr", 'acknowledged the emergency "Alarm"');
      assert.equal(context.server.store.isPending(fire.receipt!), false);
      context.server.store.accounts[0].quietHours = true;
      context.server.send({ message: "quiet normal", priority: 0, app: "Q" });
      context.server.send({ message: "loud high", priority: 1, app: "Q" });
      // A sender's markup, and an html=1 message whose entities decode to a
      // tag: notify-send gets text, escaped, never live markup.
      context.server.send({
        message:
          'Charged: <a href="https://evil.example/login">bank</a> & <img src="https://tracker.example/p.png">',
        app: "Q",
      });
      context.server.send({
        message: "&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;",
        html: true,
        app: "Q",
      });
      await child.waitFor("stdout", "evil.example");
      await waitForLines(log, 6);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const icon = join(
      context.dir,
      "cache",
      "pushover-open-client",
      "icons",
      "mnsw2ykc6qa5sbn.png",
    );
    assert.deepEqual((await readFile(log, "utf8")).trim().split("\n"), [
      `--app-name=Low|--urgency=low|--icon=${icon}|--|-u|low one|`,
      `--app-name=High|--urgency=critical|--icon=${icon}|--action=ack=Acknowledge|--wait|--|Alarm|fire|`,
      `--app-name=Q|--urgency=low|--icon=${icon}|--|Q|quiet normal|`,
      `--app-name=Q|--urgency=normal|--icon=${icon}|--|Q|loud high|`,
      `--app-name=Q|--urgency=low|--icon=${icon}|--|Q|Charged: &lt;a href="https://evil.example/login"&gt;bank&lt;/a&gt; &amp; &lt;img src="https://tracker.example/p.png"&gt;|`,
      `--app-name=Q|--urgency=low|--icon=${icon}|--|Q|&lt;a href="https://evil.example"&gt;x&lt;/a&gt;|`,
    ]);
  },
);

async function waitForLines(path: string, count: number): Promise<void> {
  // A safety net of a minute, not a claim: a busy machine runs hooks late.
  for (let i = 0; i < 6_000; i++) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (text.trim().split("\n").filter(Boolean).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${path} has fewer than ${count} lines`);
}

cliTest(
  "listen --ack asks without holding up later messages, retries a failed acknowledgement instead of dying, and Ctrl-C works while it asks",
  async (context) => {
    await context.seed();
    const child = context.start([
      "listen",
      "--no-inbox",
      "--ack",
      "--retry-delay",
      "10ms",
    ]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      const first = context.server.send({
        message: "smoke",
        priority: 2,
        app: "Alarm",
      });
      await child.waitFor("stderr", 'Acknowledge the emergency "Alarm"? [y/N]');
      // Not answered yet: later messages still come.
      context.server.send({ message: "meanwhile" });
      await child.waitFor("stdout", "meanwhile");
      // The question's line ends before the message, and it is asked again
      // after: on a terminal the two never share a line.
      const question = 'Acknowledge the emergency "Alarm"? [y/N] ';
      for (
        let i = 0;
        !child.output().stderr.includes(`${question}\n${question}`);
        i++
      ) {
        if (i > 3_000) assert.fail(`asked once only: ${child.output().stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      context.server.failNext({ type: "status", status: 503 }, {
        endpoint: "acknowledge",
      });
      child.write("y\n");
      await child.waitFor("stderr", "failed (");
      await child.waitFor("stderr", 'acknowledged the emergency "Alarm"');
      assert.equal(context.server.store.isPending(first.receipt!), false);
      context.server.send({
        message: "second fire",
        priority: 2,
        app: "Alarm",
      });
      await child.waitFor("stderr", "Acknowledge the emergency");
      assert.equal(await interrupt(child), 0); // Ctrl-C mid-question
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "listen keeps a status file (connected, licence, last message) that `status` reads with exit 0 while it runs",
  async (context) => {
    await context.seed("desk");
    const child = context.start(["listen", "--no-inbox"]);
    try {
      await context.server.waitForLogin(); // the server knows the socket
      context.server.send({ message: "hello" });
      await child.waitFor("stdout", "hello");
      // Written after the message was handed on, not before it is printed.
      await statusFileSays(context, (file) => file.lastMessageAt);
      const status = await context.run(["status", "--json"]);
      const file = JSON.parse(status.stdout);
      assert.equal(status.code, 0, status.stdout);
      assert.equal(file.state, "connected");
      assert.equal(file.running, true);
      assert.equal(file.device, "desk");
      assert.equal(file.desktopLicensed, true);
      assert.equal((await stat(context.statusFile)).mode & 0o777, 0o600);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const after = await context.run(["status"]);
    assert.equal(after.code, 1);
    assert.match(after.stdout, /^stopped since /);
  },
);

cliTest(
  "listen exits 3 when the device is refused and 4 when another client takes it over, each with one line",
  async (context) => {
    const device = await context.seed();
    const first = context.start(["listen", "--no-inbox"]);
    const second = context.start(["listen", "--no-inbox"]);
    try {
      await context.server.waitForLogin(device.deviceId, 2);
      const [taken, survivor] = await Promise.race([
        first.exited.then(() => [first, second]),
        second.exited.then(() => [second, first]),
      ]);
      assert.equal((await taken.exited).code, 4);
      assert.equal(
        taken.output().stderr.trim().split("\n").at(-1),
        "another client logged in as this device and took it over; not reconnecting",
      );
      context.server.disableDevice(device.deviceId);
      assert.equal((await survivor.exited).code, 3);
      assert.equal(
        survivor.output().stderr.trim().split("\n").at(-1),
        'the server refused this device ("seeded"): it was deleted or disabled; run "pushover-open-client login" again',
      );
    } finally {
      await first.kill();
      await second.kill();
    }
  },
);

// ---- found by a review, each reproduced first ----

/** A local HTTP server answering `statuses` in turn (then 200), recording requests. */
async function hookServer(statuses: [number, Record<string, string>?][]) {
  const requests: {
    method: string;
    url: string;
    body: string;
    auth?: string;
  }[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      requests.push({
        method: request.method!,
        url: request.url!,
        body,
        auth: request.headers.authorization,
      });
      const [status, headers] = statuses.shift() ?? [200];
      response.writeHead(status, headers ?? {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    requests,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

cliTest(
  "listen --webhook does not follow a redirect (a POST would become a GET without the message) and sends PUSHOVER_WEBHOOK_AUTH as Basic auth, never showing it",
  async (context) => {
    const device = await context.seed();
    const hook = await hookServer([[301, { location: "/landing" }]]);
    const child = context.start([
      "listen",
      "--no-inbox",
      "--webhook",
      `${hook.url}/hook`,
      "--retry-delay",
      "10ms",
    ], { PUSHOVER_WEBHOOK_AUTH: "user:s3cr3t-pw" });
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "important" });
      await child.waitFor(
        "stderr",
        "answered 301 (a redirect: give --webhook the URL it points to)",
      );
      await deletedThrough(context, device);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
      await hook.close();
    }
    assert.deepEqual(hook.requests.map((r) => `${r.method} ${r.url}`), [
      "POST /hook",
      "POST /hook",
    ]);
    assert.equal(hook.requests[1].auth, `Basic ${btoa("user:s3cr3t-pw")}`);
    assert.doesNotMatch(child.output().stderr, /s3cr3t-pw/);
  },
);

cliTest(
  "listen --backlog max-age judges by when the server queued a message, not the sender's timestamp: a live backdated message is delivered",
  async (context) => {
    await context.seed();
    const child = context.start([
      "listen",
      "--no-inbox",
      "--backlog",
      "max-age=1h",
    ]);
    try {
      await context.server.waitForLogin();
      context.server.send({
        message: "live but backdated",
        timestamp: Math.floor(Date.now() / 1000) - 7200,
      });
      await child.waitFor("stdout", "live but backdated");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "listen stops with exit 2 and leaves a message it cannot decrypt queued, unless --deliver-undecryptable",
  async (context) => {
    const device = await context.seed();
    context.server.send({
      message: "secret content",
      encryptWith: "ab".repeat(32),
    });
    const stopped = await context.run(["listen", "--no-inbox"]);
    assert.equal(stopped.code, 2);
    assert.match(
      stopped.stdout,
      /\(end-to-end encrypted: set the key with --e2ee-key-file\)/,
    );
    assert.match(
      stopped.stderr.trim().split("\n").at(-1)!,
      /^message \d+ is end-to-end encrypted and no key is set; it stays on the server: pass --e2ee-key-file/,
    );
    assert.equal(queued(context.server, device).length, 1);
    const child = context.start([
      "listen",
      "--no-inbox",
      "--deliver-undecryptable",
    ]);
    try {
      await child.waitFor("stdout", "end-to-end encrypted");
      await deletedThrough(context, device);
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "a NUL byte in a message does not block the queue: hooks get the text without it; the login's answers never reach a hook",
  async (context) => {
    const device = await context.seed();
    const out = join(context.dir, "nul");
    context.server.send({ message: "hello\u0000world", title: "N" });
    const child = context.start([
      "listen",
      "--no-inbox",
      "--exec",
      `printf '%s|%s' "$PUSHOVER_MESSAGE" "\${PUSHOVER_PASSWORD-unset}" > "${out}"`,
    ], { PUSHOVER_PASSWORD: "hunter2-never", PUSHOVER_TWOFA: "123456" });
    try {
      await child.waitFor("stdout", "N: hello world"); // a control character on screen: a space
      await deletedThrough(context, device);
      assert.equal(await readFile(out, "utf8"), "helloworld|unset");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "a hook whose shell cannot start is reported and retried, and Ctrl-C still stops the listener",
  async (context) => {
    const device = await context.seed();
    context.server.send({ message: "waiting for sh" });
    const child = context.start(
      ["listen", "--no-inbox", "--exec", "true", "--retry-delay", "20ms"],
      { PATH: "/nonexistent" },
    );
    try {
      await child.waitFor("stderr", "--exec: the command could not start:");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    assert.deepEqual(queued(context.server, device), ["waiting for sh"]);
  },
);

cliTest(
  "a sender's escape sequences never reach the terminal: titles are cleaned in prompts and reports too",
  async (context) => {
    await context.seed();
    const child = context.start(["listen", "--no-inbox", "--ack"]);
    try {
      await context.server.waitForLogin();
      context.server.send({
        message: "x",
        priority: 2,
        title: "\u001b]0;PWNED\u0007\u001b[2Jalarm",
      });
      await child.waitFor("stderr", "Acknowledge the emergency");
      child.write("y\n");
      await child.waitFor("stderr", "acknowledged the emergency");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const { stdout, stderr } = child.output();
    const output = stdout + stderr;
    assert.ok(!output.includes("\u001b") && !output.includes("\u0007"));
  },
);

cliTest(
  "stdout that fails for another reason than a gone reader (a full disk) is exit 1 with one line, not a quiet stop",
  async (context) => {
    await context.seed();
    context.server.send({ message: "to a full disk" });
    const { spawn } = await import("node:child_process");
    const { runtimeCommand } = await import("./_spawn.ts");
    const [program, ...args] = runtimeCommand("cli/main.ts", [
      "listen",
      "--no-inbox",
    ]);
    const full = await import("node:fs").then((fs) =>
      fs.openSync("/dev/full", "w")
    );
    const child = spawn(program, args, {
      cwd: new URL("../", import.meta.url).pathname,
      env: { ...process.env, ...context.env() },
      stdio: ["ignore", full, "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => stderr += chunk);
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.trim().split("\n").at(-1),
      "cannot write to stdout: the disk is full",
    );
  },
);
