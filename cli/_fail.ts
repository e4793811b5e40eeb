// Exit codes and the one kind of error the command line prints as it is.

/** Exit codes, so scripts and service managers can tell why it stopped. */
export const EXIT = {
  /** Stopped by the user (Ctrl-C, SIGTERM, SIGHUP) or done. */
  ok: 0,
  /** Something unexpected; the line printed says what. */
  error: 1,
  /** A flag, argument or answer is wrong; the line says which. */
  usage: 2,
  /** The server refused the device: log in again. */
  loginRequired: 3,
  /** Another client logged in as this device and took it over. */
  sessionReplaced: 4,
  /** Interrupted before it was done (Ctrl-C at a question): 128 + SIGINT. */
  interrupted: 130,
} as const;

/** An exit code from {@linkcode EXIT}. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/**
 * A failure the user can act on: `message` is one line naming the file,
 * flag or URL involved and what to do; it is printed as it is, and the
 * process exits with `code`.
 */
export class CliError extends Error {
  readonly code: ExitCode;
  constructor(message: string, code: ExitCode = EXIT.error) {
    super(message);
    this.code = code;
  }
}

/** A wrong flag or argument: exit 2. */
export function usage(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
