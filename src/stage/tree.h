// The two sides of a stage: a directory tree outside (POSIX) and one in
// BenchFS (the public C API).  The stage logic (stage.cc) copies from one
// Tree to the other without knowing which is which.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace benchfs::stage {

enum class Kind : uint8_t { kDirectory, kFile, kOther };

// What a stage keeps of a file or directory.  `path` is relative to the
// root of the stage ("" for the root, "a/b" below it).
struct Entry {
  std::string path;
  Kind kind = Kind::kOther;
  mode_t mode = 0;  // permission bits and type
  uint64_t size = 0;
  struct timespec mtime {};
};

// A file system the stage reads from or writes to.  Every call returns 0
// (or a descriptor, or a count) or -errno; paths are absolute in the tree.
class Tree {
 public:
  virtual ~Tree() = default;
  // "outside" or "BenchFS", for messages.
  virtual const char* name() const = 0;
  // Attributes of path itself (a symbolic link is kOther).
  virtual int stat(const std::string& path, Entry* entry) = 0;
  // Every entry of the directory but "." and "..", with attributes.
  virtual int list(const std::string& dir, std::vector<Entry>* entries) = 0;
  // Creates a directory; an existing directory is success, an existing
  // file ENOTDIR.
  virtual int make_directory(const std::string& path, mode_t mode) = 0;
  virtual int open(const std::string& path, int flags, mode_t mode) = 0;
  virtual int64_t pread(int fd, char* buf, size_t len, uint64_t offset) = 0;
  virtual int64_t pwrite(int fd, const char* buf, size_t len, uint64_t offset) = 0;
  virtual int fstat(int fd, Entry* entry) = 0;
  virtual int close(int fd) = 0;
  // True if a file created with permission bits `mode` gets exactly them,
  // so that the copy need not set them again.
  virtual bool creates_with(mode_t mode) const = 0;
  // Sets the modification time, and the permission bits if set_mode.
  virtual int set_attributes(const std::string& path, bool set_mode, mode_t mode,
                             const timespec& mtime) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int unlink(const std::string& path) = 0;
  // Files are written under a temporary name and renamed into place once
  // complete, so that no crash leaves a truncated file under the final name.
  virtual bool writes_under_temporary_names() const = 0;
};

// The local (or parallel) file system, through POSIX calls.
class OutsideTree : public Tree {
 public:
  const char* name() const override { return "outside"; }
  int stat(const std::string& path, Entry* entry) override;
  int list(const std::string& dir, std::vector<Entry>* entries) override;
  int make_directory(const std::string& path, mode_t mode) override;
  int open(const std::string& path, int flags, mode_t mode) override;
  int64_t pread(int fd, char* buf, size_t len, uint64_t offset) override;
  int64_t pwrite(int fd, const char* buf, size_t len, uint64_t offset) override;
  int fstat(int fd, Entry* entry) override;
  int close(int fd) override;
  // No: a file is written as 0600, so that every rank may open it for
  // writing whatever its final mode.
  bool creates_with(mode_t) const override { return false; }
  int set_attributes(const std::string& path, bool set_mode, mode_t mode,
                     const timespec& mtime) override;
  int rename(const std::string& from, const std::string& to) override;
  int unlink(const std::string& path) override;
  bool writes_under_temporary_names() const override { return true; }
};

// The running BenchFS, through its C API.  Its files are published to the
// other ranks by close, so writing in place and removing a failed file is
// enough: no job outlives a crash of BenchFS.
class BenchfsTree : public Tree {
 public:
  // umask: what BenchFS masks creates with (the process's at benchfs_init).
  explicit BenchfsTree(mode_t umask) : umask_(umask) {}
  const char* name() const override { return "BenchFS"; }
  int stat(const std::string& path, Entry* entry) override;
  int list(const std::string& dir, std::vector<Entry>* entries) override;
  int make_directory(const std::string& path, mode_t mode) override;
  int open(const std::string& path, int flags, mode_t mode) override;
  int64_t pread(int fd, char* buf, size_t len, uint64_t offset) override;
  int64_t pwrite(int fd, const char* buf, size_t len, uint64_t offset) override;
  int fstat(int fd, Entry* entry) override;
  int close(int fd) override;
  // BenchFS checks no permission on open: creating with the final bits
  // is safe, and saves a request per file unless the umask clears some.
  bool creates_with(mode_t mode) const override { return (mode & 07777 & umask_) == 0; }
  int set_attributes(const std::string& path, bool set_mode, mode_t mode,
                     const timespec& mtime) override;
  int rename(const std::string& from, const std::string& to) override;
  int unlink(const std::string& path) override;
  bool writes_under_temporary_names() const override { return false; }

 private:
  mode_t umask_;
};

}  // namespace benchfs::stage
