#!/bin/sh
# examples/demo.sh BUILD -- `make demo` until the `wrecoil` command exists:
# builds examples/c/example.c against the freshly built library in BUILD and
# runs it (recoil features of hand-made W events, a model file written from
# docs/format.md and inspected, every kind of corruption reported as an
# error).  Output goes to demo-out/.
set -eu
BUILD=${1:-${BUILD:-build}}
CC=${CC:-cc}
if [ ! -e "$BUILD/libwrecoil.so" ]; then
  echo "demo: $BUILD/libwrecoil.so is missing; run 'make' first" >&2
  exit 1
fi
mkdir -p demo-out
echo "demo: building examples/c/example.c against $BUILD/libwrecoil.so"
$CC -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/example.c -o demo-out/example \
  -L"$BUILD" -lwrecoil -lm -Wl,-rpath,"$PWD/$BUILD"
echo "demo: running demo-out/example"
echo
./demo-out/example demo-out/example-model.wrm
