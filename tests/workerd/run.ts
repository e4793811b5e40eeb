/**
 * The library, unchanged, inside Cloudflare's workerd: tests/workerd/worker.ts
 * and mod.ts are bundled by esbuild into one ES module, which Miniflare (the
 * npm package that ships workerd) runs as a Worker. One request to it runs
 * login → registerDevice → downloadMessages → streamMessages (3 messages) →
 * deleteThrough against the fake Pushover server, which runs here, in Node,
 * on 127.0.0.1; the Worker reaches it with workerd's own fetch and WebSocket.
 *
 * Run by `deno task test workerd` (tests/run_all.ts), with Node 24:
 *
 *   node --test-reporter=spec tests/workerd/run.ts \
 *     --esbuild .runtimes/esbuild/node_modules/.bin/esbuild \
 *     --miniflare .runtimes/miniflare/node_modules/miniflare/dist/src/index.js
 *
 * Without the flags it looks in `.runtimes/` (where run_all.ts installs both).
 * `--compatibility-date YYYY-MM-DD` overrides the date (default: the newest
 * this workerd supports).
 *
 * @module
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type FakeServer, startFakeServer } from "../../testing/mod.ts";
import type {
  FlowFailure,
  FlowReport,
  FlowRequest,
  MessageSummary,
} from "./worker.ts";
import type { DecryptRequest, InProcessReport } from "./in_process_worker.ts";
import { encryptField } from "../../testing/encrypt.ts";
import { within as withinMs } from "../_setup.ts";
import { bundle } from "../_bundle.ts";
import {
  COMPATIBILITY_DATE,
  esbuild,
  Miniflare,
  type MiniflareLike,
} from "../_miniflare.ts";

/** Waits in workerd are longer: starting workerd takes a while. */
const within = <T>(promise: Promise<T>, what: string, ms = 10_000) =>
  withinMs(promise, what, ms);

const EMAIL = "workerd@example.com";
const PASSWORD = "pa55-w0rd-in-a-worker";
const DEVICE_NAME = "workerd";
/** Above 2^53: only `id_str` carries these exactly. */
const FIRST_ID = "9007199254740993";
const TAKE = 3;

/** What happened, gathered once in before() and checked by each test. */
interface Run {
  report: FlowReport;
  /** The ids the fake gave the messages it sent, by body. */
  sentIds: Map<string, string>;
}

let server: FakeServer;
let miniflare: MiniflareLike | undefined;
let run: Run;

/** Resolves once the fake has answered a download made after log entry `from`. */
async function downloadAnswered(from: number): Promise<number> {
  const entry = await server.log.waitFor(
    (e) => e.kind === "http" && e.endpoint === "download" && e.status === 200,
    from,
  );
  return server.log.entries.indexOf(entry) + 1;
}

before(async () => {
  server = await startFakeServer({
    keepAliveInterval: 0,
    firstMessageId: FIRST_ID,
    accounts: [{ email: EMAIL, password: PASSWORD }],
  });
  const script = bundle(
    esbuild,
    new URL("./worker.ts", import.meta.url),
    "neutral",
  );
  miniflare = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    // Miniflare's default outbound network allows private and loopback
    // addresses (workerd's own default allows only public ones), so the
    // Worker's fetch and WebSocket reach the fake on 127.0.0.1 directly.
    host: "127.0.0.1",
    port: 0,
  });
  await miniflare.ready;

  const flow: FlowRequest = {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
    email: EMAIL,
    password: PASSWORD,
    deviceName: DEVICE_NAME,
    take: TAKE,
    streamTimeout: 10_000,
  };
  const answer = miniflare.dispatchFetch("http://worker.test/", {
    method: "POST",
    body: JSON.stringify(flow),
  });
  // The welcome message is queued at registration; two more are sent once
  // the stream is connected and has synced, so each arrives by a `!` frame.
  const sentIds = new Map<string, string>();
  let stage = "the Worker's WebSocket login";
  const sendLive = async () => {
    await server.waitForLogin();
    let from = server.log.entries.findIndex((e) =>
      e.kind === "socket" && e.event === "login"
    );
    for (const body of ["live 1", "live 2"]) {
      stage = `the download before sending "${body}"`;
      from = await downloadAnswered(from);
      const sent = server.send({ message: body, title: `title of ${body}` });
      sentIds.set(body, Object.values(sent.ids)[0]);
    }
    stage = "the Worker's answer";
  };
  let response: Response;
  try {
    // If the Worker fails early, it answers before the login ever comes.
    [response] = await within(
      Promise.all([answer, Promise.race([sendLive(), answer])]),
      "the Worker",
      15_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}, at ${stage}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = text; // workerd's own error page if the Worker did not answer
    try {
      const failure = JSON.parse(text) as FlowFailure;
      detail = `its steps: ${failure.steps.join(" → ")}\n${failure.error}`;
    } catch {
      // not the Worker's report
    }
    throw new Error(
      `the Worker failed (${response.status}) while the test waited for ${stage}; ${detail}`,
    );
  }
  run = { report: JSON.parse(text) as FlowReport, sentIds };
  // The stream closed its socket before the Worker answered; the fake may
  // log the close a moment later.
  await within(
    server.log.waitFor((e) => e.kind === "socket" && e.event === "close"),
    "the socket's close",
  );
}, { timeout: 60_000 });

