#!/bin/sh
# tests/run_all.sh -- runs every test of the project and prints one summary
# line "check: N passed, N failed, N skipped".  Called by `make check`,
# `make check-asan` (ASAN=1: only the C tests), `make check-tsan` (TSAN=1:
# only the C tests named in TSAN_TESTS) and `make check-valgrind`
# (VALGRIND=1: the C tests under memcheck).
# Environment: BUILD (build dir), PYTHON (python3 with numpy; found here when
# unset), CC, CXX, PKG_CONFIG, MAKE (for tests/sh/install.sh).
BUILD=${BUILD:-build}
passed=0
failed=0
skipped=0
failed_names=""
# OpenBLAS threads can hang after fork() (Check forks each test), and its
# lazily created thread pool would otherwise show up in sanitizer reports.
export OPENBLAS_NUM_THREADS=1
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); failed_names="$failed_names $1"; }
skip() { skipped=$((skipped + 1)); echo "== SKIPPED: $1"; }

# Sanitizers and valgrind slow the tests down; stretch Check's per-test
# timeouts accordingly (a user's own CK_TIMEOUT_MULTIPLIER wins).
if [ -n "$VALGRIND" ]; then
  export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-30}
elif [ -n "$TSAN" ]; then
  export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
elif [ -n "$ASAN" ]; then
  export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
fi

if [ -n "$ASAN" ]; then
  # Leak checking stays on (the library must not leak); abort on the first
  # error so Check reports the test that caused it.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi

tests=""
if [ -n "$TSAN" ]; then
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
  for src in $TSAN_TESTS; do
    tests="$tests $BUILD/tests/$(basename "$src" .c)"
  done
else
  tests=$(ls "$BUILD"/tests/test_* 2>/dev/null)
fi

runner=""
if [ -n "$VALGRIND" ]; then
  # Definite leaks and invalid accesses fail; OpenBLAS keeps buffers
  # reachable until exit, which is not a leak.
  runner="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
fi

for t in $tests; do
  [ -x "$t" ] || continue
  echo "== $t"
  if $runner "$t"; then ok; else ko "$t"; fi
done

if [ -z "$ASAN" ] && [ -z "$TSAN" ] && [ -z "$VALGRIND" ]; then
  for s in tests/sh/*.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    if BUILD="$BUILD" sh "$s"; then ok; else ko "$s"; fi
  done

  # `sh tests/run_all.sh` run by hand: find a python3 with numpy as configure does.
  if [ -z "${PYTHON+set}" ]; then
    for py in python3 /usr/bin/python3; do
      if "$py" -c 'import numpy' >/dev/null 2>&1; then PYTHON=$py; break; fi
    done
  fi
  if [ -z "$PYTHON" ]; then
    skip "Python binding tests (no python3 with numpy; apt-get install python3-numpy python3-pytest)"
  elif ! "$PYTHON" -c 'import pytest' >/dev/null 2>&1; then
    skip "Python binding tests ($PYTHON has no pytest; apt-get install python3-pytest)"
  elif [ ! -d bindings/python/tests ]; then
    skip "Python binding tests (bindings/python/tests missing)"
  else
    echo "== pytest bindings/python/tests ($PYTHON)"
    # -p no:cacheprovider: the source tree stays clean.
    if WRECOIL_LIBRARY="$PWD/$BUILD/libwrecoil.so" PYTHONPATH="$PWD/bindings/python" \
       "$PYTHON" -m pytest -q -p no:cacheprovider bindings/python/tests; then
      ok
    else
      ko pytest
    fi
  fi
fi

echo "check: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || { echo "failed:$failed_names"; exit 1; }
