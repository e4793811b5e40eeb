// Questions on the terminal for examples/listen.ts: plain lines, and secrets
// typed without echo. Works with a TTY and with piped stdin (tests), using
// only node: built-ins so it runs on Deno, Bun and Node alike.

import process from "node:process";

/** Reads answers from stdin one line at a time, on demand. */
export class Terminal {
  #buffer = "";
  #waiting: ((line: string | undefined) => void) | undefined;
  #ended = false;
  #hidden = false;
  #listening = false;

  /** Asks `question` on stderr; resolves with the answer (empty at end of input). */
  ask(question: string): Promise<string> {
    process.stderr.write(question);
    return this.#nextLine().then((line) => (line ?? "").trim());
  }

  /** Like ask(), but what is typed is not shown (on a terminal). */
  async askHidden(question: string): Promise<string> {
    const tty = process.stdin.isTTY === true;
    if (tty) process.stdin.setRawMode(true);
    this.#hidden = tty;
    try {
      return await this.ask(question);
    } finally {
      if (tty) {
        process.stdin.setRawMode(false);
        process.stderr.write("\n");
      }
      this.#hidden = false;
    }
  }

  #nextLine(): Promise<string | undefined> {
    const line = this.#takeLine();
    if (line !== undefined || this.#ended) return Promise.resolve(line);
    this.#listen();
    return new Promise((resolve) => {
      this.#waiting = (answer) => {
        this.#waiting = undefined;
        // Stop reading until the next question: an idle stdin must not keep
        // the process alive, nor swallow input meant for later.
        process.stdin.pause();
        resolve(answer);
      };
    });
  }

  #takeLine(): string | undefined {
    const end = this.#buffer.search(/\r?\n|\r/);
    if (end === -1) return undefined;
    const line = this.#buffer.slice(0, end);
    const rest = this.#buffer.slice(end);
    this.#buffer = rest.slice(rest.startsWith("\r\n") ? 2 : 1);
    return line;
  }

  #listen(): void {
    if (!this.#listening) {
      this.#listening = true;
      process.stdin.setEncoding("utf8");
      process.stdin.on("data", (chunk: string) => this.#receive(chunk));
      process.stdin.on("end", () => {
        this.#ended = true;
        this.#waiting?.(this.#buffer === "" ? undefined : this.#buffer);
        this.#buffer = "";
      });
    }
    process.stdin.resume();
  }

  #receive(chunk: string): void {
    if (this.#hidden) {
      // Raw mode: no line discipline, so handle editing keys ourselves.
      for (const char of chunk) {
        if (char === "\u0003") process.exit(130); // Ctrl-C
        else if (char === "\u007f" || char === "\b") {
          this.#buffer = this.#buffer.slice(0, -1);
        } else this.#buffer += char;
      }
    } else {
      this.#buffer += chunk;
    }
    const line = this.#takeLine();
    if (line !== undefined) this.#waiting?.(line);
  }
}
