// What every command promises alike: --version, help in every spelling, and
// exit codes from one map (issue 20).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PassThrough } from "node:stream";
import { type Command, helpText, parseCommand } from "../cli/_command.ts";
import { main, unsupportedRuntime } from "../cli/main.ts";
import { startFakeServer } from "../testing/mod.ts";
import { cliTest, interrupt, PLAIN } from "./_cli.ts";

/** main() with streams of its own; what it printed and returned. */
async function run(args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => out += chunk);
  stderr.on("data", (chunk) => err += chunk);
  const code = await main(args, {
    env: { HOME: "/nonexistent", XDG_CONFIG_HOME: "/nonexistent" },
    stdin: new PassThrough(),
    stdout,
    stderr,
    signal: new AbortController().signal,
  });
  return { code, stdout: out, stderr: err };
}

test("--version prints deno.json's version", async () => {
  const { version } = JSON.parse(
    readFileSync(new URL("../deno.json", import.meta.url), "utf8"),
  );
  for (const flag of ["--version", "-V"]) {
    const result = await run([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `pushover-open-client ${version}\n`);
  }
});

test("help COMMAND, COMMAND --help and COMMAND -h print the command's own help", async () => {
  const own = await run(["listen", "--help"]);
  assert.equal(own.code, 0);
  assert.match(own.stdout, /^Usage: pushover-open-client listen/);
  for (const args of [["help", "listen"], ["listen", "-h"], ["-h"]]) {
    const result = await run(args);
    assert.equal(result.code, 0, args.join(" "));
    if (args[0] !== "-h") assert.equal(result.stdout, own.stdout);
  }
  const status = await run(["help", "status"]);
  assert.match(status.stdout, /^Usage: pushover-open-client status/);
});

test("--help anywhere wins over a flag that would be refused", async () => {
  // An unknown flag stops node:util's parser before it sees --help.
  const result = await run([
    "listen",
    "--bogus",
    "--min-priority",
    "9",
    "--help",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: pushover-open-client listen/);
});

test("help for a command that does not exist is bad usage, exit 2", async () => {
  const result = await run(["help", "frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command 'frobnicate'/);
});

cliTest(
  "messages and ack with a device the server refused exit 3, as listen does",
  async (context) => {
    const device = await context.seed();
    context.server.store.revokeSecret(device.secret);
    for (const args of [["messages"], ["ack", "--all"]]) {
      const result = await context.run(args);
      assert.equal(result.code, 3, `${args.join(" ")}: ${result.stderr}`);
    }
  },
);

cliTest(
  "Ctrl-C at a login question exits 130, so that `login && listen` stops there",
  async (context) => {
    const child = context.start(["login", ...context.urls]);
    try {
      await child.waitFor("stderr", "E-mail: ");
      child.signal("SIGINT");
      assert.equal((await child.exited).code, 130);
    } finally {
      await child.kill();
    }
  },
);

cliTest(
  "a plain listen that deletes an emergency prints its receipt and the ack command that acknowledges it",
  async (context) => {
    await context.seed();
    const child = context.start(["listen"]);
    let receipt: string | undefined;
    try {
      await context.server.waitForLogin();
      receipt = context.server.send({
        message: "fire",
        title: "Alarm",
        priority: 2,
      }).receipt;
      await child.waitFor("stderr", "acknowledge it with");
      assert.equal(await interrupt(child), 0);
    } finally {
      await child.kill();
    }
    assert.ok(receipt);
    assert.match(
      child.output().stderr,
      new RegExp(
        `emergency "Alarm" waits for acknowledgement \\(receipt ${receipt}\\): acknowledge it with: pushover-open-client ack ${receipt}\\n`,
      ),
    );
    const ack = await context.run(["ack", receipt]);
    assert.equal(ack.code, 0, ack.stderr);
    assert.equal(context.server.store.isPending(receipt), false);
  },
);

cliTest(
  "a second login says which saved device it replaces, and that it stays on the account",
  async (context) => {
    const env = {
      PUSHOVER_EMAIL: PLAIN.email,
      PUSHOVER_PASSWORD: PLAIN.password,
    };
    const first = await context.run([
      "login",
      "--name",
      "old-box",
      ...context.urls,
    ], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /replaces/);
    const second = await context.run([
      "login",
      "--name",
      "new-box",
      ...context.urls,
    ], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /This replaces the device "old-box" saved in .*credentials\.json; it stays registered on your account/,
    );
  },
);

cliTest(
  "hints name the program as it was started (from a clone: the runtime and cli/main.ts) and keep a --config that was given",
  async (context) => {
    const none = join(context.dir, "none.json");
    const result = await context.runProcess(["listen", "--config", none]);
    assert.equal(result.code, 3);
    const runtime = "Deno" in globalThis
      ? "deno run -A"
      : "Bun" in globalThis
      ? "bun"
      : "node";
    assert.equal(
      result.stderr.trim(),
      `no device is saved in ${none}: run "${runtime} cli/main.ts login --config ${none}" first`,
    );
  },
);

test("on Node before 22 the CLI says what it needs instead of failing later", () => {
  assert.match(
    unsupportedRuntime({ node: "20.19.2" }) ?? "",
    /^pushover-open-client needs Node 22 or newer \(this is Node 20\.19\.2\); install a newer Node, or run it with Deno 2 or Bun 1$/,
  );
  assert.equal(unsupportedRuntime({ node: "22.13.0" }), undefined);
  assert.equal(unsupportedRuntime({ node: "20.0.0", bun: "1.2.0" }), undefined);
  assert.equal(
    unsupportedRuntime({ node: "20.11.1", deno: "2.1.0" }),
    undefined,
  );
});

/** Every command's definition, as main loads it. */
async function commands(): Promise<Command[]> {
  const [
    login,
    listen,
    messages,
    ack,
    status,
    logout,
    service,
    history,
    retry,
  ] = await Promise.all([
    import("../cli/login.ts"),
    import("../cli/listen.ts"),
    import("../cli/messages.ts"),
    import("../cli/ack.ts"),
    import("../cli/status.ts"),
    import("../cli/logout.ts"),
    import("../cli/service.ts"),
    import("../cli/history.ts"),
    import("../cli/retry.ts"),
  ]);
  return [
    login.login,
    listen.listen,
    messages.messages,
    messages.pending,
    ack.ack,
    status.status,
    logout.logout,
    service.service,
    history.history,
    retry.retry,
  ] as Command[];
}

test("each command's help lists exactly the flags its parser takes", async () => {
  const env = { HOME: "/home/someone" };
  for (const command of await commands()) {
    const help = helpText(command, env);
    const listed = new Set(
      [...help.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((match) => match[1]),
    );
    const parsed = new Set(
      Object.entries(command.flags).filter(([, flag]) => !flag.hidden).map((
        [name],
      ) => name),
    );
    parsed.add("help");
    assert.deepEqual(listed, parsed, command.name);
    // And what the help lists, the parser knows (a flag it did not know
    // would be "Unknown option"; any other refusal is about its value).
    for (const name of listed) {
      if (name === "help") continue;
      const flag = command.flags[name];
      const args = flag.type === "boolean" ? [`--${name}`] : [`--${name}`, "x"];
      try {
        parseCommand(command, command.rest ? ["print", ...args] : args, env);
      } catch (error) {
        assert.doesNotMatch(
          (error as Error).message,
          /Unknown option/,
          `${command.name} --${name}`,
        );
      }
    }
  }
});

test("every check of a command's flags runs before any file is read", async () => {
  // The credentials file does not exist: a check that ran after reading it
  // would say so instead of naming the bad flag.
  const cases = [
    ["listen", "--min-priority", "9"],
    ["listen", "--backlog", "sometimes"],
    ["listen", "--webhook", "ftp://example.com/"],
    ["login", "--name", "not a name"],
    ["messages", "--api-url", "http://example.com/1"],
    ["ack", "not-a-receipt!"],
    ["service", "install", "--exec-timeout", "0"],
  ];
  for (const args of cases) {
    const result = await run([...args, "--config", "/nonexistent/c.json"]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /nonexistent/, args.join(" "));
    assert.equal(result.stderr.split("\n").length, 2, result.stderr);
  }
});

test("in-process the CLI takes fetch and WebSocket from its context: a fake with no port serves it", async () => {
  const server = await startFakeServer({
    listen: false,
    keepAliveInterval: 0,
    accounts: [PLAIN],
  });
  const dir = await mkdtemp(join(tmpdir(), "cli-net-"));
  try {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk) => out += chunk);
    stderr.on("data", (chunk) => err += chunk);
    const io = {
      env: {
        XDG_CONFIG_HOME: join(dir, "config"),
        XDG_STATE_HOME: join(dir, "state"),
        PUSHOVER_EMAIL: PLAIN.email,
        PUSHOVER_PASSWORD: PLAIN.password,
      },
      stdin: new PassThrough(),
      stdout,
      stderr,
      signal: new AbortController().signal,
      fetch: server.fetch,
      WebSocket: server.WebSocket,
    };
    const urls = ["--api-url", server.apiUrl];
    assert.equal(await main(["login", "--name", "box", ...urls], io), 0, err);
    server.send({ message: "over no port" });
    assert.equal(await main(["messages", "--json"], io), 0, err);
    assert.equal(JSON.parse(out).message, "over no port");
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
