// examples/forward.ts end to end: a child process forwarding to a local
// HTTP server; a refusal leaves the message queued.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { cliTest } from "./_cli.ts";
import { startScript } from "./_spawn.ts";
import { queued } from "./_setup.ts";

cliTest(
  "examples/forward.ts forwards each message as JSON and stops, leaving it queued, when the other service refuses",
  async (context) => {
    const device = await context.seed();
    const received: Record<string, unknown>[] = [];
    const target = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => body += chunk);
      request.on("end", () => {
        received.push(JSON.parse(body));
        response.writeHead(received.length === 1 ? 200 : 500).end();
      });
    });
    await new Promise<void>((resolve) =>
      target.listen(0, "127.0.0.1", resolve)
    );
    const port = (target.address() as { port: number }).port;
    context.server.send({ message: "first", title: "One", priority: 1 });
    context.server.send({ message: "refused" });
    const child = startScript("examples/forward.ts", {
      env: {
        CREDENTIALS: context.config,
        FORWARD_URL: `http://127.0.0.1:${port}/`,
      },
    });
    try {
      assert.deepEqual(await child.exited, { code: 1, signal: null });
      assert.match(
        child.output().stderr,
        /^forward: the other service answered 500; the message stays queued$/m,
      );
    } finally {
      await child.kill();
      await new Promise((resolve) => target.close(resolve));
    }
    assert.deepEqual(received, [
      { title: "One", text: "first", priority: 1 },
      { title: "Fake Monitor", text: "refused", priority: 0 },
    ]);
    assert.deepEqual(queued(context.server, device), ["refused"]);
  },
);
