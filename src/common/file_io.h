// Whole-range pread/pwrite on a file descriptor, as the chunk stores and
// the client's same-host direct I/O need them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace benchfs {

// Writes len bytes at offset, retrying short writes and EINTR.  Returns len,
// the bytes stored before an error (a device that filled up part way), or
// -errno when nothing was stored.
int64_t pwrite_full(int fd, const char* buf, size_t len, uint64_t offset);
// Reads len bytes at offset; bytes past the file's end read as zeros (a
// hole).  Returns len or -errno.
int64_t pread_full(int fd, char* buf, size_t len, uint64_t offset);

}  // namespace benchfs
