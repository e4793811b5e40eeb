// streamMessages(): reconnects, fatal frames and REST failures, end to end.

import assert from "node:assert/strict";
import { LoginRequiredError, SessionReplacedError } from "../mod.ts";
import type { StreamOptions, StreamStatus } from "../mod.ts";
import {
  newDevice,
  nextTurn,
  queued,
  recordingFetch,
  rejection,
  serverTest,
  spySockets,
  take,
  within,
} from "./_setup.ts";

serverTest(
  "streamMessages() reconnects after a dropped socket and syncs what came meanwhile",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const got = await take(
      context.stream(device, { onStatus: (s) => statuses.push(s) }),
      2,
      async (_, index) => {
        if (index !== 0) return;
        server.dropSockets(device.deviceId);
        server.send({ message: "while away" }); // its '!' reaches no socket
        await server.waitForLogin(device.deviceId, 2);
      },
    );
    assert.equal(got[1].message, "while away");
    const reconnecting = statuses.find((s) => s.state === "reconnecting");
    assert.ok(reconnecting && reconnecting.state === "reconnecting");
    assert.ok(
      reconnecting.delay >= 1 && reconnecting.delay <= 10,
      String(reconnecting.delay),
    );
  },
);

serverTest(
  "streamMessages() replaces a link that went silent for keepAliveTimeout",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const options: StreamOptions = {
      keepAliveTimeout: 40,
      onStatus: (s) => statuses.push(s),
    };
    await take(context.stream(device, options), 2, async (_, index) => {
      if (index !== 0) return;
      server.pauseKeepAlive(true);
      await server.waitForLogin(device.deviceId, 2);
      server.pauseKeepAlive(false);
      server.send({ message: "after silence" });
    });
    const silence = statuses.find((s) => s.state === "reconnecting");
    assert.equal(
      silence?.state === "reconnecting" && silence.reason,
      "no frame for 40 ms",
    );
  },
  { keepAliveInterval: 10 },
);

serverTest(
  "streamMessages() keeps a link alive while '#' frames arrive",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    await take(
      // 100 keep-alive intervals of slack: a loaded machine (the test command
      // runs runtimes side by side) held a timer back for 300 ms once.
      context.stream(device, { keepAliveTimeout: 1_000 }),
      1,
      async () => {
        // 150 keep-alives span more than one keepAliveTimeout: the link must stay.
        let seen = 0;
        await server.log.waitFor((e) =>
          e.kind === "socket" && e.event === "sent" && e.data === "#" &&
          ++seen === 150
        );
      },
    );
    assert.equal(
      server.log.sockets("login").length,
      1,
    );
  },
  { keepAliveInterval: 10 },
);

for (
  const [name, retryDelay, expected] of [
    [
      "reconnects at once after 'R' on a link healthy for resetAfter, without counting a failure",
      { min: 5_000, max: 5_000, resetAfter: 1 },
      { attempt: 1, delay: 0 },
    ],
    [
      "counts 'R' on a young link as a failed attempt and backs off",
      { min: 20, max: 20, resetAfter: 60_000 },
      { attempt: 2, delay: 20 },
    ],
  ] as const
) {
  serverTest(`streamMessages() ${name}`, async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    await take(
      context.stream(device, { retryDelay, onStatus: (s) => statuses.push(s) }),
      2,
      async (_, index) => {
        if (index !== 0) return;
        // Let the clock move past a resetAfter of 1 ms.
        const since = Date.now();
        while (Date.now() - since < 2) await nextTurn();
        server.sendFrame("R", device.deviceId);
        await server.waitForLogin(device.deviceId, 2);
        server.send({ message: "after R" });
      },
    );
    assert.deepEqual(statuses.find((s) => s.state === "reconnecting"), {
      state: "reconnecting",
      ...expected,
      reason: "the server asked to reconnect (R)",
    });
  });
}

serverTest(
  "streamMessages() under an 'R' storm backs off like any failure: no login loop",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.replyToLogins("R");
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      retryDelay: { min: 4, max: 64, resetAfter: 60_000 },
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    void iterator.next().catch(() => {});
    await within(server.waitForLogin(device.deviceId, 6), "six logins");
    await stream.close();
    const delays = statuses.flatMap((s) =>
      s.state === "reconnecting" ? [[s.attempt, s.delay]] : []
    );
    assert.ok(delays.length >= 5, JSON.stringify(delays));
    for (const [i, [attempt, delay]] of delays.entries()) {
      assert.equal(attempt, i + 2, "every R counts as one more failure");
      assert.ok(
        delay >= 4 && delay <= Math.min(64, 4 * 2 ** (i + 1)),
        `attempt ${attempt} waited ${delay} ms`,
      );
    }
  },
);

