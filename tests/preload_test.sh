#!/bin/sh
# The preload library (libbenchfs-preload.so) with programs that make POSIX
# calls and no BenchFS call:
#   tests/preload/posix_test  at 1, 2 and 4 ranks, both backends: stdio,
#                             chdir into the mount, *at calls on a directory
#                             descriptor, readdir, rename, dup2 onto stdout,
#                             fcntl, fork, refused calls; each rank reads
#                             its neighbour's files
#   every example             unmodified at 4 ranks: their own benchfs_init
#                             gets the instance MPI_Init started; and the
#                             POSIX versions of two (examples/posix_*.c)
#   programs without MPI      (coreutils): a path under the mount fails with
#                             ENODEV and one warning, other paths work
# A run fails on its exit status, a timeout, or files left in BENCHFS_DIR.
# Runs in the build directory (make check).  IOR, mdtest and pfind under the
# preload are in tests/ior_test.sh.
set -u
build=$(pwd)
preload=$build/.libs/libbenchfs-preload.so
if [ ! -f "$preload" ]; then
  echo "SKIP: no $preload"
  exit 77
fi
if ldd "$preload" | grep -q -E 'lib(a|t|ub)san'; then
  echo "SKIP: sanitizer build (a preloaded sanitizer library needs the runtime loaded first)"
  exit 77
fi
if [ -e /benchfs ]; then
  echo "FAIL: /benchfs exists on this machine: a call that missed the preload would not fail"
  exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmo=${BENCHFS_TEST_TIMEOUT:-300}
fail=0
data=
trap '[ -z "$data" ] || rm -rf "$data"' EXIT

# run NP BACKEND PROGRAM ARGS...: one job under the preload.
run() {
  np=$1 backend=$2
  shift 2
  data=$(mktemp -d "${TMPDIR:-/tmp}/benchfs-preload-test.XXXXXX") || exit 1
  echo "=== $* at $np rank(s), $backend backend"
  start=$(date +%s)
  BENCHFS_BACKEND=$backend BENCHFS_DIR=$data timeout -k 10 "$tmo" \
    "${MPIRUN:-mpirun}" --oversubscribe --bind-to none -np "$np" \
    -x BENCHFS_BACKEND -x BENCHFS_DIR -x LD_PRELOAD="$preload" "$@" </dev/null
  rc=$?
  echo "=== exit $rc, $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] || { echo "FAIL: $* at $np rank(s) ($backend): exit $rc"; fail=1; }
  if [ -n "$(ls -A "$data")" ]; then
    echo "FAIL: $* at $np rank(s) ($backend): files left in BENCHFS_DIR"
    fail=1
  fi
  rm -rf "$data"
  data=
}

for np in 1 2 4; do
  run $np uring tests/preload/posix_test
done
run 2 memory tests/preload/posix_test
for ex in hello shared_file tree_walk checkpoint_restart producer_consumer threads \
          posix_hello posix_shared_file; do
  run 4 uring examples/$ex
done

# Without MPI_Init BenchFS never starts: clear errors, nothing on disk.
out=$(LD_PRELOAD=$preload cat /benchfs/x 2>&1)
echo "cat /benchfs/x: $out"
case $out in
  *"No such device"*) ;;
  *) echo "FAIL: cat /benchfs/x without MPI did not fail with ENODEV"; fail=1 ;;
esac
case $out in
  *"benchfs-preload: BenchFS is not running"*) ;;
  *) echo "FAIL: no warning for a call under the mount without BenchFS"; fail=1 ;;
esac
out=$(LD_PRELOAD=$preload sh -c 'mkdir /benchfs/d; ls /benchfs' 2>&1)
[ "$(echo "$out" | grep -c 'benchfs-preload:')" -le 2 ] ||
  { echo "FAIL: more than one warning per process: $out"; fail=1; }
LD_PRELOAD=$preload sh -c 'echo kept >"$1" && cat "$1" && rm "$1"' sh "${TMPDIR:-/tmp}/benchfs-preload-$$" |
  grep -q '^kept$' || { echo "FAIL: a program under the preload cannot use local files"; fail=1; }
[ ! -e /benchfs ] || { echo "FAIL: /benchfs was made on this machine's disk"; rm -rf /benchfs; fail=1; }
exit $fail
