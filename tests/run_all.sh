#!/bin/sh
# tests/run_all.sh -- runs every test of the project and prints one summary
# line "check: N passed, N failed".  Called by `make check` and
# `make check-asan` (ASAN=1: only the C tests).
# Environment: BUILD (build dir), PYTHON (python3 with numpy or empty).
BUILD=${BUILD:-build}
passed=0
failed=0
failed_names=""
# OpenBLAS threads can hang after fork() (Check forks each test).
export OPENBLAS_NUM_THREADS=1
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); failed_names="$failed_names $1"; }

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  echo "== $t"
  if "$t"; then ok; else ko "$t"; fi
done

if [ -z "$ASAN" ]; then
  for s in tests/sh/*.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    if BUILD="$BUILD" sh "$s"; then ok; else ko "$s"; fi
  done
  if [ -n "$PYTHON" ]; then
    echo "== pytest bindings/python/tests"
    WRECOIL_LIBRARY="$PWD/$BUILD/libwrecoil.so" PYTHONPATH="$PWD/bindings/python" \
      "$PYTHON" -m pytest -q bindings/python/tests
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 5 ]; then ok; else ko pytest; fi
  else
    echo "== SKIPPED: Python binding tests (no python3 with numpy; apt-get install python3-numpy python3-pytest)"
  fi
fi

echo "check: $passed passed, $failed failed"
[ $failed -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