serverTest(
  "streamMessages() keeps growing the delay when each new link fails soon after opening",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      retryDelay: { min: 2, max: 1_000, resetAfter: 60_000 },
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome
    for (let n = 1; n <= 4; n++) {
      server.dropSockets(device.deviceId);
      await within(
        server.waitForLogin(device.deviceId, n + 1),
        `login ${n + 1}`,
      );
    }
    await stream.close();
    assert.deepEqual(
      statuses.flatMap((s) => s.state === "reconnecting" ? [s.attempt] : []),
      [2, 3, 4, 5],
    );
  },
);

serverTest(
  "streamMessages() ends with LoginRequiredError on 'E' and does not reconnect",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const spy = spySockets(context.server.WebSocket);
    const stream = context.stream(device, {
      WebSocket: spy.WebSocket,
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome, held while 'E' comes
    await server.waitForLogin(device.deviceId);
    server.sendFrame("E", device.deviceId);
    // The server closes the socket after 'E'. A stream that took that close
    // for a lost link would report "reconnecting" in the same dispatch.
    await spy.until(() => spy.sockets[0].closed);
    await nextTurn();
    // The stream stopped at 'E', before the loop asked for more.
    assert.deepEqual(statuses.slice(0, 3).map((s) => s.state), [
      "connecting",
      "connected",
      "synced",
    ]);
    assert.equal(statuses.length, 4);
    const error = await rejection(iterator.next());
    assert.ok(error instanceof LoginRequiredError);
    assert.match(error.message, /refused the device's login \(E\)/);
    assert.deepEqual(statuses.at(-1), {
      state: "stopped",
      reason: "failed",
      error,
    });
    assert.equal(statuses.length, 4);
    assert.equal(spy.sockets.length, 1);
    assert.equal(
      server.log.sockets("open").length,
      1,
    );
    // Stopping began with 'E': the welcome, held then, was not deleted.
    assert.equal(queued(server, device).length, 1);
    assert.equal(server.log.requests("delete").length, 0);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  },
);

serverTest(
  "streamMessages() ends with LoginRequiredError when the device is disabled",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const error = await rejection(
      take(context.stream(device), 2, () => {
        server.disableDevice(device.deviceId);
      }),
    );
    assert.ok(error instanceof LoginRequiredError);
  },
);

serverTest(
  "streamMessages() ends with SessionReplacedError when another client logs in as the device",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const second = context.stream(device);
    const error = await rejection(
      take(context.stream(device), 2, async () => {
        const iterator = second[Symbol.asyncIterator]();
        void iterator.next();
        await server.waitForLogin(device.deviceId, 2);
      }),
    );
    assert.ok(error instanceof SessionReplacedError);
    // The fake may see the first socket's close after the client does.
    await server.log.waitFor((e) =>
      e.kind === "socket" && e.event === "close" && e.socket === 1
    );
    assert.equal(server.connections(device.deviceId), 1); // the newer one stays
    await second.close();
    assert.equal(
      server.log.sockets("open").length,
      2,
    );
  },
);

serverTest(
  "streamMessages() ends with LoginRequiredError when REST rejects the secret",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const error = await rejection(
      take(context.stream(device), 2, () => {
        server.store.revokeSecret(device.secret);
        server.send({ message: "cannot be fetched" });
      }),
    );
    assert.ok(error instanceof LoginRequiredError);
    assert.equal(error.status, 400);
  },
);

for (
  const [name, fault] of [
    ["a 503 HTML page", { type: "status", status: 503 }],
    ["a hang past the timeout", { type: "hang" }],
    ["a 200 that is not JSON", { type: "json", body: "<html>oops</html>" }],
    ["a JSON answer of the wrong shape", {
      type: "json",
      body: '{"status":1,"messages":"nope"}',
    }],
  ] as const
) {
  serverTest(
    `streamMessages() retries a sync after ${name} and delivers`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      const statuses: StreamStatus[] = [];
      const options: StreamOptions = {
        // Long enough that only the hang fault times out, even on a busy
        // machine; a slow answer counted as a failure would add an attempt.
        timeout: 400,
        onStatus: (s) => statuses.push(s),
      };
      const got = await take(context.stream(device, options), 2, (_, index) => {
        if (index !== 0) return;
        server.failNext(fault, { endpoint: "download", count: 2 });
        server.send({ message: "eventually" });
      });
      assert.equal(got[1].message, "eventually");
      assert.deepEqual(
        statuses.filter((s) => s.state === "retrying").map((s) =>
          s.state === "retrying" && s.attempt
        ),
        [1, 2],
      );
      assert.equal(server.log.requests("download").length, 4);
    },
  );
}

serverTest(
  "streamMessages() waits as long as a 429's Retry-After asks",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    await take(
      context.stream(device, { onStatus: (s) => statuses.push(s) }),
      2,
      (_, index) => {
        if (index !== 0) return;
        server.failNext({ type: "status", status: 429, retryAfter: "0.05" }, {
          endpoint: "download",
        });
        server.send({ message: "later" });
      },
    );
    const retrying = statuses.find((s) => s.state === "retrying");
    assert.equal(retrying?.state === "retrying" && retrying.delay, 50);
  },
);

