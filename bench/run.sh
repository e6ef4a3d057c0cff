#!/bin/sh
# bench/run.sh [SUITE] -- runs one benchmark suite (or all) side by side with
# its peers.  Each suite is bench/<suite>.py; it writes bench/out/<suite>.json
# (a flat object metric -> number) and prints a readable table.
# Peers (scikit-learn, XGBoost, PyTorch, iminuit, Dask) come from Debian's
# system python3, which may not be the first python3 on PATH.
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null && PY=/usr/bin/python3
SUITES="forest regressor morph tfit toy dask demo"
[ -n "$1" ] && SUITES="$1"
mkdir -p bench/out
status=0
for s in $SUITES; do
  if [ ! -f "bench/$s.py" ]; then
    echo "bench: suite '$s' does not exist (bench/$s.py)"; status=1; continue
  fi
  echo "=== bench $s"
  BUILD="$BUILD" PYTHONPATH="$PWD/bindings/python" WRECOIL_LIBRARY="$PWD/$BUILD/libwrecoil.so" \
    "$PY" "bench/$s.py" || status=1
done
exit $status
