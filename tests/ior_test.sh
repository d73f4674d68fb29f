#!/bin/sh
# Real IOR and mdtest on the BenchFS of this build: `make install`s it into
# a work folder, builds IOR with ior-patches/ against it (scripts/build-ior,
# cached), then runs at 2 ranks on both backends (uring, memory):
#   IOR easy   -F -t 1m -b 16m             } -w -r -W -R: IOR compares every
#   IOR hard   -t 47008 -b 47008 -s 200    } byte it reads back
#   mdtest     -n 500 -u -w 3901 -e 3901 -X (3901-byte files, read verified)
# plus IOR hard with --benchfs.chunk-size=64k (records across chunk
# boundaries); through the preload library (LD_PRELOAD, no BenchFS code in
# the program): IOR easy and hard and mdtest with -a POSIX on /benchfs/...,
# one file written by -a BENCHFS and checked by -a POSIX in one job, and
# pfind (../shared/vendor/pfind-*.tar.gz) counting a 10,000-file tree,
# and a small IO500 (scripts/io500: every phase, find through the preload,
# next to the same on a POSIX folder); and a control run that reads with another data signature
# than it wrote: the checks below must catch it, or they catch nothing.
# A run fails on a nonzero exit, a timeout, an ERROR/WARNING line (IOR's
# "Incorrect data on read", mdtest's "ERROR: verifying the data", which
# mdtest does not put in its exit status) or a BenchFS error log line, and
# when its BENCHFS_DIR (a fresh temp dir) is not empty afterwards.
#
# Runs in the build directory (make check).  IOR's source:
# ../shared/vendor/ior-5fcf0ba.tar.gz beside the source tree's root, or
# IOR_SRC=/path/to/ior when set; with neither: SKIP (77).  Also SKIP: a
# build without libbenchfs.so or with sanitizers (IOR is not instrumented).
# Work folder (BENCHFS_IOR_TEST_WORK; default
# ${TMPDIR:-/tmp}/benchfs-ior-test-<checksum of this build directory's path>):
# prefix/ (the install), ior/ (the IOR build, kept: rebuilt only when the
# IOR source, ior-benchfs.patch or apply.sh change) and logs/.  Each
# mpirun: timeout BENCHFS_IOR_RUN_TIMEOUT (default 120 s).
set -u
me=ior_test
srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=$(pwd)
np=2
tmo=${BENCHFS_IOR_RUN_TIMEOUT:-120}
t0=$(date +%s)

tarball=$srcdir/../shared/vendor/ior-5fcf0ba.tar.gz
if [ -z "${IOR_SRC:-}" ] && [ ! -f "$tarball" ]; then
  echo "SKIP: no IOR source (../shared/vendor/ior-5fcf0ba.tar.gz or IOR_SRC)"
  exit 77
fi
if [ ! -f .libs/libbenchfs.so ]; then
  echo "SKIP: no libbenchfs.so in $build (IOR links the shared library)"
  exit 77
fi
if ldd .libs/libbenchfs.so | grep -q -E 'lib(a|t|ub)san'; then
  echo "SKIP: sanitizer build (IOR is not built with the sanitizer runtime libbenchfs.so needs)"
  exit 77
fi

