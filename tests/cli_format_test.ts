// What a message is called on one line — a notification's summary, an
// acknowledgement's name — whatever a sender put in its title.

import assert from "node:assert/strict";
import { test } from "node:test";
import { headline } from "../cli/_format.ts";
import { notifyArguments } from "../cli/_notify.ts";
import { message } from "./_inbox_contract.ts";

test("a message's headline is its title, else its app, else Pushover: never blank", () => {
  assert.equal(headline(message(1, { title: "Disk", app: "NAS" })), "Disk");
  assert.equal(headline(message(1, { title: "", app: "NAS" })), "NAS");
  assert.equal(headline(message(1, { title: " \n\t ", app: "NAS" })), "NAS");
  assert.equal(headline(message(1, { app: "NAS" })), "NAS");
  assert.equal(
    headline({ id: 1, id_str: "1" } as never),
    "Pushover",
    "no title, no app",
  );
  assert.equal(headline(message(1, { title: "a\u001b[2Jb" })), "a [2Jb");
});

test("notify-send gets a summary whatever the title: an empty one refused it and turned notifications off", () => {
  const args = notifyArguments(
    message(1, { title: "", app: "NAS", message: "full" }),
    undefined,
    undefined,
    false,
  );
  const summary = args[args.indexOf("--") + 1];
  assert.equal(summary, "NAS");
});
