// `listen` with its inbox (the default), end to end against the fake: what
// arrives is kept, the server's queue drains as soon as it is on disk, and
// each output reads the inbox as a sink of its own — a failing webhook holds
// back nothing else, sets a message aside after its tries, and `retry`
// hands it over again. `history`, `pending` and `ack` read the inbox.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { Inbox, openInbox, openSqliteFile } from "../inbox/mod.ts";
import {
  CLI,
  type CliContext,
  cliTest,
  interrupt,
  sendOddMessage,
} from "./_cli.ts";
import { shellQuote, startScript } from "./_spawn.ts";
import { queued } from "./_setup.ts";
import { message } from "./_inbox_contract.ts";

/** A webhook receiver answering `status()`; records what it took (2xx). */
async function webhook(status: () => number) {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      const answer = status();
      if (answer < 300) bodies.push(body);
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Resolves once `check` holds, looking after each turn of the loop. */
async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    // A safety net only: the event comes long before on any machine.
    if (Date.now() - started > 60_000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs `listen --webhook URL` (one try each) until the fake's next message,
 * "first", is set aside for the webhook, then stops it.
 */
async function setAsideForWebhook(context: CliContext, url: string) {
  const child = context.start([
    "listen",
    "--webhook",
    url,
    "--max-attempts",
    "1",
  ]);
  try {
    await context.server.waitForLogin();
    context.server.send({ message: "first" });
    await child.waitFor("stderr", "set aside for webhook");
    assert.equal(await interrupt(child), 0);
  } finally {
    await child.kill();
  }
}

cliTest(
  "listen keeps what arrives in the inbox, the server's queue drains, and history shows, searches and follows it with exact ids",
  async (context) => {
    const device = await context.seed();
    const child = context.start(["listen"]);
    const follower = context.start(["history", "--follow", "--json"]);
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "the disk is full", title: "nas" });
      context.server.send({ message: "backup done", app: "Backup" });
      await child.waitFor("stdout", "backup done");
      await until(
        () => queued(context.server, device).length === 0,
        "the queue drained",
      );
      await follower.waitFor("stdout", "backup done");
      assert.equal(await interrupt(child), 0);
      assert.equal(await interrupt(follower), 0);
    } finally {
      await child.kill();
      await follower.kill();
    }
    const all = await context.run(["history"]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /nas: the disk is full\n.*backup done\n$/s);
    const found = await context.run(["history", "--search", "DISK"]);
    assert.match(found.stdout, /^[^\n]*the disk is full\n$/);
    const json = await context.run(["history", "--json", "--app", "Backup"]);
    const [line] = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(line.message.message, "backup done");
    assert.equal(typeof line.message.id, "string");
    assert.equal(line.device, device.deviceId);
    const followed = follower.output().stdout.trim().split("\n")
      .map((l) => JSON.parse(l).message.message);
    assert.deepEqual(followed.slice(-2), ["the disk is full", "backup done"]);
  },
);

cliTest(
  "a message whose fields are of unexpected types (an object title, a boolean priority) is kept, printed and searchable, and the messages after it too",
  async (context) => {
    const device = await context.seed();
    const child = context.start(["listen"]);
    try {
      await context.server.waitForLogin();
      sendOddMessage(context.server, {
        title: { odd: "kettle" },
        priority: true,
        message: "odd one",
      });
      await child.waitFor("stdout", "odd one");
      context.server.send({ message: "a later one" });
      await child.waitFor("stdout", "a later one");
      await until(
        () => queued(context.server, device).length === 0,
        "the queue drained",
      );
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const found = await context.run(["history", "--search", "kettle"]);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /^[^\n]*\{"odd":"kettle"\}: odd one\n$/);
    const all = await context.run(["history"]);
    assert.match(all.stdout, /odd one\n.*a later one\n$/s);
  },
);

