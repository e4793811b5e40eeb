// `relay`: many devices in one process, end to end against the fake. Each
// device has its own stream, inbox, hooks and status file; one that fails,
// is refused or is taken over never disturbs the others; a change of the
// file (or SIGHUP) reloads the list without dropping unchanged devices.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Device } from "../mod.ts";
import { parseCommand } from "../cli/_command.ts";
import type { Io } from "../cli/_io.ts";
import { Prompt } from "../cli/_prompt.ts";
import { listen } from "../cli/listen.ts";
import { type CliContext, cliTest, interrupt } from "./_cli.ts";
import { queued, within } from "./_setup.ts";
import type { LiveScript } from "./_spawn.ts";

/** Devices registered on the fake, each saved in its own credentials file. */
async function seedDevices(
  context: CliContext,
  names: string[],
): Promise<Map<string, Device>> {
  const devices = new Map<string, Device>();
  for (const name of names) {
    devices.set(name, await context.seed(name));
    await rename(context.config, join(context.dir, `${name}.json`));
  }
  return devices;
}

/** Writes the relay file (credentials paths relative to its folder). */
async function writeRelay(
  context: CliContext,
  devices: Record<string, Record<string, unknown>>,
): Promise<string> {
  const path = join(context.dir, "relay.json");
  await writeFile(path, JSON.stringify({ devices }));
  return path;
}

/** Resolves once `check` holds, looking every few ms (a net of 60 s). */
async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 60_000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once the whole output (in any order) matches `pattern`. */
const printed = (
  live: LiveScript,
  stream: "stdout" | "stderr",
  pattern: RegExp,
) => until(() => pattern.test(live.output()[stream]), `${stream} ${pattern}`);

/** How many logins the fake saw for `deviceId`. */
const logins = (context: CliContext, deviceId: string) =>
  context.server.log.entries.filter((e) =>
    e.kind === "socket" && e.event === "login" &&
    (e as { deviceId?: string }).deviceId === deviceId
  ).length;

