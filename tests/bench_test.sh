#!/bin/sh
# benchfs-bench as a program, not as a benchmark: small runs of every pattern
# must verify their data and exit 0; bad arguments must fail fast on every
# rank.  No timing is checked.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun="${MPIRUN:-mpirun} --oversubscribe --bind-to none"
bench=./benchfs-bench
compare=${TMPDIR:-/tmp}/benchfs-bench-test.$$
fail=0

echo "=== all patterns, 4 ranks, POSIX comparison, JSON"
if ! timeout 120 $mpirun -np 4 $bench --compare "$compare" --block 4m --transfer 256k \
      --files 50 --hard-records 20 --latency-ops 50 --iterations 2 --json "$compare.json" \
      > bench.out 2>&1; then
  echo "FAIL: benchfs-bench exited non-zero"; fail=1
fi
cat bench.out
grep -q "verified: every byte read back correctly" bench.out || { echo "FAIL: not verified"; fail=1; }
for row in "easy" "hard" "md-private" "md-shared" "latency"; do
  grep -q "^$row" bench.out || { echo "FAIL: no $row row"; fail=1; }
done
grep -q '"pattern"' "$compare.json" 2>/dev/null || { echo "FAIL: no JSON results"; fail=1; }
[ -e "$compare" ] && { echo "FAIL: $compare left behind"; fail=1; }
rm -f "$compare.json" bench.out

echo "=== memory backend, 1 rank"
BENCHFS_BACKEND=memory timeout 60 $mpirun -np 1 $bench --patterns easy,md --block 2m \
  --files 20 || { echo "FAIL: 1-rank run"; fail=1; }

echo "=== --help"
timeout 30 $mpirun -np 1 $bench --help | grep -q -- "--compare" || { echo "FAIL: --help"; fail=1; }

for bad in "--block 12q" "--block 3m --transfer 2m" "--bogus" "--patterns easy,foo"; do
  echo "=== bad arguments: $bad"
  timeout 60 $mpirun -np 4 $bench $bad > bad.out 2>&1
  rc=$?
  cat bad.out | head -5
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then echo "FAIL: '$bad' gave $rc"; fail=1; fi
  rm -f bad.out
done
exit $fail