cliTest(
  "history --follow prints every message of a batch larger than its page, and one added while it prints, each once",
  async (context) => {
    const path = join(
      context.dir,
      "data",
      "pushover-open-client",
      "inbox.sqlite",
    );
    const inbox = await openInbox(path);
    inbox.add("other-device", [message(1, { message: "already there" })]);
    const follower = context.start(["history", "--follow"]);
    try {
      // Its first page printed: it follows from there.
      await follower.waitFor("stdout", "already there");
      // Another process's one commit of more than --follow reads at once.
      inbox.add(
        "other-device",
        Array.from(
          { length: 2_500 },
          (_, i) => message(i + 2, { message: `m${i + 1}` }),
        ),
      );
      // And one more while those print: after them, not passed over.
      await follower.waitFor("stdout", / m1$/);
      inbox.add("other-device", [message(9_999, { message: "the last" })]);
      await follower.waitFor("stdout", "the last");
      assert.equal(await interrupt(follower), 0);
    } finally {
      inbox.close();
      await follower.kill();
    }
    const lines = follower.output().stdout.trim().split("\n");
    assert.equal(lines.length, 2_502);
    assert.deepEqual(
      lines.map((line) => line.match(/(already there|m\d+|the last)$/)?.[1]),
      [
        "already there",
        ...Array.from({ length: 2_500 }, (_, i) => `m${i + 1}`),
        "the last",
      ],
    );
  },
);

cliTest(
  "a failing --webhook holds back neither stdout nor later messages; after its tries a message is set aside, reported once, listed by history --failed, and retry hands it over again",
  async (context) => {
    await context.seed();
    let answer = 503;
    const hook = await webhook(() => answer);
    const args = [
      "listen",
      "--webhook",
      hook.url,
      "--retry-delay",
      "5ms",
      "--max-attempts",
      "2",
    ];
    const child = context.start(args);
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "first" });
      context.server.send({ message: "second" });
      // stdout is not held back by the webhook's failures.
      await child.waitFor("stdout", "second");
      await child.waitFor("stderr", "(inbox 2) set aside for webhook");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    const stderr = child.output().stderr;
    assert.equal(stderr.match(/first.*set aside|set aside[^\n]*/g)?.length, 2);
    assert.match(stderr, /retry \d+/);
    const failed = await context.run(["history", "--failed"]);
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(
      failed.stdout,
      /^\d+ {2}webhook: --webhook: .* answered 503 \(2 tries\) .*first\n/,
    );
    assert.match(failed.stdout, /second\n$/);
    const status = await context.run(["status"]);
    assert.match(
      status.stdout,
      /^inbox: 2 message\(s\), \d+ KiB of text, from /m,
    );
    assert.match(status.stdout, /^ {2}stdout: at 2, 0 to go$/m);
    assert.match(
      status.stdout,
      /^ {2}webhook: at 2, 0 to go, 2 set aside \(history --failed\)$/m,
    );
    // Fixed: handed over again, they reach the webhook on the next start.
    answer = 200;
    const both = await context.run(["retry", "1", "--all"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^retry: give a SEQ or --all, not both/m);
    // --all as ack takes it: the same as no SEQ.
    const retried = await context.run(["retry", "--all"]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(
      retried.stderr,
      /handed 2 set-aside message\(s\) over again \(webhook\)/,
    );
    assert.match(
      (await context.run(["status"])).stdout,
      /^ {2}webhook: at 2, 0 to go, 2 set aside \(history --failed\), 2 of them to be handed over again$/m,
    );
    const again = context.start(args);
    try {
      await until(() => hook.bodies.length >= 2, "two re-driven posts");
      // Taken once the sink has written down that it took them.
      const inbox = await openInbox(
        join(context.dir, "data", "pushover-open-client", "inbox.sqlite"),
      );
      try {
        await until(() => inbox.deadLetters().length === 0, "taken");
      } finally {
        inbox.close();
      }
      assert.equal(await interrupt(again), 0);
    } finally {
      await again.kill();
      await hook.close();
    }
    const bodies = hook.bodies.map((b) => JSON.parse(b).message);
    assert.deepEqual(bodies, ["first", "second"]);
    assert.equal(again.output().stdout, "", "stdout had them already");
    const none = await context.run(["history", "--failed"]);
    assert.equal(none.stdout, "");
  },
);

cliTest(
  "a message handed over again by retry reaches its hook even when this run's filters (--min-priority, --backlog max-age) would leave it out",
  async (context) => {
    await context.seed();
    let answer = 503;
    const hook = await webhook(() => answer);
    await setAsideForWebhook(context, hook.url);
    answer = 200;
    const retried = await context.run(["retry"]);
    assert.match(retried.stderr, /handed 1 set-aside message/);
    // "first" is priority 0, and was queued before this start.
    const again = context.start([
      "listen",
      "--webhook",
      hook.url,
      "--max-attempts",
      "1",
      "--min-priority",
      "1",
      "--backlog",
      "max-age=1ms",
    ]);
    try {
      // This run's own login: a message sent before it is queued before
      // the start, which max-age=1ms leaves out.
      await context.server.waitForLogin(undefined, 2);
      context.server.send({ message: "second", priority: 1 });
      // The re-driven one goes first: it was posted by then, or never.
      await until(
        () => hook.bodies.some((body) => body.includes('"second"')),
        "the new one posted",
      );
      assert.equal(await interrupt(again), 0);
    } finally {
      await again.kill();
      await hook.close();
    }
    const bodies = hook.bodies.map((b) => JSON.parse(b).message);
    assert.deepEqual(bodies, ["first", "second"]);
  },
);

