// Path handling for the BenchFS namespace.
#pragma once

#include <string>
#include <string_view>

namespace benchfs {

// Normalises an absolute path: collapses repeated slashes, drops "." and
// trailing slashes, resolves ".." (".." of "/" is "/").  Returns 0 and sets
// *out, or an errno: EINVAL for a relative or empty path, ENAMETOOLONG for a
// path over PATH_MAX or a component over NAME_MAX.
int normalize_path(std::string_view path, std::string* out);

// Parent of a normalised path ("/a/b" -> "/a", "/a" -> "/", "/" -> "/").
std::string parent_path(const std::string& normalized);

// Last component of a normalised path ("/a/b" -> "b", "/" -> "").
std::string base_name(const std::string& normalized);

}  // namespace benchfs
