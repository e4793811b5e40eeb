// `listen --http`: the local web app over the inbox, end to end against the
// fake — who may use it (token, Host, Origin, CSRF), what it shows and does
// (list, search, read, live events, Acknowledge), /healthz, /metrics, and
// --on-offline.

import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { parseAddress, serveWeb } from "../cli/_web_server.ts";
import { type CliContext, cliTest, interrupt } from "./_cli.ts";
import type { LiveScript } from "./_spawn.ts";

/** The web page's port and token, from the listener's line and token file. */
async function webApp(context: CliContext, listener: LiveScript) {
  const line = await listener.waitFor("stderr", "the web page: ");
  const port = Number(/127\.0\.0\.1:(\d+)\//.exec(line)![1]);
  const token = (await readFile(
    join(context.dir, "state", "pushover-open-client", "web-token"),
    "utf8",
  )).trim();
  const origin = `http://127.0.0.1:${port}`;
  let csrf = "";
  const call = async (
    method: string,
    path: string,
    headers: Record<string, string> = {},
  ) =>
    await raw(port, method, path, {
      authorization: `Bearer ${token}`,
      ...(method === "POST" ? { origin, "x-csrf-token": csrf } : {}),
      ...headers,
    });
  csrf = JSON.parse((await call("GET", "/api/session")).body).csrf;
  return { port, token, origin, call };
}

/** One request by node:http, which lets a test set any Host. */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: "127.0.0.1",
      port,
      method,
      path,
      headers: { host: `127.0.0.1:${port}`, ...headers },
    }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => body += chunk);
      response.on("end", () =>
        resolve({
          status: response.statusCode!,
          headers: response.headers as Record<string, string>,
          body,
        }));
    });
    request.on("error", reject);
    request.end();
  });
}