cliTest(
  "each output resumes where it stopped: a hook that failed before a restart gets its message from the inbox after",
  async (context) => {
    const device = await context.seed();
    const script = join(context.dir, "hook.sh");
    const out = join(context.dir, "hooked.txt");
    await writeFile(script, `#!/bin/sh\nexit 1\n`);
    await chmod(script, 0o755);
    const failing = context.start([
      "listen",
      "--exec",
      script,
      "--retry-delay",
      "5ms",
    ]);
    try {
      await context.server.waitForLogin();
      context.server.send({ message: "kept for the hook" });
      await failing.waitFor("stderr", "trying again in");
      // In the inbox: deleted on the server, the hook's failure apart.
      await until(
        () => queued(context.server, device).length === 0,
        "deleted on the server",
      );
      assert.equal(await interrupt(failing), 0);
    } finally {
      await failing.kill();
    }
    await writeFile(script, `#!/bin/sh\ncat >> "${out}"\n`);
    const working = context.start(["listen", "--exec", script]);
    try {
      await until(() => {
        try {
          return readFileSync(out, "utf8").includes("kept for the hook");
        } catch {
          return false;
        }
      }, "the hook ran");
      assert.equal(await interrupt(working), 0);
    } finally {
      await working.kill();
    }
    assert.equal(working.output().stdout, "", "stdout had it the first time");
  },
);

cliTest(
  "an emergency a plain listen received stays pending in the inbox, however its sender dated it; ack acknowledges it and marks it there",
  async (context) => {
    await context.seed();
    const child = context.start(["listen"]);
    let receipt: string | undefined;
    try {
      await context.server.waitForLogin();
      receipt = context.server.send({
        message: "smoke",
        title: "Alarm",
        priority: 2,
        // A sender may date it as it likes: it still waits.
        timestamp: Math.floor(Date.now() / 1000) - 4 * 3_600,
      }).receipt;
      await child.waitFor("stderr", "acknowledge it with");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    assert.ok(receipt);
    const pending = await context.run(["pending"]);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, new RegExp(`^${receipt} .*Alarm: smoke\\n$`));
    const acked = await context.run(["ack", "--all"]);
    assert.equal(acked.code, 0, acked.stderr);
    assert.match(
      acked.stderr,
      new RegExp(`acknowledged "Alarm" \\(${receipt}\\)`),
    );
    assert.equal(context.server.store.isPending(receipt), false);
    const after = await context.run(["pending"]);
    assert.equal(after.stdout, "");
    assert.match(after.stderr, /no emergency waits for acknowledgement/);
  },
);

cliTest(
  "pending leaves out an emergency the inbox received more than 3 h ago: its retries are over",
  async (context) => {
    const device = await context.seed();
    const path = join(
      context.dir,
      "data",
      "pushover-open-client",
      "inbox.sqlite",
    );
    const emergency = (id: number, receipt: string) =>
      message(id, { priority: 2, receipt, message: receipt });
    const then = Date.now() - 3 * 3_600_000 - 60_000;
    const earlier = new Inbox(await openSqliteFile(path), () => then);
    earlier.add(device.deviceId, [emergency(1, "rOld")]);
    earlier.close();
    const now = await openInbox(path);
    now.add(device.deviceId, [emergency(2, "rNew")]);
    now.close();
    const pending = await context.run(["pending"]);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /^rNew .*\n$/);
  },
);

cliTest(
  "ack --all goes on past a receipt the server refuses (expired, unknown), and neither ack lists it as pending after",
  async (context) => {
    const device = await context.seed();
    const { receipt } = context.server.send({
      message: "smoke",
      title: "Alarm",
      priority: 2,
    });
    assert.ok(receipt);
    const inbox = await openInbox(
      join(context.dir, "data", "pushover-open-client", "inbox.sqlite"),
    );
    const emergency = (id: number, receipt: string, title: string) =>
      message(id, { priority: 2, receipt, title });
    inbox.add(device.deviceId, [
      emergency(1, "rGone", "Expired"),
      emergency(2, receipt, "Alarm"),
      emergency(3, "rGoneToo", "Expired too"),
    ]);
    inbox.close();
    const one = await context.run(["ack", "rGoneToo"]);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /receipt not found/);
    const all = await context.run(["ack", "--all"]);
    assert.equal(all.code, 1, "one was refused");
    assert.match(
      all.stderr,
      /^could not acknowledge "Expired" \(rGone\): .*receipt not found.*; no longer listed as pending\nacknowledged "Alarm" \(\w+\)\n$/,
    );
    assert.equal(context.server.store.isPending(receipt), false);
    const after = await context.run(["pending"]);
    assert.equal(after.stdout, "");
  },
);

