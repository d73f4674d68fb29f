#!/bin/sh
# Adds the BenchFS backend to an IOR source tree (IOR 4.0.0 or main):
# copies aiori-BENCHFS.c into src/ and applies ior-benchfs.patch.
# Idempotent: a tree that already has the patch only gets the newer .c file.
#
#   ior-patches/apply.sh /path/to/ior
#   cd /path/to/ior && ./bootstrap && ./configure PKG_CONFIG_PATH=<benchfs prefix>/lib/pkgconfig && make
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ior=${1:?usage: $0 /path/to/ior-source-tree}

if [ ! -f "$ior/src/aiori.h" ] || [ ! -f "$ior/configure.ac" ]; then
    echo "$0: $ior is not an IOR source tree (no src/aiori.h, configure.ac)" >&2
    exit 1
fi
command -v patch >/dev/null || { echo "$0: patch(1) not found: apt-get install patch" >&2; exit 1; }

cp "$here/aiori-BENCHFS.c" "$ior/src/aiori-BENCHFS.c"
echo "copied aiori-BENCHFS.c to $ior/src/"

if grep -q USE_BENCHFS_AIORI "$ior/configure.ac" && grep -q benchfs_aiori "$ior/src/aiori.c"; then
    echo "ior-benchfs.patch is already applied"
    exit 0
fi

# The patch's hunks sit on context that is identical in IOR 4.0.0 and main,
# so it applies without fuzz to both; --fuzz=2 is only a fallback for other
# versions (check the result: it then says "with fuzz").
if (cd "$ior" && patch -p1 --forward --no-backup-if-mismatch --dry-run --fuzz=0 < "$here/ior-benchfs.patch" >/dev/null); then
    (cd "$ior" && patch -p1 --forward --no-backup-if-mismatch --fuzz=0 < "$here/ior-benchfs.patch")
elif (cd "$ior" && patch -p1 --forward --no-backup-if-mismatch --dry-run --fuzz=2 < "$here/ior-benchfs.patch" >/dev/null); then
    echo "warning: ior-benchfs.patch needs fuzz on this IOR version" >&2
    (cd "$ior" && patch -p1 --forward --no-backup-if-mismatch --fuzz=2 < "$here/ior-benchfs.patch")
else
    echo "$0: ior-benchfs.patch does not apply to $ior (tested: IOR 4.0.0 and main)" >&2
    (cd "$ior" && patch -p1 --forward --no-backup-if-mismatch --dry-run --fuzz=2 < "$here/ior-benchfs.patch") >&2 || true
    exit 1
fi
echo "applied ior-benchfs.patch; now: cd $ior && ./bootstrap && ./configure PKG_CONFIG_PATH=<benchfs prefix>/lib/pkgconfig && make"
