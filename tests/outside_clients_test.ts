// The fake server against clients nobody here wrote, over loopback: Debian's
// curl, sending requests the way other Open Clients do (a GET whose
// parameters are only in a form body, as the tsuna and Pullover clients send
// it; force=1; methods the service does not serve), and the Python client
// jonogreenz/py-pushover-open-client, driven through its own API by our
// script tests/fixtures/outside/py_client_driver.py.
//
// A check whose tool is missing is skipped with a note saying why. The Python
// check runs only when PUSHOVER_PY_CLIENT names a checkout of that client:
//
//   apt-get install -y python3-requests python3-websocket
//   PUSHOVER_PY_CLIENT=/path/to/py-pushover-open-client deno task test
//
// (the folder that holds the `pushover_open_client` package, or that package
// folder itself). The client is never copied into this repository.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { within as withinMs } from "./_setup.ts";
import { fileURLToPath } from "node:url";
import { parseCredentials } from "../mod.ts";
import { type FakeServer, startFakeServer } from "../testing/mod.ts";

const EMAIL = "outside@example.com";
const PASSWORD = "outside-client-pw";
const DRIVER = fileURLToPath(
  new URL("./fixtures/outside/py_client_driver.py", import.meta.url),
);
/** Longest any one wait on a child or the fake may take. */
const WAIT_MS = 10_000;

// ---- running other programs ----

/** The environment for children: no proxy, so loopback stays loopback. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/_proxy$/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    NO_PROXY: "127.0.0.1,localhost,::1",
    no_proxy: "127.0.0.1,localhost,::1",
    PYTHONDONTWRITEBYTECODE: "1", // leave the client's checkout as it was
  };
}

/** A child process whose stdout is read line by line as it comes. */
interface Child {
  /** Resolves with the first stdout line matching `pattern`; rejects after `ms` or at exit. */
  line(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Every complete stdout line so far. */
  lines(): string[];
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Kills it if it still runs and waits for it: for `finally`. */
  kill(): Promise<void>;
}

function start(program: string, args: string[]): Child {
  const child = spawn(program, args, { env: childEnv() });
  let stdout = "";
  let stderr = "";
  let done = false;
  const wakers = new Set<() => void>();
  const wake = () => wakers.forEach((waker) => waker());
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
    wake();
  });
  child.stderr.on("data", (chunk: string) => stderr += chunk);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      done = true;
      wake();
      resolve(code);
    });
  });
  exited.catch(() => {}); // an ENOENT is reported by whoever awaits it
  const lines = () => stdout.split("\n").slice(0, -1);
  const show = () => `\nstdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    line(pattern, ms = WAIT_MS) {
      return new Promise((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        const check = () => {
          for (const line of lines()) {
            const match = line.match(pattern);
            if (match) {
              finish();
              return resolve(match);
            }
          }
          if (done) {
            finish();
            reject(
              new Error(`${program} exited with no line ${pattern}${show()}`),
            );
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no line ${pattern} within ${ms} ms${show()}`));
        }, ms);
        wakers.add(check);
        check();
      });
    },
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
      await exited.catch(() => {});
    },
  };
}

/** Runs a program to its end: exit code and output, or a rejection after `ms`. */
async function run(
  program: string,
  args: string[],
  ms = WAIT_MS,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(program, args);
  try {
    const code = await within(child.exited, `${program} to exit`, ms);
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    await child.kill();
  }
}

/** `promise`, or a rejection naming `what` after `ms` (the shared helper). */
const within = <T>(promise: Promise<T>, what: string, ms = WAIT_MS) =>
  withinMs(promise, what, ms);

/** The first line a command prints, or undefined if it does not run cleanly. */
async function probe(
  program: string,
  args: string[],
): Promise<string | undefined> {
  try {
    const { code, stdout } = await run(program, args, 5_000);
    return code === 0 ? stdout.split("\n")[0].trim() : undefined;
  } catch {
    return undefined;
  }
}

// ---- which tools are here (decided before the tests are declared) ----

const CURL = (await probe("curl", ["--version"]))?.split(" ").slice(0, 2)
  .join(" ");
const curlSkip: string | false = CURL
  ? false
  : "curl is not installed (Debian: apt-get install -y curl)";

const PY_CLIENT = process.env.PUSHOVER_PY_CLIENT;
const PY_PACKAGES = "apt-get install -y python3-requests python3-websocket";
/** The first python3 that has requests and websocket-client, and their versions. */
async function findPython(): Promise<
  { python: string; versions: string } | undefined
> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const versions = await probe(python, [
      "-c",
      "import sys, requests, websocket; print(sys.version.split()[0], requests.__version__, websocket.__version__)",
    ]);
    if (versions) return { python, versions };
  }
  return undefined;
}
const PYTHON = PY_CLIENT ? await findPython() : undefined;
const pySkip: string | false = !PY_CLIENT
  ? "set PUSHOVER_PY_CLIENT to a checkout of jonogreenz/py-pushover-open-client " +
    `(the folder holding pushover_open_client/) and ${PY_PACKAGES} to run it`
  : !PYTHON
  ? "PUSHOVER_PY_CLIENT is set, but neither /usr/bin/python3 nor python3 " +
    `imports requests and websocket: ${PY_PACKAGES}`
  : false;

console.log(
  `note: outside clients: curl: ${
    curlSkip ? `skipped, ${curlSkip}` : CURL
  }; python client: ${
    pySkip
      ? `skipped, ${pySkip}`
      : `${PY_CLIENT} with ${
        PYTHON!.python
      } (python, requests, websocket-client: ${PYTHON!.versions})`
  }`,
);

// ---- curl ----

interface CurlAnswer {
  status: number;
  contentType: string;
  text: string;
}

const MARK = "@@curl@@";

/** One curl request (silent, no proxy); status and content type from `-w`. */
async function curl(args: string[]): Promise<CurlAnswer> {
  const { code, stdout, stderr } = await run("curl", [
    "-sS",
    "--noproxy",
    "*",
    "--max-time",
    "5",
    "-w",
    `\\n${MARK}%{http_code} %{content_type}`,
    ...args,
  ]);
  assert.equal(code, 0, `curl ${args.join(" ")} failed: ${stderr}`);
  const at = stdout.lastIndexOf(`\n${MARK}`);
  assert.ok(at >= 0, `no -w trailer in curl's output: ${stdout}`);
  const [status, ...type] = stdout.slice(at + MARK.length + 1).split(" ");
  return {
    status: Number(status),
    contentType: type.join(" ").trim(),
    text: stdout.slice(0, at),
  };
}

// deno-lint-ignore no-explicit-any
function json(answer: CurlAnswer): any {
  assert.match(answer.contentType, /^application\/json/, answer.text);
  return JSON.parse(answer.text);
}

/** A listening fake with one account, closed after `body` whatever happens. */
function curlTest(
  name: string,
  body: (server: FakeServer) => Promise<void>,
): void {
  test(name, { skip: curlSkip, timeout: 120_000 }, async () => {
    const server = await startFakeServer({
      listen: true,
      keepAliveInterval: 0,
      accounts: [{ email: EMAIL, password: PASSWORD }],
    });
    try {
      await body(server);
    } finally {
      await server.close();
    }
  });
}

/** Logs in with curl (a POST form); returns the secret. */
async function curlLogin(server: FakeServer): Promise<string> {
  const answer = await curl([
    "--data-urlencode",
    `email=${EMAIL}`,
    "--data-urlencode",
    `password=${PASSWORD}`,
    `${server.apiUrl}/users/login.json`,
  ]);
  assert.equal(answer.status, 200, answer.text);
  const body = json(answer);
  assert.equal(body.status, 1);
  assert.equal(body.id, server.store.accounts[0].userKey);
  assert.match(body.secret, /^[a-z0-9]{60}$/);
  return body.secret;
}

/** Registers a device with curl (a POST form); returns the answer. */
function curlRegister(
  server: FakeServer,
  secret: string,
  name: string,
  extra = "",
): Promise<CurlAnswer> {
  return curl([
    "--data",
    `secret=${secret}&name=${name}&os=O${extra}`,
    `${server.apiUrl}/devices.json`,
  ]);
}

/** A download the way tsuna's and Pullover's clients send it: GET, parameters only in the body. */
function curlDownload(
  server: FakeServer,
  secret: string,
  deviceId: string,
  headers: string[] = [],
): Promise<CurlAnswer> {
  return curl([
    "-X",
    "GET",
    ...headers,
    "--data",
    `secret=${secret}&device_id=${deviceId}`,
    `${server.apiUrl}/messages.json`,
  ]);
}

