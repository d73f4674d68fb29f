#!/bin/sh
# Nothing left behind (issue 23), with real jobs of 2 ranks sharing one
# BENCHFS_DIR (tests/mpi/hold_job: writes 4 MiB per rank, waits, checks
# them):
#   1. a job killed with SIGKILL leaves its directory (nothing ran after it);
#   2. the next job's benchfs_init removes it, and keeps its own;
#   3. a second job started beside the running one removes nothing of it,
#      both finish with their data intact, and BENCHFS_DIR is empty after;
#   4. the directory of a killed BENCHFS_KEEP=1 job survives the sweep;
#   5. benchfs-clean DIR removes a killed job's directory, says so, and
#      leaves a running job's and a kept one's alone; without DIR it sweeps
#      BENCHFS_DIR;
#   6. through all of it, what is not a locked BenchFS job directory stays:
#      a directory merely named benchfs-*, and a job-named one without a
#      lock file (BENCHFS_DIR is often /tmp, shared with everything);
#   7. a job that leaves BenchFS to MPI_Finalize (as IOR does) runs its
#      BENCHFS_STAGE_OUT there, and leaves nothing behind.
# Runs in the build directory (make check).
set -u
build=$(pwd)
mpirun=${MPIRUN:-mpirun}
tmo=120
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d "${TMPDIR:-/tmp}/benchfs-clean-test-XXXXXX") || exit 1
backing=$work/backing
export BENCHFS_DIR=$backing BENCHFS_BACKEND=uring BENCHFS_LOG_LEVEL=info
unset BENCHFS_KEEP
status=0
fail() { echo "FAIL: $*"; status=1; }

cleanup() {
  for f in "$work"/*.mpirun; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

job_dirs() { ls -d "$backing"/benchfs-*/ 2>/dev/null | sed 's|/$||'; }

# start NAME: starts a job and waits until both ranks hold their data;
# sets $dir to the job directory that appeared.
start() {
  before=$(job_dirs)
  mkdir -p "$work/$1"
  timeout -k 5 $tmo "$mpirun" --oversubscribe --bind-to none -np 2 \
    "$build/tests/mpi/hold_job" "$work/$1" >"$work/$1.log" 2>&1 &
  echo $! >"$work/$1.mpirun"
  tries=0
  while [ ! -f "$work/$1/ready.0" ] || [ ! -f "$work/$1/ready.1" ]; do
    tries=$((tries + 1))
    if [ $tries -gt 600 ]; then
      fail "job $1 did not start"; cat "$work/$1.log"; exit 1
    fi
    sleep 0.1
  done
  dir=
  for one in $(job_dirs); do
    printf '%s\n' "$before" | grep -q -x -F "$one" || dir=$one
  done
  [ -n "$dir" ] || { fail "job $1 made no directory in $backing"; exit 1; }
  echo "job $1 runs in $dir"
}

# finish NAME: lets the job check its data and end; it must succeed.
finish() {
  touch "$work/$1/release"
  wait "$(cat "$work/$1.mpirun")" || { fail "job $1 failed"; cat "$work/$1.log"; }
  rm -f "$work/$1.mpirun"
}

# crash NAME: SIGKILL to both ranks.
crash() {
  kill -KILL "$(cat "$work/$1/ready.0")" "$(cat "$work/$1/ready.1")"
  wait "$(cat "$work/$1.mpirun")" 2>/dev/null
  rm -f "$work/$1.mpirun"
  echo "job $1 killed"
}

holds_data() { [ -d "$1/rank0" ] && [ -d "$1/rank1" ] && [ "$(du -sk "$1" | cut -f1)" -ge 4096 ]; }

# Not ours: must outlive every sweep below.
mkdir -p "$backing/benchfs-precious-data" "$backing/benchfs-1-abc/rank0"
echo data >"$backing/benchfs-precious-data/file"
echo data >"$backing/benchfs-1-abc/rank0/file"
others() { ls -A "$backing" | grep -v -x -e benchfs-precious-data -e benchfs-1-abc; }

