// Path handling for the BenchFS namespace.
#pragma once

#include <string>
#include <string_view>

namespace benchfs {

// Normalises an absolute path: collapses repeated slashes, drops "." and
// trailing slashes, resolves ".." lexically (".." of "/" is "/"; "/f/../g"
// is "/g" whatever "/f" is).  Returns 0 and sets *out, or an errno: EINVAL
// for a relative or empty path (BenchFS has no working directory),
// ENAMETOOLONG for a path over PATH_MAX or a component over NAME_MAX.
//
// *dir_only, when given, tells whether the path ended in "/", "/." or
// "/..": POSIX says such a path names a directory, and the API checks that
// (src/api/files.cc); the normalised path itself no longer shows it.
int normalize_path(std::string_view path, std::string* out, bool* dir_only = nullptr);

// The mount prefix: paths under it are BenchFS paths with the prefix
// removed, in the C API (so IOR's backend and benchfs-bench take them) and
// in the preload library, which sends them to BenchFS instead of the kernel.
constexpr char kDefaultMount[] = "/benchfs";

// Checks and normalises a BENCHFS_MOUNT value: an absolute path other than
// "/".  Returns 0 and sets *mount, or EINVAL.
int parse_mount(std::string_view value, std::string* mount);

// Whether the normalised path lies under mount (a parse_mount result); if
// so *inside, when given, is the BenchFS path: "/benchfs/a" -> "/a",
// "/benchfs" -> "/".  "/benchfsx" is not under "/benchfs".
bool under_mount(std::string_view normalized, std::string_view mount, std::string* inside = nullptr);

// Parent of a normalised path ("/a/b" -> "/a", "/a" -> "/", "/" -> "/").
std::string parent_path(const std::string& normalized);

// Last component of a normalised path ("/a/b" -> "b", "/" -> "").
std::string base_name(const std::string& normalized);

// Symbolic links: the most a path resolution follows (Linux's MAXSYMLINKS);
// one more is ELOOP.
constexpr int kMaxSymlinks = 40;

// The path that `path` names when its prefix `link` (a normalised path:
// `path` itself or an ancestor of it) is a symbolic link with `target`: an
// absolute target replaces the prefix, a relative one is read from the
// link's directory, and the rest of `path` follows; ".." is lexical, as
// everywhere in BenchFS.  A target is always a BenchFS path ("/x" is "/x"
// inside BenchFS, never outside).  0 and *out normalised, or ENAMETOOLONG
// (EINVAL if `link` is not a prefix of `path`).
int follow_link(const std::string& path, const std::string& link, const std::string& target,
                std::string* out);

}  // namespace benchfs