cliTest(
  "an output given before but not now is forgotten, with one line: it no longer holds messages past retention, nor lists dead letters",
  async (context) => {
    await context.seed();
    const hook = await webhook(() => 503);
    try {
      await setAsideForWebhook(context, hook.url);
    } finally {
      await hook.close();
    }
    const now = context.start(["listen", "--keep-count", "1"]);
    try {
      const line = await now.waitFor("stderr", "forgot");
      assert.equal(
        line,
        "the inbox forgot the output webhook, not given this time (it had 0 message(s) to go and 1 set aside): given again, it starts with what arrives then",
      );
      await now.waitFor("stderr", "online");
      context.server.send({ message: "second" });
      await now.waitFor("stdout", "second");
      assert.equal(await interrupt(now), 0);
    } finally {
      await now.kill();
    }
    assert.doesNotMatch(now.output().stderr, /keeps \d+ message/);
    const failed = await context.run(["history", "--failed"]);
    assert.equal(failed.stdout, "");
    const status = await context.run(["status"]);
    assert.doesNotMatch(status.stdout, /webhook/);
  },
);

cliTest(
  "a second listener on the same inbox is refused with one line naming the first's pid",
  async (context) => {
    await context.seed();
    const first = context.startProcess(["listen"]);
    try {
      await first.waitFor("stderr", "online");
      const second = await context.run(["listen"]);
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        /^the inbox .*inbox\.sqlite is in use by another listener \(pid \d+ on .*\): stop it, or give this one --inbox with another file\n$/,
      );
      first.signal("SIGTERM");
      assert.equal((await first.exited).code, 0);
    } finally {
      await first.kill();
    }
    // Stopped, it let the inbox go.
    const third = context.start(["listen"]);
    try {
      await third.waitFor("stderr", "online");
      assert.equal(await interrupt(third), 0);
    } finally {
      await third.kill();
    }
  },
);

cliTest(
  "--inbox and --no-inbox together, and bad retention or attempts, are refused before anything happens",
  async (context) => {
    for (
      const args of [
        ["--inbox", "x.sqlite", "--no-inbox"],
        ["--keep", "0"],
        ["--keep-count", "-1"],
        ["--max-attempts", "many"],
      ]
    ) {
      const result = await context.run(["listen", ...args]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.stderr.split("\n").length, 2, result.stderr);
    }
  },
);