after(async () => {
  try {
    await miniflare?.dispose(); // rejects if workerd failed to start
  } finally {
    await server?.close();
  }
});

const bodies = (messages: MessageSummary[]) => messages.map((m) => m.message);

test(`the flow ran inside workerd (compatibility date ${COMPATIBILITY_DATE}, no flags)`, () => {
  const { runtime } = run.report;
  if (COMPATIBILITY_DATE >= "2022-03-21") {
    assert.equal(runtime.userAgent, "Cloudflare-Workers");
  }
  assert.equal(runtime.hasWebSocketPair, true);
  assert.equal(runtime.hasProcess, false, "no nodejs_compat");
});

test("login and registerDevice in workerd: the fake saw the credentials and made the device", () => {
  const [loginRequest] = server.log.requests("login");
  assert.equal(loginRequest.params.email, EMAIL);
  assert.equal(loginRequest.params.password, PASSWORD);
  assert.equal(loginRequest.status, 200);
  const [registerRequest] = server.log.requests("register");
  assert.equal(registerRequest.params.name, DEVICE_NAME);
  assert.equal(registerRequest.status, 200);
  const devices = [...server.store.devices.values()];
  assert.deepEqual(
    devices.map((d) => [d.id, d.name]),
    [[run.report.deviceId, DEVICE_NAME]],
  );
});

test("downloadMessages in workerd: the welcome message, its id above 2^53 exact as a string", () => {
  const [welcome, ...rest] = run.report.downloaded;
  assert.deepEqual(rest, []);
  assert.equal(welcome.id_str, FIRST_ID);
  assert.equal(welcome.title, "Welcome to Pushover!");
  assert.match(welcome.message, /Your device workerd can now receive/);
});

test("streamMessages in workerd: the backlog, then two messages pushed by `!` over workerd's WebSocket, in order", () => {
  const { streamed, downloaded } = run.report;
  assert.deepEqual(bodies(streamed), [
    downloaded[0].message,
    "live 1",
    "live 2",
  ]);
  assert.deepEqual(streamed.map((m) => m.id_str), [
    FIRST_ID,
    run.sentIds.get("live 1"),
    run.sentIds.get("live 2"),
  ]);
  assert.deepEqual(streamed.map((m) => m.title), [
    "Welcome to Pushover!",
    "title of live 1",
    "title of live 2",
  ]);
  // One socket, logged in as the device, told twice that messages wait.
  const socket = server.log.entries.filter((e) => e.kind === "socket");
  const logins = socket.filter((e) => e.event === "login");
  assert.deepEqual(logins.map((e) => e.deviceId), [run.report.deviceId]);
  assert.equal(socket.filter((e) => e.event === "open").length, 1);
  assert.equal(
    socket.filter((e) => e.event === "sent" && e.data === "!").length,
    2,
  );
  // A "synced" per download: the first, and one per `!`.
  assert.deepEqual(run.report.statuses, [
    "connecting",
    "connected",
    "synced",
    "synced",
    "synced",
    "stopped:ended",
  ]);
});

