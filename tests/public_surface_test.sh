#!/bin/sh
# What a consumer of the installed library sees: libbenchfs.so exports the
# benchfs_* C API, exactly the functions include/benchfs/benchfs.h declares,
# and nothing else, and `pkg-config --cflags benchfs` gives the include path
# and nothing else (no flags of the libraries BenchFS is built on).  Runs in
# the build directory (automake exports srcdir).
set -u
fail=0
lib=.libs/libbenchfs.so
header=${srcdir:-..}/include/benchfs/benchfs.h
if [ -f "$lib" ]; then
  api=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^benchfs_')
  other=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^benchfs_')
  echo "libbenchfs.so exports $api benchfs_* functions"
  # Declarations start a line with their type; comment lines start with
  # " *" or "/*".
  declared=$(sed -n 's/^[a-z].*[ *]\(benchfs_[a-z_]*\)(.*/\1/p' "$header" | sort)
  exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep '^benchfs_' | sort)
  if [ "$declared" != "$exported" ]; then
    echo "FAIL: the exports differ from the functions benchfs.h declares (< declared, > exported):"
    printf '%s\n' "$declared" >declared.$$
    printf '%s\n' "$exported" | diff declared.$$ - | grep '^[<>]'
    rm -f declared.$$
    fail=1
  fi
  # 32 with symlink, readlink and lstat: neither list may come out empty.
  [ "$api" -ge 32 ] || { echo "FAIL: fewer benchfs_* exports than the API has"; fail=1; }
  if [ -n "$other" ]; then
    echo "FAIL: libbenchfs.so exports symbols outside the C API:"
    echo "$other" | c++filt | head -20
    fail=1
  fi
else
  echo "no shared library in this build (static only): export check skipped"
fi
includedir=$(PKG_CONFIG_PATH=. pkg-config --variable=includedir benchfs)
cflags=$(PKG_CONFIG_PATH=. pkg-config --cflags benchfs | sed 's/ *$//')
echo "pkg-config --cflags benchfs: $cflags"
case "$includedir" in
  /usr/include) want= ;;  # pkg-config drops the system include path
  *) want="-I$includedir" ;;
esac
[ "$cflags" = "$want" ] || { echo "FAIL: expected '$want'"; fail=1; }
exit $fail