cliTest(
  "with --notify but a notify-send without buttons, an emergency still says how to acknowledge it",
  async (context) => {
    await context.seed();
    const bin = join(context.dir, "bin");
    await mkdir(bin);
    // Help without --action: notifications cannot carry "Acknowledge".
    await writeFile(
      join(bin, "notify-send"),
      `#!/bin/sh\n[ "$1" = "--help" ] && echo "Usage: notify-send SUMMARY [BODY]"\nexit 0\n`,
    );
    await chmod(join(bin, "notify-send"), 0o755);
    const child = context.start(["listen", "--notify"], {
      PATH: `${bin}:${process.env.PATH}`,
    });
    try {
      await context.server.waitForLogin();
      const { receipt } = context.server.send({
        message: "smoke",
        title: "Alarm",
        priority: 2,
      });
      const hint = await child.waitFor("stderr", "acknowledge it with");
      assert.match(hint, new RegExp(`ack ${receipt}$`));
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
  },
);

/** A sender's end-to-end key (64 hex digits), for this test only. */
const E2EE_KEY =
  "1f046d257b8eeaf278c5218fe03a9887c21f80ecd5ad11e39f28cb7cb8b9ce03";

cliTest(
  "a message that could not be decrypted is kept, printed as such and set aside for a hook instead of stopping the listener; with the key set, retry hands it over readable",
  async (context) => {
    await context.seed();
    const out = join(context.dir, "hooked.txt");
    const hook = ["--exec", `cat >> "${out}"`];
    const child = context.start(["listen", ...hook]);
    try {
      await context.server.waitForLogin();
      context.server.send({
        message: "the secret plan",
        encryptWith: E2EE_KEY,
      });
      context.server.send({ message: "in the clear" });
      await child.waitFor("stderr", "set aside for exec");
      await child.waitFor("stdout", "in the clear");
      assert.equal(await interrupt(child), 0, "not stopped by it");
    } finally {
      await child.kill();
    }
    assert.match(child.output().stdout, /end-to-end encrypted: set the key/);
    const keyFile = join(context.dir, "sender.key");
    await writeFile(keyFile, `${E2EE_KEY}\n`, { mode: 0o600 });
    const retried = await context.run(["retry"]);
    assert.match(
      retried.stderr,
      /handed 1 set-aside message\(s\) over again \(exec\)/,
    );
    const again = context.start([
      "listen",
      ...hook,
      "--e2ee-key-file",
      keyFile,
    ]);
    try {
      await until(() => {
        try {
          return readFileSync(out, "utf8").includes("the secret plan");
        } catch {
          return false;
        }
      }, "the hook got the decrypted text");
      assert.equal(await interrupt(again), 0);
    } finally {
      await again.kill();
    }
    const hooked = readFileSync(out, "utf8");
    assert.match(hooked, /"e2ee":"decrypted"/);
    assert.ok(!hooked.includes(E2EE_KEY));
  },
);

cliTest(
  "a full disk stops the listener with one line naming the inbox, and nothing it could not keep is deleted on the server",
  async (context) => {
    const device = await context.seed();
    const path = join(context.dir, "inbox.sqlite");
    // A file size limit (1 KiB blocks) as a full disk: the inbox cannot
    // grow past it. SIGXFSZ ignored, a write past it fails with EFBIG.
    const child = startScript(CLI, {
      args: ["listen", "--inbox", path],
      env: context.env(),
      shell: (command) => `trap '' XFSZ; ulimit -f 256; exec ${command}`,
    });
    const sent: string[] = [];
    try {
      await context.server.waitForLogin();
      for (let i = 0; i < 600; i++) {
        const body = `message ${i} ${"x".repeat(1_000)}`;
        context.server.send({ message: body });
        sent.push(body);
      }
      const { code } = await child.exited;
      assert.equal(code, 1, child.output().stderr);
    } finally {
      await child.kill();
    }
    const lines = child.output().stderr.trim().split("\n");
    assert.match(
      lines.at(-1)!,
      /^the inbox .*inbox\.sqlite: .*; the disk is full.*: make room/,
    );
    const inbox = await openInbox(path);
    let kept: Set<string>;
    try {
      kept = new Set(
        inbox.history({ limit: 10_000 }).map((s) => s.message.message),
      );
    } finally {
      inbox.close();
    }
    const waiting = new Set(queued(context.server, device));
    const lost = sent.filter((body) => !kept.has(body) && !waiting.has(body));
    assert.deepEqual(lost, [], "each kept or still queued");
    assert.ok(waiting.size > 0, "the disk filled before the burst was in");
  },
);

cliTest(
  "a read-only inbox stops the listener with one line naming it before anything is deleted on the server",
  async (context) => {
    const device = await context.seed();
    const folder = join(context.dir, "kept");
    const path = join(folder, "inbox.sqlite");
    (await openInbox(path)).close();
    context.server.send({ message: "stays queued" });
    // The folder mounted read-only for the listener alone: a mount
    // namespace of its own (unshare), so even root cannot write there.
    const readOnly = `mount --bind ${shellQuote(folder)} ${
      shellQuote(folder)
    } && mount -o remount,ro,bind ${shellQuote(folder)}`;
    const child = startScript(CLI, {
      args: ["listen", "--inbox", path],
      env: context.env(),
      shell: (command) =>
        `exec unshare -rm bash -c ${
          shellQuote(`${readOnly} && exec ${command}`)
        }`,
    });
    let code: number | null;
    try {
      ({ code } = await child.exited);
    } finally {
      await child.kill();
    }
    const { stderr } = child.output();
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^the inbox .*inbox\.sqlite: cannot create it \(EROFS\); give --inbox a file in a folder you can write\n$/,
    );
    assert.deepEqual(queued(context.server, device), ["stays queued"]);
  },
  { skip: unshareWorks() ? false : "unshare -rm is not allowed here" },
);

/** Whether this machine lets a process have a mount namespace of its own. */
function unshareWorks(): boolean {
  try {
    execFileSync("unshare", ["-rm", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