serverTest(
  "streamMessages() retries a failed delete with backoff while it runs, reporting it, never losing it",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    server.failNext({ type: "status", status: 502 }, { endpoint: "delete" });
    const stream = context.stream(device, {
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // welcome
    const waiting = iterator.next(); // moves past it: its delete fails
    // No other batch comes and the stream runs on: the retry is its own.
    await within(
      server.log.waitFor((e) =>
        e.kind === "http" && e.endpoint === "delete" && e.status === 200
      ),
      "the retried delete",
    );
    assert.deepEqual(server.log.requests("delete").map((r) => r.status), [
      502,
      200,
    ]);
    assert.deepEqual(queued(server, device), []);
    const retrying = statuses.filter((s) => s.state === "retrying");
    assert.equal(retrying.length, 1);
    assert.ok(retrying[0].state === "retrying");
    assert.equal(retrying[0].attempt, 1);
    assert.ok(
      retrying[0].delay >= 1 && retrying[0].delay <= 10,
      String(retrying[0].delay),
    );
    assert.match(
      retrying[0].reason,
      /^Cannot delete messages: the server answered 502/,
    );
    assert.ok(!statuses.some((s) => s.state === "stopped"));
    await stream.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(server.log.requests("delete").length, 2);
  },
);

for (
  const [variant, extra, faults] of [
    ["", {}, undefined],
    // Downloads after a reconnect then see what the loop moved past but the
    // server has not deleted yet: only the stream's id filter keeps it out.
    [" and deletes lag behind", {}, { type: "delay", ms: 20 }],
    [" and nothing is deleted", { autoDelete: false }, undefined],
  ] as const
) {
  serverTest(
    `streamMessages() loses and repeats nothing across 50 forced reconnects while messages arrive${variant}`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      if (faults) server.failNext(faults, { endpoint: "delete", count: 1000 });
      const total = 100;
      let sent = 0;
      const got = await take(
        context.stream(device, extra),
        total + 1,
        async (_, index) => {
          if (sent < total) server.send({ message: `n${sent++}` });
          if (index % 2 === 0 && index < 100) {
            // Alternate the ways a link ends: drop with no frame, or 'R'.
            const logins = server.log.sockets("login").length;
            if (index % 4 === 0) {
              server.dropSockets(device.deviceId);
            } else server.sendFrame("R", device.deviceId);
            if (sent < total) {
              server.send({ message: `n${sent++}` }); // likely lost as '!'
            }
            await server.waitForLogin(device.deviceId, logins + 1);
          }
        },
      );
      const bodies = got.slice(1).map((m) => m.message);
      assert.deepEqual(
        bodies,
        Array.from({ length: total }, (_, i) => `n${i}`),
      );
      const ids = got.map((m) => m.id_str);
      assert.equal(new Set(ids).size, ids.length);
      const logins = server.log.sockets("login").length;
      assert.ok(logins >= 51, `only ${logins} logins`);
      assert.equal(
        queued(server, device).length,
        "autoDelete" in extra ? 101 : 0,
      );
    },
  );
}

serverTest(
  "streamMessages() ends at once on 'E' during a backoff sleep",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    let backingOff!: () => void;
    const backoff = new Promise<void>((resolve) => backingOff = resolve);
    server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
    const stream = context.stream(device, {
      retryDelay: { min: 60_000, max: 60_000 },
      onStatus: (s) => {
        if (s.state === "retrying") backingOff();
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const waiting = iterator.next(); // connects; its sync fails: a 60 s sleep
    await backoff;
    await server.waitForLogin(device.deviceId);
    server.sendFrame("E", device.deviceId);
    const error = await within(rejection(waiting), "the stream to end");
    assert.ok(error instanceof LoginRequiredError);
    assert.equal(server.log.requests("download").length, 1);
  },
);

serverTest(
  "streamMessages() after 'A' during a download neither yields nor deletes what it brought",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const rest = recordingFetch(context.server.fetch);
    const spy = spySockets(context.server.WebSocket);
    const stream = context.stream(device, {
      fetch: rest.fetch,
      WebSocket: spy.WebSocket,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const welcome = (await iterator.next()).value!;
    await server.waitForLogin(device.deviceId);
    rest.hold("download");
    const waiting = iterator.next(); // moves past the welcome
    server.send({ message: "for the other client" });
    await rest.until(() => rest.count("download") === 2);
    server.sendFrame("A", device.deviceId);
    await spy.until(() => spy.sockets[0].frames.includes("A"));
    await nextTurn();
    rest.release(); // too late: stopping began with 'A' and cut the download
    const error = await rejection(waiting);
    assert.ok(error instanceof SessionReplacedError);
    assert.equal(rest.count("download"), 2);
    assert.equal(rest.count("download", true), 1);
    assert.deepEqual(
      rest.calls.filter((c) => c.endpoint === "delete").map((c) =>
        c.params.get("message")
      ),
      [welcome.id_str],
    );
    assert.deepEqual(queued(server, device), ["for the other client"]);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  },
);
