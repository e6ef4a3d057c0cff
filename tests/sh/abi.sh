#!/bin/sh
# The exported symbols of the shared library must equal tests/abi/symbols.txt
# (the committed public API) and all start with wr_.
BUILD=${BUILD:-build}
lib=$(ls "$BUILD"/libwrecoil.so.*.*.* | head -n 1)
got=$(mktemp)
sh tests/abi_symbols.sh "$lib" > "$got"
status=0
if grep -v '^wr_' "$got"; then
  echo "abi: symbols above are exported without the wr_ prefix"; status=1
fi
if grep '^wr__' "$got"; then
  echo "abi: internal wr__ symbols above are exported"; status=1
fi
if ! diff -u tests/abi/symbols.txt "$got"; then
  echo "abi: exported symbols differ from tests/abi/symbols.txt (see docs/abi.md; 'make abi-update' after an intended addition)"
  status=1
fi
# Every exported function is declared with WR_API in a public header (so it
# is part of the documented API, not an accident of a missing `static`).
decls=$(mktemp)
cat include/wrecoil.h include/wrecoil/*.h | tr -s ' \t\n' ' ' | sed 's/WR_API/\n&/g' |
  sed -n 's/^WR_API[^(]*[ *]\(wr_[A-Za-z0-9_]*\) *(.*/\1/p' | sort -u > "$decls"
undeclared=$(comm -23 "$got" "$decls")
if [ -n "$undeclared" ]; then
  echo "abi: exported but not declared WR_API in include/: $undeclared"; status=1
fi
rm -f "$decls"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
case "$soname" in
  libwrecoil.so.[0-9]*) ;;
  *) echo "abi: unexpected SONAME '$soname'"; status=1 ;;
esac
rm -f "$got"
[ $status -eq 0 ] && echo "abi: $(wc -l < tests/abi/symbols.txt) symbols OK, SONAME $soname"
exit $status
