// Path resolution: lookups and symbolic links.  Metadata lives where a
// path hashes to, so no server sees a whole path, and resolution is the
// client's.  A path is sent as it is first; only a call that fails with
// ENOENT (or meets a link it follows as the last component) looks for
// links, so a path without links costs what it did before links existed.
// This works because nothing can exist below a link's own path: a create
// looks its parent up (or knows its id), and a parent that is a link sends
// the create to the link's target instead (Client::parent_dir_id).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "client/calls.h"
#include "client/client.h"
#include "common/path.h"

namespace benchfs {

int Client::lookup(const std::string& path, Attr* attr, std::string* link_target) {
  StatReply reply;
  if (int err = call_metadata(StatArgs{path}, &reply)) return err;
  *attr = reply.attr;
  if (link_target) *link_target = std::move(reply.link_target);
  return 0;
}

int Client::stat(const std::string& path, Attr* attr) {
  return resolve(path, true, [&](const std::string& p, std::string* target) {
    if (int err = lookup(p, attr, target)) return err;
    return attr->is_link() ? ELOOP : 0;
  });
}

int Client::lstat(const std::string& path, Attr* attr, std::string* link_target) {
  return resolve(path, false, [&](const std::string& p, std::string*) {
    return lookup(p, attr, link_target);
  });
}

int Client::readlink(const std::string& path, std::string* target) {
  Attr a;
  if (int err = lstat(path, &a, target)) return err;
  return a.is_link() ? 0 : EINVAL;
}

int Client::symlink(const std::string& target, const std::string& linkpath) {
  if (linkpath == "/") return EEXIST;
  return resolve(linkpath, false, [&](const std::string& p, std::string*) {
    return create_in_parent(p, [&](uint64_t parent_id) {
      SymlinkArgs args{.path = p, .target = target};
      args.uid = static_cast<uint32_t>(geteuid());
      args.gid = static_cast<uint32_t>(getegid());
      args.parent_id = parent_id;
      return call_metadata(args);
    });
  });
}

int Client::through_link(const std::string& path, std::string* next) {
  // The deepest existing ancestor decides.  "/" always exists and is a
  // directory: asking for it would cost a message to its owner.
  std::string p = path;
  while (p != "/") {
    p = parent_path(p);
    if (p == "/") break;
    Attr a;
    std::string target;
    int err = lookup(p, &a, &target);
    if (err == ENOENT) continue;
    if (err) return err;
    if (a.is_dir()) return ENOENT;
    if (!a.is_link()) return ENOTDIR;
    return follow_link(path, p, target, next);
  }
  return ENOENT;
}

}  // namespace benchfs
