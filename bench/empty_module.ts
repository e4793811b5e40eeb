// Nothing: the baseline for bench/import_time.ts.
