// Each device of the relay writes through the relay's own stdout and stderr,
// every line marked with the device's name: a text line starts with
// "NAME: ", a JSON line gets "device" as its first key (it stays one JSON
// object per line for `jq`).

import { Writable } from "node:stream";
import type { Io } from "./_io.ts";

/** `io` with stdout and stderr marking each line as the device `name`'s. */
export function deviceIo(io: Io, name: string, json: boolean): Io {
  const jsonKey = `{"device":${JSON.stringify(name)},`;
  return {
    ...io,
    stdout: marking(
      io.stdout,
      (line) =>
        json && line.startsWith("{") && line !== "{}"
          ? jsonKey + line.slice(1)
          : `${name}: ${line}`,
    ),
    stderr: marking(io.stderr, (line) => `${name}: ${line}`),
  };
}

/**
 * A stream that hands each whole line, marked, to `target`; a write is done
 * when `target` took it (so a blocked reader still holds the device back,
 * and a reader gone away is an error, as on listen's own stdout).
 */
function marking(
  target: Io["stdout"],
  mark: (line: string) => string,
): Writable {
  let partial = "";
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Uint8Array, _encoding, done) {
      const text = partial +
        (typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      const end = text.lastIndexOf("\n");
      partial = text.slice(end + 1);
      if (end === -1) return done();
      const lines = text.slice(0, end).split("\n").map(mark).join("\n");
      try {
        target.write(`${lines}\n`, (error) => done(error ?? null));
      } catch (error) {
        done(error as Error); // Deno and Bun may throw at once
      }
    },
  });
}
