#!/bin/sh
# Prints the sorted list of functions and objects a shared library exports.
# Usage: tests/abi_symbols.sh build/libwrecoil.so.X.Y.Z
nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u