curlTest(
  "curl: log in, register, then a GET whose parameters are only in a form body downloads the welcome message",
  async (server) => {
    const secret = await curlLogin(server);
    const registered = await curlRegister(server, secret, "curl-box");
    assert.equal(registered.status, 200, registered.text);
    const deviceId: string = json(registered).id;
    assert.match(deviceId, /^[a-z0-9]{40}$/);
    assert.equal(server.store.devices.get(deviceId)?.name, "curl-box");

    // As tsuna's client sends it (urlencoded), and as Pullover does (no content type).
    for (const headers of [[], ["-H", "Content-Type:"]]) {
      const answer = await curlDownload(server, secret, deviceId, headers);
      assert.equal(answer.status, 200, answer.text);
      const body = json(answer);
      assert.equal(body.status, 1);
      assert.deepEqual(
        body.messages.map((m: { title: string }) => m.title),
        ["Welcome to Pushover!"],
      );
      assert.equal(body.device.name, "curl-box");
      const seen = server.log.requests("download").at(-1)!;
      assert.equal(seen.method, "GET");
      assert.deepEqual(seen.query, {}, "nothing came in the query string");
      assert.deepEqual(seen.body, { secret, device_id: deviceId });
      assert.equal(
        seen.contentType,
        headers.length ? "" : "application/x-www-form-urlencoded",
      );
    }
  },
);

curlTest(
  "curl: force=1 takes a taken name over: 400 'has already been taken' without it, a new id with it, and the old id refused naming device_id",
  async (server) => {
    const secret = await curlLogin(server);
    const first = await curlRegister(server, secret, "curl-box");
    assert.equal(first.status, 200, first.text);
    const oldId: string = json(first).id;

    const again = await curlRegister(server, secret, "curl-box");
    assert.equal(again.status, 400, again.text);
    const refused = json(again);
    assert.equal(refused.status, 0);
    assert.deepEqual(refused.errors, { name: ["has already been taken"] });
    assert.ok(server.store.devices.has(oldId), "the first device stays");

    const forced = await curlRegister(server, secret, "curl-box", "&force=1");
    assert.equal(forced.status, 200, forced.text);
    const newId: string = json(forced).id;
    assert.match(newId, /^[a-z0-9]{40}$/);
    assert.notEqual(newId, oldId);

    const old = await curlDownload(server, secret, oldId);
    assert.equal(old.status, 400, old.text);
    const oldBody = json(old);
    assert.equal(oldBody.status, 0);
    assert.equal(oldBody.device_id, "invalid");
    assert.equal(oldBody.device, undefined);
    assert.ok(Array.isArray(oldBody.errors) && oldBody.errors.length > 0);

    const fresh = await curlDownload(server, secret, newId);
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(json(fresh).messages[0].title, "Welcome to Pushover!");
  },
);

curlTest(
  "curl: HEAD, PUT and DELETE on /1/messages.json get the site's HTML 404, not JSON",
  async (server) => {
    const secret = await curlLogin(server);
    const deviceId: string =
      json(await curlRegister(server, secret, "curl-box")).id;
    const params = `secret=${secret}&device_id=${deviceId}`;
    const url = `${server.apiUrl}/messages.json`;
    const answers = {
      HEAD: await curl(["-I", `${url}?${params}`]),
      PUT: await curl(["-X", "PUT", "--data", params, url]),
      DELETE: await curl(["-X", "DELETE", "--data", params, url]),
    };
    for (const [method, answer] of Object.entries(answers)) {
      assert.equal(answer.status, 404, `${method}: ${answer.text}`);
      assert.match(answer.contentType, /^text\/html/, method);
      if (method === "HEAD") continue; // headers only
      assert.match(answer.text, /^<!DOCTYPE html>/, method);
      assert.match(answer.text, /Not Found/, method);
      assert.throws(() => JSON.parse(answer.text), SyntaxError, method);
    }
    const seen = server.log.requests().filter((e) =>
      e.path === "/1/messages.json"
    );
    assert.deepEqual(
      seen.map((e) => [e.method, e.endpoint, e.status]),
      [
        ["HEAD", "unknown", 404],
        ["PUT", "unknown", 404],
        ["DELETE", "unknown", 404],
      ],
    );
    assert.equal(
      server.store.devices.get(deviceId)!.queue.length,
      1,
      "nothing was deleted",
    );
  },
);

// ---- the Python client ----

