#!/bin/sh
# tests/sh/install.sh -- `make install` / `make uninstall` as users run them.
#
# 1. PREFIX + LIBDIR into a temporary prefix: pkg-config --modversion,
#    examples/c and examples/cpp built with `pkg-config --cflags --libs
#    wrecoil` against the installed shared library and run; the C example is
#    also linked statically with `pkg-config --static` (checks Libs.private);
#    then uninstall leaves no file behind.
# 2. DESTDIR staging with PREFIX=/usr/local: files land under DESTDIR, the
#    .pc file names the final prefix, uninstall with the same DESTDIR cleans up.
# Environment: BUILD, MAKE, CC, CXX, PKG_CONFIG (from `make check`).
set -u
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-c++}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wrecoil-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "install: FAIL: $*"; status=1; }
# Run make quietly; show its output only when it fails.
qmake() {
  if ! $MAKE --no-print-directory BUILD="$BUILD" "$@" > "$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"; return 1
  fi
}
leftovers() { find "$1" \( -type f -o -type l \) | sort; }

version=$(sed -n 's/^#define WR_VERSION_STRING "\(.*\)"/\1/p' include/wrecoil.h)

# ------------------------------------------------------ 1. PREFIX + LIBDIR
p="$tmp/prefix"
libdir="$p/lib64"
qmake install PREFIX="$p" LIBDIR="$libdir" || fail "make install PREFIX=$p LIBDIR=$libdir"
for f in include/wrecoil.h lib64/libwrecoil.so.$version lib64/libwrecoil.a \
         lib64/pkgconfig/wrecoil.pc share/doc/libwrecoil/README.md; do
  [ -f "$p/$f" ] || fail "missing $p/$f"
done
for h in include/wrecoil/*.h; do
  [ -f "$p/$h" ] || fail "missing $p/$h"
done
soname=$(objdump -p "$libdir/libwrecoil.so.$version" 2>/dev/null | awk '/SONAME/ {print $2}')
[ -L "$libdir/$soname" ] || fail "SONAME symlink $libdir/$soname missing"
[ -L "$libdir/libwrecoil.so" ] || fail "development symlink libwrecoil.so missing"
if [ -x "$BUILD/wrecoil" ]; then
  if [ -x "$p/bin/wrecoil" ]; then
    # its rpath must find the installed library, without LD_LIBRARY_PATH
    ldd "$p/bin/wrecoil" | grep -q "$libdir/libwrecoil.so" ||
      fail "$p/bin/wrecoil does not load libwrecoil from $libdir"
    out=$(env -u LD_LIBRARY_PATH "$p/bin/wrecoil" --version 2>&1) ||
      fail "installed wrecoil --version failed: $out"
    echo "install: bin/wrecoil --version: $out"
  else
    fail "the wrecoil command was not installed"
  fi
fi

export PKG_CONFIG_PATH="$libdir/pkgconfig"
got=$($PKG_CONFIG --modversion wrecoil) || fail "pkg-config cannot find wrecoil.pc"
[ "$got" = "$version" ] || fail "pkg-config --modversion says '$got', header says '$version'"
echo "install: pkg-config --modversion wrecoil = $got"
cflags=$($PKG_CONFIG --cflags wrecoil)
libs=$($PKG_CONFIG --libs wrecoil)
case "$libs" in *"-L$libdir"*) ;; *) fail "pkg-config --libs '$libs' does not point to $libdir" ;; esac

# The examples are compiled from the installed header only (no -Iinclude).
if $CC -std=c11 -Wall -Wextra -Werror examples/c/example.c $cflags $libs -lm \
     -o "$tmp/example-c" 2> "$tmp/cc.log"; then
  LD_LIBRARY_PATH="$libdir" ldd "$tmp/example-c" | grep -q "$libdir/libwrecoil.so" ||
    fail "example-c does not load libwrecoil from $libdir"
  if LD_LIBRARY_PATH="$libdir" "$tmp/example-c" "$tmp/model.wrm" > "$tmp/example-c.out" 2>&1; then
    echo "install: examples/c/example.c: $(tail -n 1 "$tmp/example-c.out")"
  else
    cat "$tmp/example-c.out"; fail "examples/c/example.c failed against the installed library"
  fi
else
  cat "$tmp/cc.log"; fail "examples/c/example.c does not build with pkg-config --cflags --libs wrecoil"
fi

# Static: the archive plus `pkg-config --static` private libraries.
static_libs=$($PKG_CONFIG --static --libs wrecoil | sed "s|-lwrecoil|$libdir/libwrecoil.a|")
if $CC -std=c11 examples/c/example.c $cflags $static_libs -lm -o "$tmp/example-static" \
     2> "$tmp/cc.log"; then
  if ldd "$tmp/example-static" | grep -q libwrecoil; then
    fail "the static example still links libwrecoil.so"
  elif "$tmp/example-static" "$tmp/model2.wrm" > "$tmp/example-static.out" 2>&1; then
    echo "install: static link (pkg-config --static): $(tail -n 1 "$tmp/example-static.out")"
  else
    cat "$tmp/example-static.out"; fail "statically linked example failed"
  fi
else
  cat "$tmp/cc.log"; fail "static link with pkg-config --static --libs wrecoil failed"
fi

if command -v "$CXX" >/dev/null 2>&1; then
  if $CXX -std=c++17 -Wall -Wextra -Werror examples/cpp/example.cpp $cflags $libs \
       -o "$tmp/example-cpp" 2> "$tmp/cxx.log"; then
    if LD_LIBRARY_PATH="$libdir" "$tmp/example-cpp" > "$tmp/example-cpp.out" 2>&1; then
      echo "install: examples/cpp/example.cpp: $(tail -n 1 "$tmp/example-cpp.out")"
    else
      cat "$tmp/example-cpp.out"; fail "examples/cpp/example.cpp failed against the installed library"
    fi
  else
    cat "$tmp/cxx.log"; fail "examples/cpp/example.cpp does not build with pkg-config --cflags --libs wrecoil"
  fi
else
  echo "install: SKIPPED: C++ example (no C++ compiler '$CXX'; apt-get install g++)"
fi
unset PKG_CONFIG_PATH

qmake uninstall PREFIX="$p" LIBDIR="$libdir" || fail "make uninstall PREFIX=$p"
left=$(leftovers "$p")
[ -z "$left" ] || fail "uninstall left files behind: $left"

# ---------------------------------------------------- 2. DESTDIR staging
d="$tmp/stage"
qmake install DESTDIR="$d" PREFIX=/usr/local || fail "make install DESTDIR=$d"
[ -f "$d/usr/local/include/wrecoil.h" ] || fail "DESTDIR: header not under $d/usr/local"
[ -f "$d/usr/local/lib/libwrecoil.so.$version" ] || fail "DESTDIR: library not under $d/usr/local/lib"
grep -qx 'prefix=/usr/local' "$d/usr/local/lib/pkgconfig/wrecoil.pc" ||
  fail "DESTDIR: wrecoil.pc does not name the final prefix /usr/local"
if grep -q "$d" "$d/usr/local/lib/pkgconfig/wrecoil.pc"; then
  fail "DESTDIR leaked into wrecoil.pc"
fi
qmake uninstall DESTDIR="$d" PREFIX=/usr/local || fail "make uninstall DESTDIR=$d"
left=$(leftovers "$d")
[ -z "$left" ] || fail "DESTDIR uninstall left files behind: $left"

[ $status -eq 0 ] && echo "install: install/uninstall with PREFIX, LIBDIR, DESTDIR OK"
exit $status