/** A webhook receiver that fails until `up` is set; records what it took. */
async function webhook() {
  const state = { up: false, bodies: [] as string[] };
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      if (state.up) state.bodies.push(body);
      response.writeHead(state.up ? 204 : 503).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    state,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

cliTest(
  "relay runs each device with its own stream, inbox and lines; a failing webhook of one holds back none of the others",
  async (context) => {
    const devices = await seedDevices(context, ["home", "work"]);
    const hook = await webhook();
    const file = await writeRelay(context, {
      home: {
        config: "home.json",
        webhook: hook.url,
        "retry-delay": "10ms",
        "max-attempts": 100_000,
      },
      work: { config: "work.json", json: true },
    });
    const relay = context.start(["relay", "--devices", file]);
    try {
      await relay.waitFor("stderr", "relaying 2 device(s)");
      await context.server.waitForLogin(devices.get("home")!.deviceId);
      await context.server.waitForLogin(devices.get("work")!.deviceId);
      context.server.send({ message: "for home", device: "home" });
      context.server.send({ message: "for work", device: "work" });
      await printed(relay, "stdout", /^home: /m);
      await printed(relay, "stdout", /^\{"device":"work",/m);
      const lines = relay.output().stdout.trim().split("\n");
      const workLine = JSON.parse(lines.find((l) => l.startsWith("{"))!);
      assert.equal(workLine.device, "work");
      assert.equal(workLine.message, "for work");
      assert.match(lines.find((l) => l.startsWith("home: "))!, /for home$/);
      // The webhook is down: home's message waits for it, in home's inbox;
      // work's queue drained all the same.
      await printed(relay, "stderr", /^home: message \d+: .*503/m);
      await until(
        () => queued(context.server, devices.get("work")!).length === 0,
        "work's queue drained",
      );
      hook.state.up = true;
      await until(() => hook.state.bodies.length > 0, "the webhook took it");
      assert.match(hook.state.bodies[0], /"for home"/);
      assert.equal(await interrupt(relay), 0);
    } finally {
      await relay.kill();
      await hook.close();
    }
    const home = await context.run([
      "history",
      "--inbox",
      join(context.dir, "data/pushover-open-client/relay/home.sqlite"),
    ]);
    assert.match(home.stdout, /for home/);
    assert.doesNotMatch(home.stdout, /for work/, "each device its own inbox");
    const status = await context.run(["status", "--devices", file]);
    assert.match(
      status.stdout,
      /^home: stopped since .*\n(?: {2}.*\n)*work: stopped since /m,
    );
  },
);

cliTest(
  "relay: a device refused by the server stops on its own, one taken over too, one without credentials too; the others go on",
  async (context) => {
    const devices = await seedDevices(context, ["ok", "refused", "taken"]);
    const file = await writeRelay(context, {
      ok: { config: "ok.json" },
      refused: { config: "refused.json" },
      taken: { config: "taken.json" },
      missing: { config: "missing.json" },
    });
    const relay = context.start(["relay", "--devices", file]);
    try {
      for (const device of devices.values()) {
        await context.server.waitForLogin(device.deviceId);
      }
      await printed(
        relay,
        "stderr",
        /^missing: stopped: no device is saved in .*missing\.json/m,
      );
      context.server.disableDevice(devices.get("refused")!.deviceId);
      context.server.sendFrame("E", devices.get("refused")!.deviceId);
      context.server.sendFrame("A", devices.get("taken")!.deviceId);
      await printed(relay, "stderr", /^refused: stopped: the server refused/m);
      await printed(relay, "stderr", /^taken: stopped: another client logged/m);
      context.server.send({ message: "still here", device: "ok" });
      await printed(relay, "stdout", /^ok: .*still here$/m);
      assert.equal(logins(context, devices.get("ok")!.deviceId), 1);
      assert.equal(await interrupt(relay), 0);
    } finally {
      await relay.kill();
    }
    const status = await context.run(["status", "--devices", file]);
    assert.equal(status.code, 1, "not every device is connected");
    assert.match(
      status.stdout,
      /^missing: stopped since .*\n(?: {2}.*\n)* {2}last problem: no device is saved/m,
    );
    assert.match(
      status.stdout,
      /^refused: stopped since .*\n(?: {2}.*\n)* {2}last problem: the server refused/m,
    );
  },
);

cliTest(
  "relay reloads a changed file: an unchanged device keeps its connection, an added one starts, a removed one stops; a broken file changes nothing",
  async (context) => {
    const devices = await seedDevices(context, ["stays", "goes", "comes"]);
    const id = (name: string) => devices.get(name)!.deviceId;
    const file = await writeRelay(context, {
      stays: { config: "stays.json" },
      goes: { config: "goes.json" },
    });
    const relay = context.start(["relay", "--devices", file]);
    try {
      await context.server.waitForLogin(id("stays"));
      await context.server.waitForLogin(id("goes"));
      await writeFile(file, "{ not json");
      await relay.waitFor("stderr", /not JSON.*the devices keep running/);
      await writeRelay(context, {
        stays: { config: "stays.json" },
        comes: { config: "comes.json" },
      });
      await relay.waitFor("stderr", "changed: reloading");
      await context.server.waitForLogin(id("comes"));
      const until = Date.now() + 60_000;
      while (context.server.connections(id("goes")) > 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(
        context.server.connections(id("goes")),
        0,
        "removed: stopped",
      );
      assert.equal(context.server.connections(id("stays")), 1);
      assert.equal(logins(context, id("stays")), 1, "unchanged: not restarted");
      context.server.send({ message: "to the newcomer", device: "comes" });
      await printed(relay, "stdout", /^comes: .*to the newcomer$/m);
      assert.equal(await interrupt(relay), 0);
    } finally {
      await relay.kill();
    }
  },
);

cliTest(
  "relay restarts a stopped device on SIGHUP, without dropping the running one",
  async (context) => {
    const devices = await seedDevices(context, ["runs", "stopped"]);
    const id = (name: string) => devices.get(name)!.deviceId;
    const file = await writeRelay(context, {
      runs: { config: "runs.json" },
      stopped: { config: "stopped.json" },
    });
    const relay = context.startProcess(["relay", "--devices", file]);
    try {
      await context.server.waitForLogin(id("runs"));
      await context.server.waitForLogin(id("stopped"));
      context.server.sendFrame("A", id("stopped"));
      await relay.waitFor("stderr", /^stopped: stopped: another client/);
      relay.signal("SIGHUP");
      await relay.waitFor("stderr", "SIGHUP: reloading");
      await within(
        context.server.waitForLogin(id("stopped"), 2),
        "the stopped device's second login",
      );
      assert.equal(logins(context, id("runs")), 1);
      assert.equal(await interrupt(relay), 0);
    } finally {
      await relay.kill();
    }
  },
);

for (
  const [what, devices, expected] of [
    ["not an object", [], /needs "devices"/],
    ["no credentials file", { a: {} }, /device "a": "config" must name/],
    [
      "a bad name",
      { "../x": { config: "c.json" } },
      /device "\.\.\/x": a name is/,
    ],
    [
      "an unknown flag",
      { a: { config: "c.json", colour: true } },
      /"colour" is not one of listen's flags/,
    ],
    [
      "--ack",
      { a: { config: "c.json", ack: true } },
      /"ack" is refused: it asks on a terminal/,
    ],
    [
      "a wrong type",
      { a: { config: "c.json", notify: "yes" } },
      /"notify" must be true or false/,
    ],
    [
      "a control character",
      { a: { config: "c.json", exec: "x\ny" } },
      /"exec" holds a control character/,
    ],
    [
      "listen's own check",
      { a: { config: "c.json", "min-priority": 7 } },
      /device "a": --min-priority/,
    ],
    [
      "one device twice",
      { a: { config: "c.json" }, b: { config: "./c.json" } },
      /devices "a" and "b" have one credentials file/,
    ],
  ] as const
) {
  cliTest(
    `relay refuses a file with ${what} in one line, exit 2`,
    async (context) => {
      const file = await writeRelay(context, devices as never);
      const result = await context.run(["relay", "--devices", file]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    },
  );
}

cliTest(
  "relay | head -1: when the reader of stdout goes away every device stops and the relay exits 0; what was not printed stays in the inboxes",
  async (context) => {
    const devices = await seedDevices(context, ["one", "two"]);
    const file = await writeRelay(context, {
      one: { config: "one.json" },
      two: { config: "two.json" },
    });
    const relay = context.startProcess(
      ["relay", "--devices", file],
      {},
      "head -1",
    );
    try {
      for (const device of devices.values()) {
        await context.server.waitForLogin(device.deviceId);
      }
      context.server.send({ message: "read by head", device: "one" });
      await relay.waitFor("stdout", "read by head"); // and head is gone
      context.server.send({ message: "nobody reads this", device: "two" });
      await relay.waitFor("stderr", "exit=");
      assert.match(relay.output().stderr, /^exit=0$/m);
    } finally {
      await relay.kill();
    }
    assert.doesNotMatch(relay.output().stderr, /EPIPE|Error|at /);
    const two = await context.run([
      "history",
      "--inbox",
      join(context.dir, "data/pushover-open-client/relay/two.sqlite"),
    ]);
    assert.match(two.stdout, /nobody reads this/, "kept, for the next start");
  },
);

cliTest(
  "a listener's run leaves nothing on the signal and stdout it was given: relay runs a failed device again on the same ones",
  async (context) => {
    const device = await context.seed();
    context.server.disableDevice(device.deviceId); // each run is refused
    const stop = new AbortController();
    const stdout = new PassThrough();
    const stderr = new PassThrough().resume();
    const io: Io = {
      env: context.env(),
      stdin: new PassThrough(),
      stdout,
      stderr,
      signal: stop.signal,
    };
    const net = {
      fetch: context.server.fetch,
      WebSocket: context.server.WebSocket,
    };
    // The relay's own (its prompt's) are there before, and stay.
    const run = { io, prompt: new Prompt(stop, io), signal: stop.signal, net };
    const listening = abortListeners(stop.signal);
    // With the inbox, without it, and with the offline watcher.
    const runs = [[], ["--no-inbox"], ["--on-offline", "true"]];
    for (const flags of runs) {
      const options = parseCommand(listen, flags, io.env);
      await assert.rejects(listen.run(options, run), /refused this device/);
      assert.equal(listening.size, 0, `abort listeners after ${flags}`);
      assert.equal(stdout.listenerCount("error"), 1, `after ${flags}`);
    }
  },
);

/** The "abort" listeners on `signal` that were added and not taken off. */
function abortListeners(signal: AbortSignal): Set<unknown> {
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    if (args[0] === "abort") live.add(args[1]);
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    if (args[0] === "abort") live.delete(args[1]);
    remove(...args);
  };
  return live;
}
