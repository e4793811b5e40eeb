// How the test command splits test files over processes: by how long each
// takes. Runtime-neutral, so that tests/shards_test.ts runs everywhere.

/**
 * About how long (s) a file takes on its own, where that is far from the
 * half second most take: tests that wait on real time by design (an 8 s
 * SIGSTOP, a 2 s stop grace, child processes, 50 MB bodies). Only for
 * balancing shards: a wrong figure costs time, never a result.
 */
export const FILE_SECONDS: Record<string, number> = {
  "tests/cli_crash_test.ts": 30,
  "tests/stream_resume_test.ts": 16,
  "tests/stream_edges_test.ts": 3.5,
  "tests/stream_reconnect_test.ts": 3.5,
  "tests/hostile_input_test.ts": 3,
  "tests/cli_listen_test.ts": 2,
  "tests/cli_inbox_test.ts": 1.5,
  "tests/cli_test.ts": 1.5,
  "tests/deleter_test.ts": 1.5,
  "tests/stream_lifecycle_test.ts": 1.5,
};

/**
 * `files` split over `count` shards of about equal time (longest first, each
 * to the lightest shard so far); each shard's files sorted.
 */
export function shardFiles(
  count: number,
  files: string[],
  seconds: (file: string) => number = (file) => FILE_SECONDS[file] ?? 0.5,
): string[][] {
  const shards = Array.from({ length: count }, () => ({
    seconds: 0,
    files: [] as string[],
  }));
  const longestFirst = [...files].sort((a, b) => seconds(b) - seconds(a));
  for (const file of longestFirst) {
    const lightest = shards.reduce((a, b) => b.seconds < a.seconds ? b : a);
    lightest.files.push(file);
    lightest.seconds += seconds(file);
  }
  return shards.map((shard) => shard.files.sort());
}
