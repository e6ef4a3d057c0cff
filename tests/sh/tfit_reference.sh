#!/bin/sh
# tests/sh/tfit_reference.sh -- fast agreement check of wr_template_fit with
# the independent numpy + iminuit reference (bench/tfit.py --quick: 40000
# events, 40 bins, 21 masses, 8 bootstrap replicas): every fitted mass within
# 0.1 MeV, and the same replicas with 1 and with all threads.
# Skips (visibly, exit 0) when /usr/bin/python3 lacks numpy or iminuit.
BUILD=${BUILD:-build}
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy, iminuit' 2>/dev/null; then
  echo "SKIPPED: tfit reference check (needs python3-numpy and python3-iminuit for $PY)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# build the driver against the library under test
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude -o "$tmp/tfit_bench" bench/tfit_bench.c \
  -L"$BUILD" -lwrecoil -Wl,-rpath,"$PWD/$BUILD" || { echo "tfit_reference: cannot build the driver"; exit 1; }
BUILD="$BUILD" OPENBLAS_NUM_THREADS=1 "$PY" bench/tfit.py --quick --driver "$tmp/tfit_bench"
