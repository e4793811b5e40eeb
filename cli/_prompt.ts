// Questions on the terminal: plain answers, and secrets typed without echo.
// Works with a TTY and with piped stdin (services, tests), one line per
// answer, on Deno, Bun and Node alike (only node: built-ins).

import { type Io, write } from "./_io.ts";

/** Ctrl-C while a question waits: the answer never comes. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** Reads answers from stdin one line at a time, on demand. */
export class Prompt {
  #buffer = "";
  #ended = false;
  #hidden = false;
  #listening = false;
  #waiting: ((line: string | undefined) => void) | undefined;
  /** The question on screen, waiting for its answer. */
  #shown: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #stop: AbortController;
  readonly #signal: AbortSignal;
  readonly #io: Io;

  /**
   * Questions end, unanswered, once `stop` aborts (SIGINT, SIGTERM); Ctrl-C
   * typed while a secret is asked (the terminal in raw mode sends no
   * SIGINT then) aborts it.
   */
  constructor(stop: AbortController, io: Io) {
    this.#io = io;
    this.#stop = stop;
    this.#signal = stop.signal;
    this.#signal.addEventListener("abort", () => this.#waiting?.(undefined));
  }

  /** Whether a person can answer: stdin is a terminal. */
  get interactive(): boolean {
    return this.#io.stdin.isTTY === true;
  }

  /**
   * Asks `question` on stderr; resolves with the trimmed answer, or
   * undefined at end of input. Rejects with {@linkcode Interrupted} when the
   * signal aborts meanwhile. Questions asked together are asked in turn.
   */
  ask(question: string): Promise<string | undefined> {
    return this.#inTurn(() => this.#ask(question, false));
  }

  /**
   * Like ask(), but what is typed is not shown (on a terminal), and the
   * answer is not trimmed (a password's spaces are part of it).
   */
  askHidden(question: string): Promise<string | undefined> {
    return this.#inTurn(() => this.#ask(question, true));
  }

  /**
   * Runs `print` (a message's line) while a question may wait: the
   * question's line is ended first and the question written again after,
   * so the two never share a line.
   */
  async around<T>(print: () => Promise<T>): Promise<T> {
    const shown = this.#shown;
    if (shown === undefined) return await print();
    write(this.#io.stderr, "\n");
    try {
      return await print();
    } finally {
      if (this.#shown === shown) write(this.#io.stderr, shown);
    }
  }

  #inTurn<T>(question: () => Promise<T>): Promise<T> {
    const turn = this.#queue.then(question, question);
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #ask(question: string, hidden: boolean): Promise<string | undefined> {
    if (this.#signal.aborted) throw new Interrupted();
    const raw = hidden && this.interactive;
    write(this.#io.stderr, question);
    if (raw) this.#io.stdin.setRawMode?.(true);
    this.#hidden = raw;
    this.#shown = question;
    try {
      const line = await this.#nextLine();
      if (this.#signal.aborted) throw new Interrupted();
      // End of input: what follows starts on a line of its own.
      if (line === undefined && !raw) write(this.#io.stderr, "\n");
      // A password may begin or end with a space: a hidden answer is
      // kept as typed (its line ending aside), an open one trimmed.
      return hidden ? line : line?.trim();
    } finally {
      this.#shown = undefined;
      if (raw) {
        this.#io.stdin.setRawMode?.(false);
        write(this.#io.stderr, "\n");
      }
      this.#hidden = false;
    }
  }

  #nextLine(): Promise<string | undefined> {
    const line = this.#takeLine();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(this.#takeRest());
    this.#listen();
    return new Promise((resolve) => {
      this.#waiting = (answer) => {
        this.#waiting = undefined;
        // Stop reading until the next question: an idle stdin must not keep
        // the process alive.
        this.#io.stdin.pause();
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

  /** At end of input: the last line without its newline, then nothing. */
  #takeRest(): string | undefined {
    const rest = this.#buffer;
    this.#buffer = "";
    return rest === "" ? undefined : rest;
  }

  #listen(): void {
    if (!this.#listening) {
      this.#listening = true;
      this.#io.stdin.setEncoding("utf8");
      this.#io.stdin.on("data", (chunk: string) => this.#receive(chunk));
      this.#io.stdin.on("end", () => {
        this.#ended = true;
        // Lines that came with the end stay for the questions to come.
        this.#waiting?.(this.#takeLine() ?? this.#takeRest());
      });
      this.#io.stdin.on("error", () => {
        this.#ended = true;
        this.#waiting?.(this.#takeRest());
      });
    }
    this.#io.stdin.resume();
  }

  #receive(chunk: string): void {
    if (this.#hidden) {
      // Raw mode: no line discipline, so editing keys and Ctrl-C are ours.
      for (const char of chunk) {
        if (char === "\u0003") this.#stop.abort();
        else if (char === "\u0004") {
          // Ctrl-D: the end of input, as a terminal in line mode gives it.
          this.#waiting?.(this.#takeRest());
          return;
        } else if (char === "\u007f" || char === "\b") {
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