id=$(printf '%s' "$build" | cksum | cut -d' ' -f1)
work=${BENCHFS_IOR_TEST_WORK:-${TMPDIR:-/tmp}/benchfs-ior-test-$id}
mkdir -p "$work/logs" || { echo "FAIL: cannot make $work"; exit 1; }
work=$(cd "$work" && pwd)
case $work/ in
  "$srcdir"/*) echo "FAIL: work folder $work is inside the source tree"; exit 1 ;;
esac
prefix=$work/prefix
echo "work folder: $work"

# --- BenchFS of this build, installed into $prefix ---------------------------
# All directories given, so nothing lands outside $prefix whatever configure
# was told; install -C keeps the header's time stamp when it is unchanged
# (IOR's aiori-BENCHFS.o depends on it).  The outer make's flags (jobserver,
# TESTS=...) are not for this make.
echo "=== make install prefix=$prefix"
if ! (unset MAKEFLAGS MFLAGS MAKELEVEL
      make install prefix="$prefix" exec_prefix="$prefix" bindir="$prefix/bin" \
        libdir="$prefix/lib" includedir="$prefix/include" INSTALL_DATA='install -C -m 644') \
      >"$work/logs/benchfs-install.log" 2>&1; then
  tail -30 "$work/logs/benchfs-install.log"
  echo "FAIL: make install ($work/logs/benchfs-install.log)"
  exit 1
fi
# benchfs.pc names the configured prefix: point it at this one.
pc=$prefix/lib/pkgconfig/benchfs.pc
sed -e "s|^prefix=.*|prefix=$prefix|" -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
    -e 's|^libdir=.*|libdir=${exec_prefix}/lib|' -e 's|^includedir=.*|includedir=${prefix}/include|' \
    "$pc" >"$pc.tmp" && mv "$pc.tmp" "$pc" || { echo "FAIL: cannot rewrite $pc"; exit 1; }

# --- IOR with the BENCHFS backend -----------------------------------------------
echo "=== scripts/build-ior $work $prefix (IOR from ${IOR_SRC:-$tarball})"
b0=$(date +%s)
rc=0
IOR_GIT='' IOR_TARBALL=$tarball nice "$srcdir/scripts/build-ior" "$work" "$prefix" || rc=$?
case $rc in
  0) ;;
  3) echo "SKIP: no IOR source"; exit 77 ;;
  *) echo "FAIL: scripts/build-ior exited with $rc"; exit 1 ;;
esac
echo "IOR ready in $(( $(date +%s) - b0 )) s"
ior=$work/ior/src/ior
mdtest=$work/ior/src/mdtest

# --- Runs -----------------------------------------------------------------------
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=${MPIRUN:-mpirun}
data=
out=
cleanup() { [ -z "$data" ] || rm -rf "$data"; [ -z "$out" ] || rm -f "$out" "$out.err"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail=0
failed_runs=

# run NAME BACKEND PROGRAM ARGS...: one mpirun at $np ranks with
# BENCHFS_DIR in a fresh temp dir, removed afterwards; prints the output and
# keeps it in $out until the next run.  Sets run_rc (exit status), run_err
# (1: error lines in the output) and run_left (1: BENCHFS_DIR not empty).
run() {
  name=$1 backend=$2
  shift 2
  [ -z "$out" ] || rm -f "$out"
  data=$(mktemp -d "${TMPDIR:-/tmp}/benchfs-ior-test-data.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
  out=$(mktemp "${TMPDIR:-/tmp}/benchfs-ior-test-out.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
  echo "=== $name: BENCHFS_BACKEND=$backend BENCHFS_DIR=$data" \
    "mpirun -np $np $(echo "$*" | sed "s|$work/ior/src/||")"
  r0=$(date +%s)
  run_rc=0
  env BENCHFS_BACKEND="$backend" BENCHFS_DIR="$data" "${TIMEOUT:-timeout}" -k 10 "$tmo" \
    "$mpirun" --oversubscribe --bind-to none -x BENCHFS_BACKEND -x BENCHFS_DIR \
    ${BENCHFS_LOG_LEVEL:+-x BENCHFS_LOG_LEVEL} -np "$np" "$@" >"$out" 2>&1 </dev/null || run_rc=$?
  cat "$out"
  echo "=== $name: exit $run_rc, $(( $(date +%s) - r0 )) s"
  # IOR's data check failures are WARNINGs ("Incorrect data on read (N
  # errors found)"; its exit status is the error count, so 256 errors exit
  # 0); mdtest reports them as "ERROR: verifying the data" and exits 0.
  run_err=0
  if grep -n -E 'ERROR|WARNING|Incorrect data|errors found|[Uu]nable to|\[benchfs[^]]*(error|critical)' "$out" >"$out.err"; then
    run_err=1
  fi
  run_left=0
  if [ -n "$(ls -A "$data")" ]; then
    echo "--- $name: left behind in BENCHFS_DIR:"
    find "$data" | head -10
    run_left=1
  fi
  rm -rf "$data"
  data=
}
failed() { # NAME WHY: one failure of the test
  echo "FAIL: $1: $2"
  fail=1
  failed_runs="$failed_runs
  $1: $2"
}
# check NAME BACKEND PROGRAM ARGS...: a run that must be clean.
check() {
  run "$@"
  what="$1 ($2)"
  case $run_rc in
    0) ;;
    124 | 137) failed "$what" "timed out after ${tmo}s" ;;
    *) failed "$what" "exit status $run_rc" ;;
  esac
  if [ $run_err -eq 1 ]; then
    head -10 "$out.err" | sed 's/^/    /'
    failed "$what" "error lines in the output (above)"
  fi
  [ $run_left -eq 0 ] || failed "$what" "files left in BENCHFS_DIR"
  rm -f "$out.err"
}

# --- IOR's configure --with-benchfs (our patch), all its forms -------------------
# In a copy of the patched, bootstrapped tree (a configured tree refuses a
# second configure elsewhere): the default finds BenchFS through pkg-config
# or leaves the backend out; yes requires it; no leaves it out; PREFIX (what
# scripts/build-ior uses above) takes the one installed there.
cfg=$work/ior-configure-test
rm -rf "$cfg" && mkdir -p "$cfg" &&
  (cd "$work/ior" && tar -cf - --exclude='*.o' --exclude='.deps' --exclude=Makefile --exclude=config.h \
    --exclude=config.status --exclude=config.log --exclude=stamp-h1 .) | (cd "$cfg" && tar -xf -) ||
  { echo "FAIL: cannot copy $work/ior"; exit 1; }
# configure_case NAME WANT (built|absent|error) [VAR=VALUE] -- CONFIGURE-ARGS...
configure_case() {
  cname=$1 want=$2
  shift 2
  cenv=
  [ "$1" = -- ] || { cenv=$1; shift; }
  shift
  rm -f "$cfg/src/config.h"
  crc=0
  (cd "$cfg" && env -u PKG_CONFIG_PATH $cenv ./configure "$@") >"$work/logs/ior-configure-$cname.log" 2>&1 || crc=$?
  if [ $crc -ne 0 ]; then got=error
  elif grep -q '^#define USE_BENCHFS_AIORI' "$cfg/src/config.h"; then got=built
  else got=absent; fi
  echo "--- IOR configure, $cname: $got (want $want)"
  [ "$got" = "$want" ] || failed "IOR configure, $cname" "got $got, want $want ($work/logs/ior-configure-$cname.log)"
  if [ "$want" = error ]; then
    grep -q -- '--with-benchfs' "$work/logs/ior-configure-$cname.log" ||
      failed "IOR configure, $cname" "the error does not name --with-benchfs"
  fi
}
c0=$(date +%s)
configure_case "default, benchfs.pc found" built PKG_CONFIG_PATH="$prefix/lib/pkgconfig" --
configure_case "default, no benchfs.pc" absent --
configure_case "--with-benchfs=yes, no benchfs.pc" error -- --with-benchfs=yes
configure_case "--with-benchfs=yes" built PKG_CONFIG_PATH="$prefix/lib/pkgconfig" -- --with-benchfs=yes
configure_case "--with-benchfs=no" absent PKG_CONFIG_PATH="$prefix/lib/pkgconfig" -- --with-benchfs=no
configure_case "--with-benchfs=PREFIX" built -- --with-benchfs="$prefix"
configure_case "--with-benchfs=a folder without BenchFS" error -- --with-benchfs="$work/logs"
rm -rf "$cfg"
echo "=== IOR configure cases: $(( $(date +%s) - c0 )) s"

for backend in uring memory; do
  check "IOR easy" $backend "$ior" -a BENCHFS -F -w -r -W -R -t 1m -b 16m -o /ior_easy
  grep -q '^read ' "$out" || failed "IOR easy ($backend)" "no read results"
  check "IOR hard" $backend "$ior" -a BENCHFS -w -r -W -R -t 47008 -b 47008 -s 200 -o /ior_hard
  grep -q '^read ' "$out" || failed "IOR hard ($backend)" "no read results"
  check "mdtest" $backend "$mdtest" -a BENCHFS -n 500 -u -w 3901 -e 3901 -X -d /mdtest
  grep -q 'File read' "$out" || failed "mdtest ($backend)" "no File read rate"
done

# The IOR option reaches BenchFS: its start-up log line names the chunk size.
BENCHFS_LOG_LEVEL=info check "IOR hard, 64k chunks" uring "$ior" -a BENCHFS --benchfs.chunk-size=64k \
  -w -r -W -R -t 47008 -b 47008 -s 200 -o /ior_hard_64k
grep -q 'chunk size 65536' "$out" || failed "IOR hard, 64k chunks" "BenchFS did not start with 64 KiB chunks"

# Control: test 0 writes with one data signature and keeps the file, test 1
# reads it back expecting another.  The checks above must see that.
cat >"$work/control.ior" <<'EOS'
IOR START
    api=BENCHFS
    testFile=/control
    blockSize=1m
    transferSize=256k
    setTimeStampSignature=11
    keepFile=1
    writeFile=1
    readFile=0
RUN
    setTimeStampSignature=12
    keepFile=0
    writeFile=0
    readFile=1
    checkRead=1
RUN
IOR STOP
EOS
run "control: read with the wrong signature" memory "$ior" -f "$work/control.ior"
if [ $run_rc -ne 0 ] && [ $run_err -eq 1 ] && grep -q 'Incorrect data on read' "$out"; then
  echo "--- control: caught (exit $run_rc, \"$(grep -m1 'Incorrect data' "$out")\")"
else
  failed "control" "a read of wrong data was not caught (exit $run_rc, error lines: $run_err)"
fi
[ $run_left -eq 0 ] || failed "control" "files left in BENCHFS_DIR"
rm -f "$out.err"

# --- The preload library: IOR's own POSIX backend and pfind, no BenchFS code -------
# Under LD_PRELOAD=libbenchfs-preload.so BenchFS starts in MPI_Init and
# paths under /benchfs are its.  /benchfs must not exist on this machine:
# then a call that missed the preload fails instead of writing to disk.
preload=$prefix/lib/libbenchfs-preload.so
if [ -e /benchfs ]; then
  failed "preload" "/benchfs exists on this machine: the preload runs could not tell BenchFS from the disk"
else
  check "IOR easy, -a POSIX via the preload" uring -x LD_PRELOAD="$preload" \
    "$ior" -a POSIX -F -w -r -W -R -t 1m -b 16m -o /benchfs/ior_easy
  grep -q '^read ' "$out" || failed "IOR easy via the preload" "no read results"
  check "IOR hard, -a POSIX via the preload" memory -x LD_PRELOAD="$preload" \
    "$ior" -a POSIX -w -r -W -R -t 47008 -b 47008 -s 200 -o /benchfs/ior_hard
  grep -q '^read ' "$out" || failed "IOR hard via the preload" "no read results"
  check "mdtest, -a POSIX via the preload" uring -x LD_PRELOAD="$preload" \
    "$mdtest" -a POSIX -n 500 -u -w 3901 -e 3901 -X -d /benchfs/mdtest
  grep -q 'File read' "$out" || failed "mdtest via the preload" "no File read rate"
  # One job, one file: written by -a BENCHFS, read back and checked by -a
  # POSIX, under the same name.
  cat >"$work/same-file.ior" <<'EOS'
IOR START
    testFile=/benchfs/same
    setTimeStampSignature=21
    blockSize=1m
    transferSize=256k
    api=BENCHFS
    keepFile=1
    writeFile=1
    readFile=0
RUN
    api=POSIX
    keepFile=0
    writeFile=0
    readFile=1
    checkRead=1
RUN
IOR STOP
EOS
  check "BENCHFS writes, POSIX reads /benchfs/same via the preload" uring -x LD_PRELOAD="$preload" \
    "$ior" -f "$work/same-file.ior"
  [ "$(grep -c '^read ' "$out")" -ge 1 ] || failed "same file" "no read results"

  # pfind (IO500's find phase) on a tree made through the C API, then all of
  # IO500.  scripts/io500 builds pfind and IO500 in this work folder, over
  # the IOR built above.
  if [ -f "$srcdir/../shared/vendor/pfind-aaba722.tar.gz" ] &&
     [ -f "$srcdir/../shared/vendor/io500-02091cf.tar.gz" ]; then
    echo "=== scripts/io500 --build-only (pfind, IO500)"
    if ! IOR_GIT='' IOR_TARBALL=$tarball "$srcdir/scripts/io500" --build-only --prefix "$prefix" \
         --work "$work"; then
      failed "IO500" "scripts/io500 could not build it"
    else
      if [ ! -x "$work/find_tree" ] || [ "$work/pfind/pfind.a" -nt "$work/find_tree" ] ||
         [ "$srcdir/tests/preload/find_tree.c" -nt "$work/find_tree" ]; then
        mpicc -std=gnu99 -O2 -Wall -I"$work/pfind/src" -I"$prefix/include" -o "$work/find_tree" \
          "$srcdir/tests/preload/find_tree.c" "$work/pfind/pfind.a" -L"$prefix/lib" -lbenchfs -lm \
          -Wl,-rpath,"$prefix/lib" || failed "pfind" "find_tree did not build"
      fi
      check "pfind -name '*7*' -size 3901c via the preload" uring -x LD_PRELOAD="$preload" \
        "$work/find_tree" -name '*7*' -size 3901c
      grep -q 'expected 1150, pfind found 1150 ' "$out" || failed "pfind" "wrong count (above)"
      check "pfind, every file, via the preload" memory -x LD_PRELOAD="$preload" "$work/find_tree"
      grep -q 'expected 10000, pfind found 10000 ' "$out" || failed "pfind, every file" "wrong count (above)"

      # Every IO500 phase, small, next to the same on a POSIX folder; it
      # fails on any phase error, a data check, a find count that differs
      # from the files written or from POSIX's, or files left behind.
      cmpdir=${TMPDIR:-/tmp}
      [ ! -d /dev/shm ] || cmpdir=/dev/shm
      echo "=== scripts/io500 --np 2 --stonewall 2 --sizes small --compare $cmpdir"
      i0=$(date +%s)
      if ! IOR_GIT='' IOR_TARBALL=$tarball "${TIMEOUT:-timeout}" -k 10 600 "$srcdir/scripts/io500" \
           --np 2 --stonewall 2 --sizes small --prefix "$prefix" --work "$work" \
           --compare "$cmpdir" -- --bind-to none; then
        failed "IO500" "a phase failed (above)"
      fi
      echo "=== IO500: $(( $(date +%s) - i0 )) s"
    fi
  else
    echo "SKIP (part): no pfind or IO500 source in ../shared/vendor: pfind and IO500 not run"
  fi
  [ ! -e /benchfs ] || failed "preload" "a run made /benchfs on this machine's disk"
fi

echo "=== $me: $(( $(date +%s) - t0 )) s in all"
if [ $fail -ne 0 ]; then
  echo "FAILED:$failed_runs"
fi
exit $fail
