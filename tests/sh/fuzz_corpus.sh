#!/bin/sh
# tests/sh/fuzz_corpus.sh -- replays every committed fuzz input (the seed
# corpora fuzz/corpus/<target> and the crash regressions
# fuzz/regressions/<target>) through the fuzz targets, built with the
# configured compiler and fuzz/standalone.c instead of libFuzzer.  Each
# target checks its properties (fuzz/fuzz_*.c) and aborts on a violation.
# Run by `make check`; `make check-asan` runs the same under ASan+UBSan.
set -e
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
$MAKE --no-print-directory -s BUILD="$BUILD" fuzz-replay
