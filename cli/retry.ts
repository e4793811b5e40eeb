// `retry`: hand dead letters over again — messages a hook could not take,
// set aside so that it could go on — once whatever failed is fixed.

import { defineCommand } from "./_command.ts";
import { EXIT, usage } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { say } from "./_io.ts";
import { INBOX_FLAG, openExistingInbox } from "./_inbox.ts";
import { defaultInboxPath } from "./_paths.ts";

/** `retry`. */
export const retry = defineCommand({
  name: "retry",
  usage: ["[SEQ | --all] [--sink NAME]"],
  about:
    `Hands messages set aside as dead letters (see history --failed) over again:
the one at inbox position SEQ, or all of them (no SEQ, or --all as ack takes
it); to every sink that set them aside, or only to --sink NAME (stdout, exec,
webhook, notify). A listener that runs picks them up within ten seconds,
ahead of new messages.`,
  flags: {
    all: { type: "boolean", help: "every message set aside (as no SEQ)" },
    sink: { type: "string", value: "NAME", help: "only this sink's" },
    ...INBOX_FLAG,
  },
  positionals: 1,
  options({ values, positionals }, env) {
    const given = positionals[0];
    if (given !== undefined && values.all === true) {
      throw usage("retry: give a SEQ or --all, not both; see retry --help");
    }
    if (given !== undefined && !/^\d{1,15}$/.test(given)) {
      throw usage(
        `retry: '${
          oneLine(given)
        }' is not an inbox position (the number history --failed shows first)`,
      );
    }
    return {
      inbox: values.inbox ?? defaultInboxPath(env),
      seq: given === undefined ? undefined : Number(given),
      sink: values.sink,
    };
  },
  async run({ inbox: path, seq, sink }, { io }) {
    const inbox = await openExistingInbox(path);
    if (!inbox) {
      say(io, `no inbox at ${path} yet: nothing was set aside`);
      return EXIT.ok;
    }
    try {
      const sinks = [
        ...new Set(
          inbox.deadLetters(sink)
            .filter((dead) => dead.state === "dead")
            .filter((dead) => seq === undefined || dead.seq === seq)
            .map((dead) => dead.sink),
        ),
      ];
      let count = 0;
      for (const name of sinks) count += inbox.retry(name, seq);
      say(
        io,
        count === 0
          ? `nothing to hand over again${
            seq === undefined ? "" : ` at inbox position ${seq}`
          }${sink === undefined ? "" : ` for ${oneLine(sink)}`}`
          : `handed ${count} set-aside message(s) over again (${
            sinks.join(", ")
          })`,
      );
      return EXIT.ok;
    } finally {
      inbox.close();
    }
  },
});