# 1. A killed job leaves its directory and its lock.
start a; dir_a=$dir
holds_data "$dir_a" || fail "job a's directory holds no data"
crash a
[ -d "$dir_a" ] || fail "$dir_a vanished with nobody to remove it (the test proves nothing)"

# 2. The next job's init removes it.
start b; dir_b=$dir
[ -d "$dir_a" ] && fail "job b's init left $dir_a of the killed job a"
[ -e "$dir_a.lock" ] && fail "job b's init left $dir_a.lock"
grep -q "removed $dir_a" "$work/b.log" || fail "job b's log does not say it removed $dir_a"

# 3. A job beside it removes nothing of it; both finish intact.
start c; dir_c=$dir
holds_data "$dir_b" || fail "job c's init touched $dir_b of the running job b"
holds_data "$dir_c" || fail "job c's directory holds no data"
finish c
holds_data "$dir_b" || fail "job c's finalize touched $dir_b"
finish b
left=$(others)
[ -z "$left" ] || fail "left in BENCHFS_DIR after both jobs: $left"

# 4. A killed BENCHFS_KEEP=1 job keeps its directory through a sweep.
export BENCHFS_KEEP=1; start d; dir_d=$dir; unset BENCHFS_KEEP
crash d
start e; dir_e=$dir
[ -d "$dir_d" ] || fail "job e's init removed $dir_d of a BENCHFS_KEEP=1 job"
finish e

# 5. benchfs-clean removes a killed job's directory, not a running one's.
# (No job may start after h is killed: its init would sweep h first.)
start i; dir_i=$dir
start h; dir_h=$dir
crash h
out=$("$build/benchfs-clean" "$backing" 2>&1)
echo "benchfs-clean $backing:"; echo "$out"
[ -d "$dir_h" ] && fail "benchfs-clean left $dir_h of the killed job h"
echo "$out" | grep -q "removed $dir_h" || fail "benchfs-clean does not say it removed $dir_h"
holds_data "$dir_i" || fail "benchfs-clean touched $dir_i of the running job i"
echo "$out" | grep -q "$dir_i" && fail "benchfs-clean reported the running job's $dir_i"
[ -d "$dir_d" ] || fail "benchfs-clean removed $dir_d of a BENCHFS_KEEP=1 job"
echo "$out" | grep -q "kept $dir_d" || fail "benchfs-clean does not say it kept $dir_d"
finish i
rm "$dir_d/keep"
out=$("$build/benchfs-clean")  # BENCHFS_DIR
echo "benchfs-clean:"; echo "$out"
echo "$out" | grep -q "removed $dir_d" || fail "benchfs-clean without DIR did not remove $dir_d"
# 6.
[ -f "$backing/benchfs-precious-data/file" ] || fail "a sweep removed benchfs-precious-data"
[ -f "$backing/benchfs-1-abc/rank0/file" ] || fail "a sweep removed benchfs-1-abc, which has no lock"
echo "$out" | grep -q "precious\|abc" && fail "benchfs-clean reported what is not its own"
rm -rf "$backing/benchfs-precious-data" "$backing/benchfs-1-abc"
left=$(ls -A "$backing")
[ -z "$left" ] || fail "left in BENCHFS_DIR at the end: $left"
"$build/benchfs-clean" "$work/none" | grep -q "nothing to remove" ||
  fail "benchfs-clean of a missing directory"
"$build/benchfs-clean" relative >/dev/null 2>&1; [ $? -eq 2 ] || fail "benchfs-clean relative: not 2"
# 7.
export HOLD_JOB_NO_FINALIZE=1 BENCHFS_STAGE_OUT=/:$work/staged-out
start j
finish j
unset HOLD_JOB_NO_FINALIZE BENCHFS_STAGE_OUT
for r in 0 1; do
  size=$(stat -c %s "$work/staged-out/f$r" 2>/dev/null || echo none)
  [ "$size" = 4194304 ] || fail "MPI_Finalize's stage-out: $work/staged-out/f$r has $size bytes"
done
left=$(ls -A "$backing")
[ -z "$left" ] || fail "left in BENCHFS_DIR after a job ended in MPI_Finalize: $left"
[ $status -eq 0 ] && echo "PASS"
exit $status
