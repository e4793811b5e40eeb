// `mcp`'s protocol edges, in-process on every runtime (the official SDK's
// client drives the happy path in tests/mcp/run.ts): JSON-RPC errors for
// what is not a request, an unknown method or tool; notifications need no
// answer; no inbox is one line.

import assert from "node:assert/strict";
import { join } from "node:path";
import { openInbox } from "../inbox/mod.ts";
import { message } from "./_inbox_contract.ts";
import { cliTest } from "./_cli.ts";

cliTest(
  "mcp answers JSON-RPC errors for bad input, nothing for a notification, and a tool's failure as isError",
  async (context) => {
    const path = join(context.dir, "inbox.sqlite");
    const inbox = await openInbox(path);
    inbox.add("d1", [message(1)]);
    inbox.close();
    const requests = [
      "{ not json",
      JSON.stringify({ jsonrpc: "1.0", id: 1, method: "ping" }),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "initialize",
        params: { protocolVersion: "1999-01-01" },
      }),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "resources/list" }),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: { name: "nope" },
      }),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: { name: "search_messages", arguments: { query: " " } },
      }),
      JSON.stringify({ jsonrpc: "2.0", id: 6, method: "ping" }),
    ];
    const result = await context.run(["mcp", "--inbox", path], {
      stdin: requests.join("\n") + "\n",
    });
    assert.equal(result.code, 0, result.stderr);
    const answers = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(answers.map((a) => a.id), [null, 1, 2, 3, 4, 5, 6]);
    assert.equal(answers[0].error.code, -32700);
    assert.equal(answers[1].error.code, -32600);
    assert.equal(answers[2].result.protocolVersion, "2025-06-18", "the newest");
    assert.equal(answers[3].error.code, -32601);
    assert.equal(answers[4].error.code, -32602);
    assert.equal(answers[5].result.isError, true);
    assert.deepEqual(answers[6].result, {});
  },
);

cliTest("mcp without an inbox says so in one line, exit 2", async (context) => {
  const result = await context.run([
    "mcp",
    "--inbox",
    join(context.dir, "none.sqlite"),
  ]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^no inbox at .*none\.sqlite: run `listen` first/,
  );
});

cliTest(
  "mcp answers a line that is JSON but no request (null) with an error and goes on; a character split across two reads arrives whole",
  async (context) => {
    const path = join(context.dir, "inbox.sqlite");
    const inbox = await openInbox(path);
    inbox.add("d1", [message(1, { message: "café au lait" })]);
    inbox.close();
    const child = context.start(["mcp", "--inbox", path]);
    child.write("null\n");
    const search = new TextEncoder().encode(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "search_messages", arguments: { query: "café" } },
      }) + "\n",
    );
    // Cut inside the two bytes of "é".
    const cut = search.indexOf(0xc3) + 1;
    child.write(search.slice(0, cut) as never);
    child.write(search.slice(cut) as never);
    child.endInput();
    const { code } = await child.exited;
    assert.equal(code, 0, child.output().stderr);
    const [invalid, found] = child.output().stdout.trim().split("\n").map((
      line,
    ) => JSON.parse(line));
    assert.deepEqual(invalid, {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "not a JSON-RPC 2.0 request" },
    });
    assert.match(JSON.stringify(found.result), /café au lait/);
  },
);