test("deleteThrough in workerd: one delete, through the last id, empties the queue", () => {
  const deletes = server.log.requests("delete");
  assert.equal(deletes.length, 1, "autoDelete is off: only deleteThrough");
  assert.equal(deletes[0].params.message, run.sentIds.get("live 2"));
  assert.equal(deletes[0].status, 200);
  assert.deepEqual(server.store.devices.get(run.report.deviceId)!.queue, []);
  assert.deepEqual(run.report.afterDelete, []);
});

test("the fake server itself runs in workerd in-process, and the whole flow with it: no listener, no network; an end-to-end encrypted message is decrypted there", async () => {
  // The loopback listener needs node:http; with listen: false it never loads.
  const script = bundle(
    esbuild,
    new URL("./in_process_worker.ts", import.meta.url),
    "neutral",
    ["./serve_http.ts"],
  );
  const worker = new Miniflare({
    // The bundle keeps its dynamic import of the listener; a stub stands in
    // for it, and would throw if the fake ever tried to listen.
    modules: [
      { type: "ESModule", path: "worker.js", contents: script },
      {
        type: "ESModule",
        path: "serve_http.ts",
        contents:
          'export function serveHttp() { throw new Error("no listener in a Worker"); }',
      },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
  });
  try {
    await worker.ready;
    // Fields sealed here, in Node, as an encrypting sender does; the Worker
    // decrypts them with workerd's WebCrypto and DecompressionStream.
    const key = "9f".repeat(32);
    const sealed: DecryptRequest = {
      key,
      title: encryptField("Grabbed — Ünïcødé", key),
      message: encryptField("Dune (2021) 2160p", key),
    };
    const response = await within(
      worker.dispatchFetch("http://worker.test/", {
        method: "POST",
        body: JSON.stringify(sealed),
      }),
      "the in-process Worker",
    );
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const report = JSON.parse(text) as InProcessReport;
    if (COMPATIBILITY_DATE >= "2022-03-21") {
      assert.equal(report.userAgent, "Cloudflare-Workers");
    }
    assert.equal(report.streamed.length, 3);
    assert.match(report.streamed[0], /Your device in-process can now receive/);
    assert.deepEqual(report.streamed.slice(1), ["live 1", "live 2"]);
    assert.equal(report.left, 0, "break deleted what the loop moved past");
    assert.equal(report.logins, 1);
    assert.equal(report.deletes, 1);
    assert.deepEqual(report.decrypted, {
      title: "Grabbed — Ünïcødé",
      message: "Dune (2021) 2160p",
      e2ee: "decrypted",
    });
  } finally {
    await worker.dispose();
  }
});

test("examples/worker.ts, run by a Cron Trigger in workerd, forwards the queue and deletes only what was forwarded", async () => {
  const account = server.store.accounts[0];
  const secret = server.store.issueSecret(account);
  const device = server.store.addDevice(account, "cron-worker");
  device.queue.length = 0;
  server.send({ message: "cron 1", title: "C" });
  server.send({ message: "cron 2", title: "C" });
  // The forward target refuses the second message: it must stay queued.
  const { createServer } = await import("node:http");
  const received: string[] = [];
  const target = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      received.push(JSON.parse(body).message);
      response.writeHead(received.length === 1 ? 200 : 503).end();
    });
  });
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  const port = (target.address() as { port: number }).port;
  const script = bundle(
    esbuild,
    new URL("../../examples/worker.ts", import.meta.url),
    "neutral",
  );
  const cron = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      PUSHOVER_SECRET: secret,
      PUSHOVER_DEVICE_ID: device.id,
      FORWARD_URL: `http://127.0.0.1:${port}/`,
      PUSHOVER_API_URL: server.apiUrl,
    },
  }) as MiniflareLike & {
    getWorker(): Promise<
      { scheduled(options: { cron: string }): Promise<unknown> }
    >;
  };
  try {
    await cron.ready;
    const worker = await cron.getWorker();
    await within(worker.scheduled({ cron: "* * * * *" }), "the scheduled run");
  } finally {
    await cron.dispose();
    await new Promise((resolve) => target.close(resolve));
  }
  assert.deepEqual(received, ["cron 1", "cron 2"]);
  assert.deepEqual(device.queue.map((m) => m.message), ["cron 2"]);
});
