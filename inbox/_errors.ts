// The inbox's one kind of error, in a file of its own: the command line
// tells it from a bug without loading SQLite.

/** Why an inbox could not be opened or used; `message` says what to do. */
export class InboxError extends Error {
  /** "InboxError". */
  override name = "InboxError";
}
