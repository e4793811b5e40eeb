/**
 * The Cloudflare deployment in Miniflare (workerd): cloudflare/worker.ts and
 * its Durable Object class, bundled by esbuild, against the fake Pushover
 * server running here on 127.0.0.1. A second Worker consumes the Queue and
 * keeps every delivery in a KV namespace the tests read. And the inbox's
 * contract suite, each case in a Durable Object of its own.
 *
 * Run by `deno task test durable-objects` (tests/run_all.ts), with Node 24:
 *
 *   node --test-reporter=spec tests/cloudflare/run.ts \
 *     --esbuild .runtimes/esbuild/node_modules/.bin/esbuild \
 *     --miniflare .runtimes/miniflare/node_modules/miniflare/dist/src/index.js
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import { type FakeServer, startFakeServer } from "../../testing/mod.ts";
import { bundle } from "../_bundle.ts";
import {
  COMPATIBILITY_DATE,
  esbuild,
  Miniflare,
  type MiniflareLike,
} from "../_miniflare.ts";
import { within } from "../_setup.ts";
import type { Device } from "../../mod.ts";
import type { InboxStats } from "../../inbox/mod.ts";

const EMAIL = "objects@example.com";
const PASSWORD = "pa55-in-an-object";
const TOKEN = "admin-token-for-the-tests-0123456789";
const TWOFA_EMAIL = "twofa@example.com";
const TWOFA = "424242";

const DAY = 86_400_000;

/** Resolves once `check` holds, looking every 20 ms (a net of 60 s). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const started = Date.now();
  while (!await check()) {
    if (Date.now() - started > 60_000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A call to the admin API of `miniflare`'s Worker, with the token unless `token` says otherwise. */
async function call(
  miniflare: MiniflareLike,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const response = await miniflare.dispatchFetch(
    `http://relay.example${path}`,
    {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
  );
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) };
}

/** A device made on the fake directly (the API takes id and secret). */
function deviceOn(server: FakeServer, name: string): Device {
  const account = server.store.accounts[0];
  const secret = server.store.issueSecret(account);
  const record = server.store.addDevice(account, name);
  record.queue.length = 0;
  return { deviceId: record.id, secret };
}

/** A webhook of one test (see hookAt). */
interface Hook {
  /** Its URL. */
  url: string;
  /** The status for its nth request (from 1); undefined: no answer. */
  answer: (nth: number) => number | undefined;
  /** Each request's body, in the order they came. */
  bodies: string[];
}

/** A stored message as the history route answers it. */
interface Kept {
  seq: number;
  message: { message: string };
}

describe("the inbox contract in a Durable Object's SQL", () => {
  let miniflare: MiniflareLike;
  const names: string[] = [];
  before(async () => {
    miniflare = new Miniflare({
      modules: true,
      script: bundle(
        esbuild,
        new URL("./contract_worker.ts", import.meta.url),
        "neutral",
        ["node:*"],
      ),
      compatibilityDate: COMPATIBILITY_DATE,
      // node:assert for the suite's assertions; the inbox itself needs none.
      compatibilityFlags: ["nodejs_compat"],
      durableObjects: { CASES: { className: "ContractCase", useSQLite: true } },
    });
    const response = await miniflare.dispatchFetch("http://contract/");
    names.push(...await response.json() as string[]);
  });
  after(() => miniflare?.dispose());

  test("every case of the suite runs here (16 or more)", () => {
    assert.ok(names.length >= 16, `${names.length} cases`);
  });
  // The cases are known only once the bundle runs: one test per case,
  // declared from the list the Worker gives.
  test("each case passes, each in an object of its own", async (t) => {
    for (const name of names) {
      await t.test(name, async () => {
        const response = await miniflare.dispatchFetch(
          `http://contract/?case=${encodeURIComponent(name)}`,
        );
        const result = await response.json() as { ok: boolean; error?: string };
        if (!result.ok) assert.fail(result.error);
      });
    }
  });
});

