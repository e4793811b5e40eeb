// streamMessages(): reconnects, fatal frames and REST failures, end to end.

import assert from "node:assert/strict";
import { LoginRequiredError, SessionReplacedError } from "../mod.ts";
import type { StreamOptions, StreamStatus } from "../mod.ts";
import { newDevice, queued, rejection, serverTest, take } from "./_setup.ts";

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
      context.stream(device, { keepAliveTimeout: 60 }),
      1,
      async () => {
        // Eight keep-alives span more than one keepAliveTimeout: the link must stay.
        let seen = 0;
        await server.log.waitFor((e) =>
          e.kind === "socket" && e.event === "sent" && e.data === "#" &&
          ++seen === 8
        );
      },
    );
    assert.equal(
      server.log.entries.filter((e) =>
        e.kind === "socket" && e.event === "login"
      ).length,
      1,
    );
  },
  { keepAliveInterval: 10 },
);

serverTest(
  "streamMessages() reconnects at once after 'R', without counting a failure",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    await take(
      context.stream(device, {
        retryDelay: { min: 5_000, max: 5_000 },
        onStatus: (s) => statuses.push(s),
      }),
      2,
      async (_, index) => {
        if (index !== 0) return;
        server.sendFrame("R", device.deviceId);
        await server.waitForLogin(device.deviceId, 2);
        server.send({ message: "after R" });
      },
    );
    assert.deepEqual(statuses.find((s) => s.state === "reconnecting"), {
      state: "reconnecting",
      attempt: 1,
      delay: 0,
      reason: "the server asked to reconnect (R)",
    });
  },
);

serverTest(
  "streamMessages() ends with LoginRequiredError on 'E' and does not reconnect",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const error = await rejection(
      take(
        context.stream(device, { onStatus: (s) => statuses.push(s) }),
        2,
        () => {
          server.sendFrame("E", device.deviceId);
        },
      ),
    );
    assert.ok(error instanceof LoginRequiredError);
    assert.match(error.message, /refused the device's login \(E\)/);
    assert.equal(
      server.log.entries.filter((e) =>
        e.kind === "socket" && e.event === "open"
      ).length,
      1,
    );
    assert.deepEqual(statuses.at(-1), {
      state: "stopped",
      reason: "failed",
      error,
    });
    // The welcome was moved past before 'E' arrived: it was still deleted.
    assert.deepEqual(queued(server, device), []);
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
      server.log.entries.filter((e) =>
        e.kind === "socket" && e.event === "open"
      ).length,
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
        timeout: 50,
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
  "streamMessages() retries a failed delete at the next batch, never losing it",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({ type: "status", status: 502 }, { endpoint: "delete" });
    await take(
      context.stream(device),
      2,
      (_, index) => {
        if (index === 0) server.send({ message: "second" });
      },
    );
    assert.deepEqual(server.log.requests("delete").map((r) => r.status), [
      502,
      200,
    ]);
    assert.deepEqual(queued(server, device), []);
  },
);

serverTest(
  "streamMessages() loses and repeats nothing across 50 forced reconnects while messages arrive",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const total = 100;
    let sent = 0;
    const got = await take(
      context.stream(device),
      total + 1,
      async (_, index) => {
        if (sent < total) server.send({ message: `n${sent++}` });
        if (index % 2 === 0 && index < 100) {
          // Alternate the ways a link ends: drop with no frame, or 'R'.
          const logins = server.log.entries.filter((e) =>
            e.kind === "socket" && e.event === "login"
          ).length;
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
    assert.deepEqual(bodies, Array.from({ length: total }, (_, i) => `n${i}`));
    const ids = got.map((m) => m.id_str);
    assert.equal(new Set(ids).size, ids.length);
    const logins =
      server.log.entries.filter((e) =>
        e.kind === "socket" && e.event === "login"
      ).length;
    assert.ok(logins >= 51, `only ${logins} logins`);
    assert.deepEqual(queued(server, device), []);
  },
);
