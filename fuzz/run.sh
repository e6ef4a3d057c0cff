#!/bin/sh
# fuzz/run.sh BUILD_DIR TARGET... -- runs each libFuzzer target for
# FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default 1).  Inputs: the
# committed seeds fuzz/corpus/<t> and crash regressions fuzz/regressions/<t>;
# new inputs go to BUILD_DIR/corpus/<t>, crashes to BUILD_DIR/crashes/<t>/.
# Limits: 2 GB RSS, 1 GB per allocation, 10 s per input (a slower input is
# reported as a hang).  Exits non-zero when any target found a crash.
set -u
build=$1
shift
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

one() {
  t=$1
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  set -- "$build/corpus/$t" "fuzz/corpus/$t"
  [ -d "fuzz/regressions/$t" ] && set -- "$@" "fuzz/regressions/$t"
  dict=""
  [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
  log="$build/fuzz-$t.log"
  echo "fuzz: $t for ${secs}s (log $log)"
  # shellcheck disable=SC2086
  if "$build/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/crashes/$t/" $dict "$@" >"$log" 2>&1; then
    echo "fuzz: $t: ok, $(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}') runs"
  else
    echo "fuzz: $t: FAILED -- tail of $log:"
    tail -n 40 "$log"
    ls "$build/crashes/$t/"
    return 1
  fi
}

if [ "$jobs" -gt 1 ]; then
  # run the targets $jobs at a time; each writes its own log
  status=0
  pids=""
  running=0
  for t in "$@"; do
    one "$t" &
    pids="$pids $!"
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
      for p in $pids; do wait "$p" || status=1; done
      pids=""
      running=0
    fi
  done
  for p in $pids; do wait "$p" || status=1; done
  exit $status
fi

status=0
for t in "$@"; do
  one "$t" || status=1
done
exit $status