test(
  "py-pushover-open-client (jonogreenz): logs in, registers, flushes the backlog, then gets 2 live messages over the WebSocket",
  { skip: pySkip, timeout: 120_000 },
  async () => {
    const clientDir = resolve(PY_CLIENT!);
    const module = join(
      clientDir,
      "pushover_open_client",
      "pushover_open_client.py",
    );
    const packageFile = join(clientDir, "pushover_open_client.py");
    const found = await Promise.any([stat(module), stat(packageFile)]).then(
      () => true,
      () => false,
    );
    assert.ok(
      found,
      `PUSHOVER_PY_CLIENT=${PY_CLIENT} holds no pushover_open_client package ` +
        "(a checkout of jonogreenz/py-pushover-open-client, or its package folder)",
    );

    const server = await startFakeServer({
      listen: true,
      keepAliveInterval: 0,
      accounts: [{ email: EMAIL, password: PASSWORD }],
    });
    const dir = await mkdtemp(join(tmpdir(), "outside-py-"));
    const configPath = join(dir, "device.cfg");
    const driver = start(PYTHON!.python, [
      "-u",
      DRIVER,
      clientDir,
      server.apiUrl,
      server.websocketUrl,
      EMAIL,
      PASSWORD,
      "py-box",
      configPath,
      "2",
    ]);
    try {
      const deviceId = (await driver.line(/^REGISTERED (\S+)$/))[1];
      await within(server.waitForLogin(deviceId), "the client's socket login");
      const sent = [
        server.send({ title: "py-live-1", message: "first over the socket" }),
        server.send({ title: "py-live-2", message: "second over the socket" }),
      ];
      await driver.line(/^DONE$/);
      const code = await within(driver.exited, "the driver to exit");
      const out = driver.lines();
      const show = `\nstdout:\n${out.join("\n")}\nstderr:\n${driver.stderr()}`;
      assert.equal(code, 0, show);
      assert.deepEqual(
        out.filter((l) => /^(FAILED|CALLBACK-ERROR)/.test(l)),
        [],
        show,
      );
      assert.doesNotMatch(driver.stderr(), /Traceback/, show);

      const account = server.store.accounts[0];
      const device = server.store.devices.get(deviceId);
      assert.equal(device?.name, "py-box", show);
      assert.equal(device.account, account);
      assert.ok(out.includes(`LOGGED-IN ${account.userKey}`), show);

      // The backlog: the welcome message, downloaded and deleted through.
      const backlog = out.filter((l) => l.startsWith("OUTSTANDING "));
      assert.equal(backlog.length, 1, show);
      const [, welcomeId, welcome] = backlog[0].match(
        /^OUTSTANDING (\d+) (.*)$/,
      )!;
      assert.equal(JSON.parse(welcome).title, "Welcome to Pushover!");
      assert.equal(JSON.parse(welcome).app, "Pushover");
      assert.ok(out.includes(`FLUSHED ${welcomeId}`), show);
      assert.ok(out.includes("LEFT 0"), show);

      // The live messages, in order, with their 64-bit umids digit for digit.
      const live = out.filter((l) => l.startsWith("LIVE "))
        .map((l) => l.match(/^LIVE (\d+) (.*"umid": (\d+).*)$/)!);
      assert.deepEqual(
        live.map(([, , text]) => JSON.parse(text).title),
        ["py-live-1", "py-live-2"],
        show,
      );
      assert.deepEqual(
        live.map(([, , , umid]) => umid),
        sent.map((s) => s.umid),
      );
      assert.deepEqual(
        live.map(([, id]) => id),
        sent.map((s) => s.ids[deviceId]),
      );
      assert.equal(device.queue.length, 0, "the client deleted what it got");

      // The config file the client wrote is one this library imports.
      const saved = parseCredentials(await readFile(configPath, "utf8"));
      assert.equal(saved.device.deviceId, deviceId);
      assert.equal(saved.userKey, account.userKey);
      assert.equal(saved.email, EMAIL);
      assert.equal(
        server.store.deviceFor(saved.device.secret, deviceId),
        device,
      );
      assert.ok(!JSON.stringify(saved).includes(PASSWORD), "no password kept");

      // What the fake saw: the client's own wire format.
      assert.deepEqual(
        server.log.sockets("received").map((e) => e.data),
        [`login:${deviceId}:${saved.device.secret}\n`],
      );
      const downloads = server.log.requests("download");
      assert.ok(downloads.length >= 3, "backlog, after the flush, after '!'");
      for (const d of downloads) {
        assert.equal(d.method, "GET");
        assert.equal(d.status, 200);
        // This client puts its parameters in the query string, not a body.
        assert.deepEqual(d.query, {
          secret: saved.device.secret,
          device_id: deviceId,
        });
      }
      const deletes = server.log.requests("delete");
      assert.ok(deletes.every((d) => d.status === 200));
      assert.deepEqual(
        [deletes[0].params.message, deletes.at(-1)!.params.message],
        [welcomeId, live.at(-1)![1]],
      );
    } finally {
      await driver.kill();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
