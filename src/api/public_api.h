// The public C API as this library defines it.  The library is compiled
// with hidden visibility (only the benchfs_* functions are exported from
// libbenchfs.so; see Makefile.am), so the API's declarations are given
// default visibility here, where the definitions include them.
#pragma once

#pragma GCC visibility push(default)
#include "benchfs/benchfs.h"
#pragma GCC visibility pop