describe("a Durable Object per device, behind the admin API", () => {
  let server: FakeServer;
  let miniflare: MiniflareLike;
  /** Every body the admin API answered: none may hold a secret. */
  const answers: string[] = [];
  const webhook = { up: true, bodies: [] as string[], refused: 0 };
  let webhookUrl = "";
  let closeWebhook: () => Promise<void>;
  /** Webhooks of one test each, by path: see hookAt. */
  const hooks = new Map<string, Hook>();
  /** Requests a hook never answers, ended when the tests are over. */
  const hung: ServerResponse[] = [];

  /** The admin API, with the token unless `token` says otherwise. */
  async function admin(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const { status, text, json } = await call(
      miniflare,
      method,
      path,
      body,
      token,
    );
    answers.push(text);
    return { status, json };
  }

  /**
   * A webhook at a path of its own that answers its nth request (from 1)
   * with `answer(n)`, or never when that is undefined; it keeps each body.
   */
  function hookAt(path: string, answer: Hook["answer"]): Hook {
    const hook = {
      url: webhookUrl.replace(/\/hook$/, path),
      answer,
      bodies: [],
    };
    hooks.set(path, hook);
    return hook;
  }

  /** The messages of a hook's bodies, in the order they came. */
  function delivered(hook: Hook): string[] {
    return hook.bodies.map((b) => JSON.parse(b).message.message);
  }

  /** The device's stored messages' bodies, oldest first. */
  async function stored(deviceId: string): Promise<string[]> {
    const { json } = await admin(
      "GET",
      `/devices/${deviceId}/messages?limit=500`,
    );
    return (json.messages as { message: { message: string } }[])
      .map((m) => m.message.message).reverse();
  }

  /** Every Queue delivery the consumer kept: dedupe key → times seen. */
  async function queued(): Promise<Map<string, number>> {
    const kv = await miniflare.getKVNamespace("SEEN", "consumer");
    const seen = new Map<string, number>();
    let cursor: string | undefined;
    do {
      const page = await kv.list(cursor ? { cursor } : {});
      for (const { name } of page.keys) {
        const key = name.slice(0, name.lastIndexOf("#"));
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return seen;
  }

  const fakeDevice = (name: string) => deviceOn(server, name);

  before(async () => {
    server = await startFakeServer({
      accounts: [
        { email: EMAIL, password: PASSWORD },
        { email: TWOFA_EMAIL, password: PASSWORD, twofa: TWOFA },
      ],
    });
    const hook = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => body += chunk);
      request.on("end", () => {
        const own = hooks.get(request.url ?? "");
        if (own) {
          own.bodies.push(body);
          const status = own.answer(own.bodies.length);
          if (status !== undefined) response.writeHead(status).end();
          else hung.push(response);
          return;
        }
        if (webhook.up) webhook.bodies.push(body);
        else webhook.refused++;
        response.writeHead(webhook.up ? 204 : 503).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    webhookUrl = `http://127.0.0.1:${
      (hook.address() as { port: number }).port
    }/hook`;
    closeWebhook = () =>
      new Promise((resolve) => {
        for (const response of hung) response.destroy();
        hook.close(() => resolve());
      });
    miniflare = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      compatibilityDate: COMPATIBILITY_DATE,
      workers: [
        {
          name: "admin",
          modules: true,
          script: bundle(
            esbuild,
            new URL("../../cloudflare/worker.ts", import.meta.url),
            "neutral",
          ),
          compatibilityDate: COMPATIBILITY_DATE,
          durableObjects: {
            DEVICE: { className: "PushoverDevice", useSQLite: true },
          },
          queueProducers: { QUEUE: "alerts" },
          bindings: {
            ADMIN_TOKEN: TOKEN,
            PUSHOVER_API_URL: server.apiUrl,
            PUSHOVER_WEBSOCKET_URL: server.websocketUrl,
            WATCHDOG_SECONDS: "1",
            WEBHOOK_TIMEOUT_SECONDS: "1",
          },
        },
        {
          name: "consumer",
          modules: true,
          script: `export default {
            async queue(batch, env) {
              for (const m of batch.messages) {
                await env.SEEN.put(m.body.dedupeKey + "#" + crypto.randomUUID(), JSON.stringify(m.body));
                m.ack();
              }
            },
          };`,
          compatibilityDate: COMPATIBILITY_DATE,
          kvNamespaces: ["SEEN"],
          queueConsumers: {
            alerts: { maxBatchSize: 100, maxBatchTimeout: 0.1 },
          },
        },
      ],
    });
    await miniflare.ready;
  });
  after(async () => {
    await miniflare?.dispose();
    await closeWebhook?.();
    await server?.close();
  });

  test("the admin API refuses a missing or wrong token, in constant time, and says how", async () => {
    for (const token of [null, "", "wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const { status, json } = await admin(
        "GET",
        "/devices/abc",
        undefined,
        token,
      );
      assert.equal(status, 401, String(token));
      assert.match(String(json.error), /bearer token is required/);
    }
    const { status } = await admin("GET", "/devices/abc");
    assert.equal(status, 404, "with the token: no such device");
  });

  test("the whole flow: added by e-mail and password, it streams, keeps, and hands each message to the webhook and the Queue", async () => {
    const { status, json } = await admin("POST", "/devices", {
      email: EMAIL,
      password: PASSWORD,
      deviceName: "objects",
      webhook: webhookUrl,
      queue: true,
    });
    assert.equal(status, 201, JSON.stringify(json));
    const deviceId = String(json.deviceId);
    assert.deepEqual(json.sinks, ["webhook", "queue"]);
    await server.waitForLogin(deviceId);
    const device = server.store.devices.get(deviceId)!;
    for (const body of ["first", "second", "third"]) {
      server.send({ message: body, device: "objects" });
    }
    await until(
      async () => (await stored(deviceId)).length === 4,
      "the welcome and three kept",
    );
    assert.deepEqual((await stored(deviceId)).slice(1), [
      "first",
      "second",
      "third",
    ]);
    await until(() => device.queue.length === 0, "deleted on the server");
    await until(() => webhook.bodies.length === 4, "the webhook took four");
    const delivered = webhook.bodies.map((b) => JSON.parse(b));
    assert.deepEqual(
      delivered.map((d) => d.dedupeKey),
      delivered.map((d) => `${deviceId}:${d.message.id_str}`),
    );
    await until(async () => (await queued()).size === 4, "four in the Queue");
    const search = await admin("GET", `/devices/${deviceId}/search?q=SECOND`);
    assert.deepEqual(
      (search.json.messages as { message: { message: string } }[]).map((m) =>
        m.message.message
      ),
      ["second"],
    );
    const report = await admin("GET", `/devices/${deviceId}`);
    assert.equal(report.json.state, "synced");
    assert.equal((report.json.inbox as { messages: number }).messages, 4);
  });

  test("an account with 2FA: refused in one line without the code, added with it", async () => {
    const body = {
      email: TWOFA_EMAIL,
      password: PASSWORD,
      deviceName: "twofa",
    };
    const refused = await admin("POST", "/devices", body);
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.error), /two-factor|2FA/i);
    const added = await admin("POST", "/devices", { ...body, twofa: TWOFA });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    await server.waitForLogin(String(added.json.deviceId));
  });

  test("poll mode keeps no socket: the setup downloads, keeps and deletes what waits", async () => {
    const device = fakeDevice("polled");
    server.send({ message: "waiting", device: "polled" });
    const { status, json } = await admin("POST", "/devices", {
      ...device,
      mode: "poll",
      pollSeconds: 60,
    });
    assert.equal(status, 201, JSON.stringify(json));
    assert.equal(json.mode, "poll");
    assert.deepEqual(await stored(device.deviceId), ["waiting"]);
    assert.equal(server.store.devices.get(device.deviceId)!.queue.length, 0);
    assert.equal(server.connections(device.deviceId), 0, "no socket");
    const bad = await admin("POST", "/devices", {
      ...device,
      mode: "poll",
      pollSeconds: 5,
    });
    assert.equal(bad.status, 400);
    assert.match(
      String(bad.json.error),
      /pollSeconds: a whole number, 60 or more/,
    );
  });

  test("with an end-to-end key, a message is kept decrypted; the key is never answered back", async () => {
    const key = "0f".repeat(32);
    const device = fakeDevice("sealed");
    const bad = await admin("POST", "/devices", {
      ...device,
      encryptionKey: "not-a-key",
    });
    assert.equal(bad.status, 400);
    assert.doesNotMatch(JSON.stringify(bad.json), /not-a-key/);
    const { status, json } = await admin("POST", "/devices", {
      ...device,
      encryptionKey: key,
    });
    assert.equal(status, 201);
    assert.equal(json.encrypted, true);
    await server.waitForLogin(device.deviceId);
    server.send({
      message: "for your eyes",
      device: "sealed",
      encryptWith: key,
    });
    await until(
      async () => (await stored(device.deviceId)).join() === "for your eyes",
      "kept decrypted",
    );
    for (const answer of answers) assert.ok(!answer.includes(key));
  });

  test("a webhook down, then up: nothing lost, in order, the Queue not held back", async () => {
    const device = fakeDevice("hooked");
    webhook.up = false;
    const { status } = await admin("POST", "/devices", {
      ...device,
      webhook: webhookUrl,
      queue: true,
    });
    assert.equal(status, 201);
    await server.waitForLogin(device.deviceId);
    const before = webhook.bodies.length;
    for (const body of ["down 1", "down 2"]) {
      server.send({ message: body, device: "hooked" });
    }
    const keys = async () =>
      [...(await queued()).keys()].filter((k) => k.startsWith(device.deviceId));
    await until(async () => (await keys()).length === 2, "the Queue took both");
    await until(() => webhook.refused >= 2, "the webhook refused, twice");
    const report = await admin("GET", `/devices/${device.deviceId}`);
    assert.match(String(report.json.lastError), /webhook .* answered 503/);
    webhook.up = true;
    await until(
      () => webhook.bodies.length === before + 2,
      "the alarm retried the webhook",
    );
    assert.deepEqual(
      webhook.bodies.slice(before).map((b) => JSON.parse(b).message.message),
      ["down 1", "down 2"],
    );
  });

  test("50 devices in 50 objects: each keeps its own message", async () => {
    const devices = Array.from(
      { length: 50 },
      (_, i) => fakeDevice(`many-${i}`),
    );
    await Promise.all(
      devices.map(async (device) => {
        const { status } = await admin("POST", "/devices", device);
        assert.equal(status, 201);
      }),
    );
    for (const device of devices) await server.waitForLogin(device.deviceId);
    devices.forEach((_, i) =>
      server.send({ message: `to ${i}`, device: `many-${i}` })
    );
    for (const [i, device] of devices.entries()) {
      await until(
        async () => (await stored(device.deviceId)).join() === `to ${i}`,
        `device ${i} kept its message`,
      );
    }
  });

  test("an object restarted mid-burst is brought back by its alarm and resumes from its storage: nothing lost or doubled in its inbox, each Queue key there", async () => {
    const device = fakeDevice("burst");
    await admin("POST", "/devices", { ...device, queue: true });
    await server.waitForLogin(device.deviceId);
    const BURST = 200;
    for (let i = 0; i < BURST / 2; i++) {
      server.send({ message: `burst ${i}`, device: "burst" });
    }
    await until(
      async () => (await stored(device.deviceId)).length > 0,
      "the first of the burst kept",
    );
    const restarted = await admin(
      "POST",
      `/devices/${device.deviceId}/restart`,
    );
    assert.equal(restarted.json.restarting, true, JSON.stringify(restarted));
    for (let i = BURST / 2; i < BURST; i++) {
      server.send({ message: `burst ${i}`, device: "burst" });
    }
    // No request reaches the object now: its alarm (the watchdog) makes
    // it again and it logs in anew.
    await within(
      server.waitForLogin(device.deviceId, 2),
      "a second login",
      20_000,
    );
    await until(
      async () => (await stored(device.deviceId)).length === BURST,
      "all of the burst kept, after the restart",
    );
    const kept = await stored(device.deviceId);
    assert.deepEqual(
      kept,
      Array.from({ length: BURST }, (_, i) => `burst ${i}`),
      "each once, in order",
    );
    assert.equal(server.store.devices.get(device.deviceId)!.queue.length, 0);
    let seen = new Map<string, number>();
    await until(async () => {
      seen = new Map(
        [...await queued()].filter(([k]) => k.startsWith(device.deviceId)),
      );
      return seen.size === BURST;
    }, "every key in the Queue").catch((error) => {
      // Seen once (2026-12-06, two suites side by side): say which keys
      // were missing, to tell a lost message from a slow Queue next time.
      const ids = [...seen.keys()]
        .map((key) => Number(key.slice(key.lastIndexOf(":") + 1)))
        .sort((a, b) => a - b);
      const gaps = ids.filter((id, i) => i > 0 && id !== ids[i - 1] + 1);
      throw new Error(
        `${(error as Error).message}: ${seen.size} of ${BURST} keys, ids ${
          ids[0]
        }–${ids.at(-1)}, a gap before ${gaps.join(", ") || "none"}`,
      );
    });
    const doubled = [...seen.values()].filter((n) => n > 1).length;
    // At least once: a send whose cursor commit the restart cut off is
    // sent again; at most the one message in flight.
    assert.ok(doubled <= 1, `${doubled} keys sent twice`);
    console.log(
      `burst of ${BURST} across a restart: ${doubled} Queue key(s) sent twice`,
    );
  });

  test("a webhook that never answers is given up on after WEBHOOK_TIMEOUT_SECONDS and tried again: the sink goes on", async () => {
    const hook = hookAt("/hangs-once", (nth) => nth === 1 ? undefined : 204);
    const device = fakeDevice("hanging");
    await admin("POST", "/devices", { ...device, webhook: hook.url });
    await server.waitForLogin(device.deviceId);
    server.send({ message: "hung", device: "hanging" });
    await until(() => hook.bodies.length === 1, "the webhook's first request");
    server.send({ message: "next", device: "hanging" });
    await until(() => hook.bodies.length === 3, "tried again, then the next");
    assert.deepEqual(delivered(hook), ["hung", "hung", "next"]);
    const report = await admin("GET", `/devices/${device.deviceId}`);
    assert.match(String(report.json.lastError), /no answer within 1 s/);
  });

  test("a sink failing through a burst of arrivals is tried once an alarm, not once an arrival: nothing set aside, no one overtakes", async () => {
    const hook = hookAt("/down", () => 503);
    const device = fakeDevice("down-burst");
    const started = Date.now();
    await admin("POST", "/devices", { ...device, webhook: hook.url });
    await server.waitForLogin(device.deviceId);
    for (let i = 0; i < 25; i++) {
      server.send({ message: `arrival ${i}`, device: "down-burst" });
      await until(
        async () => (await stored(device.deviceId)).length === i + 1,
        `arrival ${i} kept`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    const { json } = await admin("GET", `/devices/${device.deviceId}/messages`);
    assert.deepEqual(json.deadLetters, []);
    assert.ok(delivered(hook).every((m) => m === "arrival 0"), "in order");
    // One try on the first arrival, then one an alarm (every second here).
    assert.ok(
      hook.bodies.length <= 2 + Math.ceil(seconds),
      `${hook.bodies.length} tries in ${seconds} s`,
    );
  });

  test("a device removed, then added again while its object lives: its inbox works", async () => {
    const device = fakeDevice("again");
    await admin("POST", "/devices", device);
    await server.waitForLogin(device.deviceId);
    server.send({ message: "before", device: "again" });
    await until(
      async () => (await stored(device.deviceId)).join() === "before",
      "kept before",
    );
    await admin("DELETE", `/devices/${device.deviceId}`);
    const added = await admin("POST", "/devices", device);
    assert.equal(added.status, 201, JSON.stringify(added.json));
    await server.waitForLogin(device.deviceId, 2);
    server.send({ message: "after", device: "again" });
    await until(
      async () => (await stored(device.deviceId)).join() === "after",
      "kept after, the old one forgotten",
    );
  });

  test("?after=N pages on from N, oldest first; ?limit is 1 to 500", async () => {
    const device = fakeDevice("paged");
    await admin("POST", "/devices", device);
    await server.waitForLogin(device.deviceId);
    for (let i = 0; i < 30; i++) {
      server.send({ message: `page ${i}`, device: "paged" });
    }
    await until(
      async () => (await stored(device.deviceId)).length === 30,
      "all kept",
    );
    const page = async (
      query: string,
    ) => ((await admin("GET", `/devices/${device.deviceId}/messages?${query}`))
      .json.messages as Kept[]);
    const first = (await page("limit=500")).at(-1)!.seq;
    assert.deepEqual(
      (await page(`after=${first}&limit=10`)).map((m) => m.message.message),
      Array.from({ length: 10 }, (_, i) => `page ${i + 1}`),
    );
    for (const limit of ["-1", "0"]) {
      assert.equal((await page(`limit=${limit}`)).length, 1, limit);
    }
  });

  test("a sink dropped by a later setup is forgotten: it holds nothing back", async () => {
    const hook = hookAt("/dropped", () => 503);
    const device = fakeDevice("dropped");
    await admin("POST", "/devices", { ...device, webhook: hook.url });
    await server.waitForLogin(device.deviceId);
    server.send({ message: "held", device: "dropped" });
    const sinks = async () =>
      ((await admin("GET", `/devices/${device.deviceId}`)).json
        .inbox as InboxStats).sinks;
    await until(
      async () => (await sinks()).some((s) => s.behind === 1),
      "held for the webhook",
    );
    const again = await admin("POST", "/devices", device);
    assert.equal(again.status, 201);
    assert.deepEqual((again.json.inbox as InboxStats).sinks, []);
  });

  test("a device removed stops and forgets; no answer ever held a secret", async () => {
    const device = fakeDevice("removed");
    await admin("POST", "/devices", device);
    await server.waitForLogin(device.deviceId);
    const removed = await admin("DELETE", `/devices/${device.deviceId}`);
    assert.equal(removed.json.removed, true);
    await until(
      () => server.connections(device.deviceId) === 0,
      "its socket closed",
    );
    const after = await admin("GET", `/devices/${device.deviceId}`);
    assert.equal(after.status, 404);
    // Every device secret the objects logged in with, from their frames.
    const secrets = new Set([PASSWORD, TOKEN]);
    for (const { data } of server.log.sockets("received")) {
      const secret = /^login:[^:]+:(.+)\n$/.exec(String(data))?.[1];
      if (secret) secrets.add(secret);
    }
    assert.ok(secrets.size > 3, "the secrets were found");
    for (const answer of answers) {
      for (const secret of secrets) {
        assert.ok(!answer.includes(secret), "an answer held a secret");
      }
    }
  });
});

describe("time in a device object: a clock the tests move", () => {
  let server: FakeServer;
  let miniflare: MiniflareLike;
  const admin = (method: string, path: string, body?: unknown) =>
    call(miniflare, method, path, body);
  const stored = async (deviceId: string) =>
    ((await admin("GET", `/devices/${deviceId}/messages?limit=500`)).json
      .messages as Kept[]).map((m) => m.message.message).reverse();
  const later = (deviceId: string, ms: number) =>
    admin("POST", `/clock/${deviceId}?ms=${ms}`);

  before(async () => {
    server = await startFakeServer({
      accounts: [{ email: EMAIL, password: PASSWORD }],
    });
    miniflare = new Miniflare({
      modules: true,
      script: bundle(
        esbuild,
        new URL("./clock_worker.ts", import.meta.url),
        "neutral",
      ),
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: {
        DEVICE: { className: "ClockedDevice", useSQLite: true },
      },
      bindings: {
        ADMIN_TOKEN: TOKEN,
        PUSHOVER_API_URL: server.apiUrl,
        PUSHOVER_WEBSOCKET_URL: server.websocketUrl,
        WATCHDOG_SECONDS: "1",
      },
    });
    await miniflare.ready;
  });
  after(async () => {
    await miniflare?.dispose();
    await server?.close();
  });

  test("socket mode prunes by time, not by batches counted: a month on, what is past retention goes", async () => {
    const device = deviceOn(server, "aging");
    await admin("POST", "/devices", device);
    await server.waitForLogin(device.deviceId);
    server.send({ message: "old 1", device: "aging" });
    server.send({ message: "old 2", device: "aging" });
    await until(
      async () => (await stored(device.deviceId)).length === 2,
      "both kept",
    );
    await later(device.deviceId, 31 * DAY);
    server.send({ message: "new", device: "aging" });
    await until(
      async () => (await stored(device.deviceId)).join() === "new",
      "the old ones pruned",
    );
  });

  test("poll mode prunes too: a month on, the next poll drops what is past retention", async () => {
    const device = deviceOn(server, "polled-aging");
    server.send({ message: "old", device: "polled-aging" });
    const settings = { ...device, mode: "poll" };
    assert.equal((await admin("POST", "/devices", settings)).status, 201);
    assert.deepEqual(await stored(device.deviceId), ["old"]);
    await later(device.deviceId, 31 * DAY);
    server.send({ message: "new", device: "polled-aging" });
    assert.equal((await admin("POST", "/devices", settings)).status, 201);
    assert.deepEqual(await stored(device.deviceId), ["new"]);
  });
});
