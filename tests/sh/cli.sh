#!/bin/sh
# tests/sh/cli.sh -- quick end-to-end tests of every `wrecoil` subcommand:
# toy -> features (round trip against the toy's own features) -> train-recoil
# -> apply-recoil -> info; train-morph -> apply-morph -> info; fit-mass and
# syst; --help everywhere; bad arguments fail with a message.
BUILD=${BUILD:-build}
W="$PWD/$BUILD/wrecoil"
PY=/usr/bin/python3
[ -x "$W" ] || { echo "cli: $W missing (run make)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli: FAIL: $*"; exit 1; }
cd "$T" || exit 1
export OPENBLAS_NUM_THREADS=1

# --help of the command and of every subcommand
"$W" --help | grep -q "train-recoil" || fail "wrecoil --help"
for c in toy features train-recoil apply-recoil train-morph apply-morph fit-mass syst info demo; do
  "$W" $c --help > h.txt || fail "$c --help exit status"
  grep -q "usage: wrecoil $c" h.txt || fail "$c --help text"
done

# bad arguments: non-zero exit and a message naming the problem
expect_fail() { # expected-text command...
  msg=$1; shift
  if "$@" > out.txt 2> err.txt; then fail "'$*' succeeded"; fi
  grep -q -- "$msg" err.txt || { cat err.txt; fail "'$*': no message '$msg'"; }
}
expect_fail "unknown command" "$W" frobnicate
expect_fail "unknown option '--bogus'" "$W" toy --bogus 1
expect_fail "is not an integer" "$W" toy --events many --out x.csv
expect_fail "--out is required" "$W" toy
expect_fail "is not \"W\" or \"Z\"" "$W" toy --process Q --out x.csv
expect_fail "cannot open" "$W" fit-mass --templates missing.csv --data missing.csv
expect_fail "cannot open" "$W" info missing.wrm
expect_fail "--events must be at least" "$W" demo --events 10

# toy with particles -> features reproduces the toy's table
"$W" toy --events 300 --seed 3 --out w.csv --particles p.csv.gz --quiet || fail "toy"
"$W" features --particles p.csv.gz --events w.csv --out f.csv --quiet || fail "features"
$PY - <<'EOF' || fail "features differ from the toy table"
import csv
a = list(csv.DictReader(open("w.csv"))); b = list(csv.DictReader(open("f.csv")))
assert len(a) == len(b) == 300, (len(a), len(b))
worst = 0.0
for ra, rb in zip(a, b):
    for c in ("h_tk", "r_ntnpv", "s_pf", "n_tk", "n_vtx", "ln_e1", "tk_x", "pf_y"):
        x, y = float(ra[c]), float(rb[c])
        worst = max(worst, abs(x - y) / max(1.0, abs(x)))
assert worst < 1e-4, worst
EOF
"$W" features --particles w.csv --out bad.csv --quiet 2> err.txt && fail "features on a non-particle table"
grep -q "no column 'pt'" err.txt || fail "features: message for a missing column"

# train-recoil -> apply-recoil -> info
"$W" toy --events 6000 --seed 4 --out wt.csv.gz --quiet || fail "toy (training)"
"$W" train-recoil --in wt.csv.gz --out rec --epochs 3 --hidden 16,16 --threads 1 --quiet > tr.txt ||
  fail "train-recoil"
[ -s rec.ln_e1.wrm ] && [ -s rec.e2s.wrm ] || fail "train-recoil wrote no models"
"$W" apply-recoil --in w.csv --model rec --out wa.csv --quiet || fail "apply-recoil"
head -n 1 wa.csv | grep -q "mnpk_x,mnpk_y,ln_e1_med,e2s_med" || fail "apply-recoil columns"
"$W" info rec.ln_e1.wrm > info.txt || fail "info"
grep -q "regressor model" info.txt && grep -q "16,16" info.txt || fail "info text"
expect_fail "loading 'nothere.ln_e1.wrm'" "$W" apply-recoil --in w.csv --model nothere --out x.csv
printf 'not a model' > junk.wrm
expect_fail "junk.wrm" "$W" info junk.wrm

# train-morph -> apply-morph -> info (Z sim -> Z data, TK recoil)
"$W" toy --process Z --events 4000 --seed 5 --out zs.csv --quiet || fail "toy Z"
"$W" toy --process Z --preset data --events 4000 --seed 6 --out zd.csv --quiet || fail "toy Z data"
"$W" train-morph --sim zs.csv --data zd.csv --recoil tk --rounds 10 --threads 1 --out m.wrm \
  --quiet > tm.txt || fail "train-morph"
"$W" info m.wrm | grep -q "morpher model" || fail "info morpher"
"$W" apply-morph --in w.csv --model m.wrm --recoil tk --z gen --out wm.csv --quiet || fail "apply-morph"
head -n 1 wm.csv | grep -q "tk_morph_x,tk_morph_y" || fail "apply-morph columns"
expect_fail "needs Z events" "$W" train-morph --sim w.csv --data w.csv --out x.wrm --rounds 2

# fit-mass and syst (JSON out)
"$W" toy --events 20000 --seed 7 --out w2.csv --quiet || fail "toy W (fit)"
"$W" fit-mass --templates w2.csv --data w2.csv --recoil tk --bootstrap 5 --out fm.json \
  --save fm.wtf 2> /dev/null || fail "fit-mass"
"$W" info fm.wtf | grep -q "template_fit model" || fail "info template fit"
"$W" syst --in w2.csv --recoil tk --bootstrap 5 --eps -0.2,0,0.2 --out sy.json --quiet 2> /dev/null ||
  fail "syst"
$PY - <<'EOF' || fail "fit-mass / syst results"
import json, math
f = json.load(open("fm.json"))["fit"]
assert abs(f["bias_mev"]) < 1e-3, f          # identical templates and data
s = json.load(open("sy.json"))
assert math.isfinite(s["slope_mev"]) and s["slope_err_mev"] > 0, s
assert s["slope_mev"] > 0, s                  # a harder spectrum raises MT
EOF
expect_fail "--range" "$W" fit-mass --templates w2.csv --data w2.csv --range 100:50
echo "cli: all subcommand tests passed"