/** Resolves once `check` holds, looking every 10 ms (a net of 60 s). */
async function until(
  check: () => Promise<boolean> | boolean,
  what: string | (() => string),
) {
  const started = Date.now();
  while (!await check()) {
    if (Date.now() - started > 60_000) {
      throw new Error(`never: ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

cliTest(
  "listen --http refuses data without the token, with a wrong one, in a cookie or from another Host; a token link moves it after #; every answer has a strict CSP",
  async (context) => {
    await context.seed();
    const listener = context.start(["listen", "--http", "127.0.0.1:0"]);
    try {
      const { port, token, call } = await webApp(context, listener);
      const line = listener.output().stderr;
      assert.ok(!line.includes(token), "the token is not printed to a log");
      assert.equal((await raw(port, "GET", "/")).status, 200, "no data there");
      for (const path of ["/api/session", "/api/messages", "/metrics"]) {
        assert.equal((await raw(port, "GET", path)).status, 401, path);
      }
      assert.equal((await raw(port, "GET", "/?token=wrong")).status, 401);
      // A browser sends a cookie for 127.0.0.1 to every port there: the
      // token is never one, and one is not taken for it.
      const cookie = await raw(port, "GET", "/api/session", {
        cookie: `poc_token=${token}`,
      });
      assert.equal(cookie.status, 401);
      const rebound = await raw(port, "GET", `/?token=${token}`, {
        host: `attacker.example:${port}`,
      });
      assert.equal(rebound.status, 403, "DNS rebinding: another Host");
      const entry = await raw(port, "GET", `/?token=${token}`);
      assert.equal(entry.status, 303);
      assert.equal(entry.headers.location, `/#token=${token}`);
      assert.equal(entry.headers["set-cookie"], undefined);
      const bearerPage = await call("GET", "/api/session");
      assert.equal(bearerPage.status, 200, "the page's own calls: a bearer");
      const page = await call("GET", "/");
      assert.equal(page.status, 200);
      const csp = page.headers["content-security-policy"];
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(
        page.body,
        /<script>|<script [^>]*>[^<]/,
        "no inline script",
      );
      assert.match(
        page.body,
        /<script type="module" src="\/app\.js"><\/script>/,
      );
      const bearer = await raw(port, "GET", "/healthz", {
        authorization: `Bearer ${token}`,
      });
      assert.notEqual(bearer.status, 401, "a monitor may use the bearer form");
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "the web API's failed filter lists what a hook set aside, with search, app and priority applied too",
  async (context) => {
    await context.seed();
    const listener = context.start([
      "listen",
      "--http",
      "127.0.0.1:0",
      "--exec",
      "exit 1",
      "--max-attempts",
      "1", // set aside at its first failure
    ]);
    try {
      const { call } = await webApp(context, listener);
      await context.server.waitForLogin();
      context.server.send({ message: "disk full", app: "NAS" });
      context.server.send({ message: "disk fine", app: "Backup" });
      const seqs = async (query: string) =>
        JSON.parse((await call("GET", `/api/messages?${query}`)).body)
          .messages.map((m: { message: { message: string } }) =>
            m.message.message
          );
      let shown: string[] = [];
      await until(
        async () => (shown = await seqs("failed=1")).length === 2,
        () => `both set aside: ${shown} ${listener.output().stderr}`,
      );
      assert.deepEqual(await seqs("failed=1&q=full"), ["disk full"]);
      assert.deepEqual(await seqs("failed=1&app=Backup"), ["disk fine"]);
      assert.deepEqual(await seqs("failed=1&min_priority=1"), []);
      assert.deepEqual(await seqs("q=disk"), ["disk fine", "disk full"]);
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "the web API lists, searches and opens messages as plain text, marks them read, and takes a POST only from its page (Origin and CSRF token)",
  async (context) => {
    await context.seed();
    const listener = context.start(["listen", "--http", "127.0.0.1:0"]);
    try {
      const { port, token, call } = await webApp(context, listener);
      await context.server.waitForLogin();
      context.server.send({
        message: "the <b>disk</b> is full",
        html: true,
        title: "nas",
      });
      context.server.send({
        message: "<script>alert(1)</script>",
        title: "<img src=x onerror=alert(1)>",
        url: "javascript:alert(1)",
        url_title: "click",
      });
      const list = async () =>
        JSON.parse((await call("GET", "/api/messages")).body);
      await until(async () => (await list()).messages.length === 2, "two kept");
      const body = await list();
      assert.equal(body.unread, 2);
      const [hostile, html] = body.messages;
      assert.equal(
        html.text,
        "the disk is full",
        "the HTML subset as plain text",
      );
      assert.equal(
        hostile.message.title,
        "<img src=x onerror=alert(1)>",
        "data, not markup",
      );
      const found = JSON.parse(
        (await call("GET", "/api/messages?q=DISK")).body,
      );
      assert.deepEqual(found.messages.map((m: { seq: number }) => m.seq), [
        html.seq,
      ]);
      const one = JSON.parse(
        (await call("GET", `/api/messages/${html.seq}`)).body,
      );
      assert.equal(one.message.title, "nas");
      // A POST without the page's Origin or CSRF token is refused.
      const noOrigin = await raw(
        port,
        "POST",
        `/api/messages/${html.seq}/read`,
        { authorization: `Bearer ${token}` },
      );
      assert.equal(noOrigin.status, 403);
      const foreign = await call("POST", `/api/messages/${html.seq}/read`, {
        origin: "http://attacker.example",
      });
      assert.equal(foreign.status, 403);
      const noCsrf = await call("POST", `/api/messages/${html.seq}/read`, {
        "x-csrf-token": "guess",
      });
      assert.equal(noCsrf.status, 403);
      // "Mark all read" with a filter on: what it filters out stays unread.
      const shown = await call(
        "POST",
        `/api/read?through=${hostile.seq}&q=DISK`,
      );
      assert.equal(JSON.parse(shown.body).marked, 1, "the one shown");
      assert.equal((await list()).unread, 1, "the one filtered out");
      const read = await call("POST", `/api/messages/${html.seq}/read`);
      assert.equal(read.status, 200);
      assert.equal((await list()).unread, 1);
      const all = await call("POST", `/api/read?through=${hostile.seq}`);
      assert.equal(JSON.parse(all.body).marked, 1);
      assert.equal((await list()).unread, 0);
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "the event stream tells the page of each message as it is kept",
  async (context) => {
    await context.seed();
    const listener = context.start(["listen", "--http", "127.0.0.1:0"]);
    try {
      const { origin, token } = await webApp(context, listener);
      await context.server.waitForLogin();
      // As the page's EventSource asks: the token in the query.
      const events = await fetch(`${origin}/api/events?token=${token}`);
      assert.equal(
        events.headers.get("content-type"),
        "text/event-stream; charset=utf-8",
      );
      const reader = events.body!.pipeThrough(new TextDecoderStream())
        .getReader();
      let text = "";
      const sent = Date.now();
      context.server.send({ message: "live" });
      while (!/^data: \{"latest":\d+\}$/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += value;
      }
      console.log(`send → event: ${Date.now() - sent} ms`);
      await reader.cancel();
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "Acknowledge on the page acknowledges the emergency on Pushover and marks the inbox",
  async (context) => {
    await context.seed();
    const listener = context.start(["listen", "--http", "127.0.0.1:0"]);
    try {
      const { call } = await webApp(context, listener);
      await context.server.waitForLogin();
      context.server.send({
        message: "smoke",
        priority: 2,
      });
      const list = async () =>
        JSON.parse((await call("GET", "/api/messages")).body).messages;
      await until(async () => (await list()).length === 1, "kept");
      const [emergency] = await list();
      assert.equal(emergency.pending, true);
      const acked = await call("POST", `/api/messages/${emergency.seq}/ack`);
      assert.equal(acked.status, 200, acked.body);
      assert.equal(
        context.server.store.isPending(emergency.message.receipt),
        false,
      );
      assert.equal((await list())[0].pending, false);
      const again = await call("POST", `/api/messages/${emergency.seq}/ack`);
      assert.equal(again.status, 409);
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "/healthz is 200 while connected and 503 with the reason when the link is down; /metrics is Prometheus text with every figure",
  async (context) => {
    const device = await context.seed();
    const listener = context.start([
      "listen",
      "--http",
      "127.0.0.1:0",
      "--json",
    ]);
    try {
      const { call } = await webApp(context, listener);
      await context.server.waitForLogin();
      context.server.send({ message: "one" });
      await listener.waitFor("stdout", '"one"');
      const healthy = await call("GET", "/healthz");
      assert.equal(healthy.status, 200, healthy.body);
      assert.equal(JSON.parse(healthy.body).healthy, true);
      const metrics = parsePrometheus((await call("GET", "/metrics")).body);
      assert.equal(metrics.get("pushover_messages_received_total"), 1);
      assert.equal(
        metrics.get('pushover_sink_delivered_total{sink="stdout"}'),
        1,
      );
      assert.equal(metrics.get('pushover_stream_state{state="connected"}'), 1);
      assert.equal(metrics.get("pushover_inbox_messages"), 1);
      assert.equal(metrics.get("pushover_reconnects_total"), 0);
      assert.ok(metrics.has("pushover_last_message_age_seconds"));
      context.server.dropNextConnections(1_000);
      context.server.closeSockets(1001, device.deviceId);
      await until(
        async () => (await call("GET", "/healthz")).status === 503,
        "unhealthy",
      );
      const down = JSON.parse((await call("GET", "/healthz")).body);
      assert.equal(down.healthy, false);
      assert.match(down.reason, /^(reconnecting|connecting) since /);
      const after = parsePrometheus((await call("GET", "/metrics")).body);
      assert.ok(after.get("pushover_reconnects_total")! >= 1);
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

cliTest(
  "--on-offline runs once after the link was down that long, and once when it is back, without the login's answers in its environment",
  async (context) => {
    const device = await context.seed();
    const log = join(context.dir, "offline.log");
    // A process of its own: its timers run on its own event loop, not on
    // the test runner's (a busy one missed the second in a pair of runs).
    // The login's answers in the listener's environment (a container
    // that set them for `login`) never reach the command.
    const listener = context.startProcess([
      "listen",
      "--on-offline",
      `echo "$PUSHOVER_STATE$PUSHOVER_PASSWORD$PUSHOVER_TWOFA$PUSHOVER_EMAIL" >> '${log}'`,
      "--offline-after",
      "1s",
    ], {
      PUSHOVER_PASSWORD: "hunter2",
      PUSHOVER_TWOFA: "123456",
      PUSHOVER_EMAIL: "me@example.com",
    });
    const said = (what: string) => () =>
      `${what} (lines: ${
        readFileSync(log, { encoding: "utf8", flag: "a+" }).trim()
      }; stderr: ${listener.output().stderr.trim()})`;
    const lines = async () =>
      (await readFile(log, "utf8").catch(() => "")).trim().split("\n")
        .filter(Boolean);
    const count = (list: string[], state: string) =>
      list.filter((line) => line === state).length;
    try {
      await context.server.waitForLogin(device.deviceId);
      await listener.waitFor("stderr", /^online$/);
      // Slower than 1 s to connect (a loaded machine) is offline too: its
      // pair of lines comes, whole, before the drop.
      await until(async () => {
        const now = await lines();
        return count(now, "offline") === count(now, "online");
      }, "the start's lines, if any, paired");
      const before = (await lines()).length;
      // Closed by the server (a lost network is silent: only the watchdog,
      // a minute and more later, would notice it).
      context.server.closeSockets(1001, device.deviceId);
      await until(
        async () => (await lines()).length === before + 1,
        said("offline said"),
      );
      assert.deepEqual((await lines()).slice(before), ["offline"]);
      await context.server.waitForLogin(device.deviceId, 2);
      await until(
        async () => (await lines()).length === before + 2,
        said("online said"),
      );
      assert.deepEqual((await lines()).slice(before), ["offline", "online"]);
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
  { timeout: 180_000 },
);

for (
  const [args, expected] of [
    [["--http", "0.0.0.0:8642"], /not a loopback address; add --public/],
    [
      ["--http", "8642", "--no-inbox"],
      /--http shows the inbox: drop --no-inbox/,
    ],
    [["--public"], /--public goes with --http/],
    [
      ["--http", "localhost:99999"],
      /--http: 'localhost:99999' is not \[HOST:\]PORT/,
    ],
    [["--offline-after", "5s"], /--offline-after goes with --on-offline/],
  ] as const
) {
  cliTest(
    `listen ${args.join(" ")} is refused in one line, exit 2`,
    async (context) => {
      const result = await context.run(["listen", ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, expected);
    },
  );
}

cliTest(
  "listen --http 0.0.0.0:0 --public says what it exposes",
  async (context) => {
    await context.seed();
    const listener = context.start([
      "listen",
      "--http",
      "0.0.0.0:0",
      "--public",
    ]);
    try {
      await listener.waitFor(
        "stderr",
        /^--public: anyone who can reach 0\.0\.0\.0:\d+ and has the token can read every message/,
      );
      assert.equal(await interrupt(listener), 0);
    } finally {
      await listener.kill();
    }
  },
);

/**
 * Parses the Prometheus text exposition format (0.0.4): `# HELP` and
 * `# TYPE` lines, then `name{labels} value` samples. Throws on a line that
 * is neither, a sample without a TYPE before it, or a bad value.
 */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  assert.ok(text.endsWith("\n"), "ends with a line feed");
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(
      line,
    );
    if (comment) {
      if (comment[1] === "TYPE") {
        assert.match(comment[3], /^(counter|gauge|histogram|summary|untyped)$/);
        typed.add(comment[2]);
      }
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/
        .exec(line);
    assert.ok(sample, `not a sample: ${line}`);
    assert.ok(typed.has(sample[1]), `no TYPE before ${sample[1]}`);
    samples.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3]));
  }
  return samples;
}

test(
  "a client gone before the answer is ready has its response's body cancelled (an event stream's subscription ends)",
  {
    timeout: 30_000, // a safety net: it waits for events only
  },
  async () => {
    let entered!: () => void;
    const handling = new Promise<void>((resolve) => entered = resolve);
    let cancelled!: () => void;
    const ended = new Promise<void>((resolve) => cancelled = resolve);
    const server = await serveWeb(
      parseAddress("127.0.0.1:0"),
      async (request) => {
        entered();
        // Answers only once the client left, as a slow guard would.
        await new Promise((resolve) =>
          request.signal.addEventListener("abort", resolve, { once: true })
        );
        return new Response(new ReadableStream({ cancel: () => cancelled() }));
      },
    );
    try {
      const socket = connect(server.port, "127.0.0.1");
      socket.on("error", () => {});
      socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await handling;
      socket.destroy();
      await ended;
    } finally {
      await server.close();
    }
  },
);
