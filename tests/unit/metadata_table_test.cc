// Tests of src/store/metadata_table.h.
#include "store/metadata_table.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace benchfs {
namespace {

Attr file_attr(uint64_t id, uint64_t size = 0) {
  Attr a;
  a.id = id;
  a.mode = S_IFREG | 0644;
  a.nlink = 1;
  a.size = size;
  return a;
}

Attr dir_attr(uint64_t id) {
  Attr a;
  a.id = id;
  a.mode = S_IFDIR | 0755;
  a.nlink = 2;
  return a;
}

}  // namespace

TEST_CASE("MetadataTable: empty table") {
  MetadataTable t;
  CHECK(t.size() == 0);
  CHECK(t.find("/") == nullptr);
  CHECK(t.find("/a") == nullptr);
  CHECK_FALSE(t.has_children("/"));
  t.erase("/nothing");  // erasing an absent path is harmless
  CHECK(t.size() == 0);
}

TEST_CASE("MetadataTable: insert, find, erase") {
  MetadataTable t;
  Attr& inserted = t.insert("/a", file_attr(11, 100));
  CHECK(inserted.id == 11);
  CHECK(t.size() == 1);

  Attr* a = t.find("/a");
  REQUIRE(a != nullptr);
  CHECK(a == &inserted);
  CHECK(a->id == 11);
  CHECK(a->size == 100);
  CHECK(a->is_reg());

  // Lookups are exact: no prefix or normalisation games.
  CHECK(t.find("/a/") == nullptr);
  CHECK(t.find("/ab") == nullptr);
  CHECK(t.find("a") == nullptr);
  CHECK(t.find("/") == nullptr);

  t.insert("/b", dir_attr(12));
  CHECK(t.size() == 2);
  REQUIRE(t.find("/b") != nullptr);
  CHECK(t.find("/b")->is_dir());

  t.erase("/a");
  CHECK(t.size() == 1);
  CHECK(t.find("/a") == nullptr);
  CHECK(t.find("/b") != nullptr);
  t.erase("/a");  // twice
  CHECK(t.size() == 1);
}

TEST_CASE("MetadataTable: find returns a mutable entry") {
  MetadataTable t;
  t.insert("/f", file_attr(1));
  Attr* a = t.find("/f");
  REQUIRE(a != nullptr);
  a->size = 4096;
  a->mtime_ns = 123;
  Attr* again = t.find("/f");
  REQUIRE(again != nullptr);
  CHECK(again->size == 4096);
  CHECK(again->mtime_ns == 123);
}

TEST_CASE("MetadataTable: pointers stay valid while other entries are inserted") {
  MetadataTable t;
  t.insert("/keep", file_attr(7));
  Attr* keep = t.find("/keep");
  for (int i = 0; i < 1000; ++i) t.insert("/many/" + std::to_string(i), file_attr(100 + i));
  CHECK(t.size() == 1001);
  CHECK(keep == t.find("/keep"));
  CHECK(keep->id == 7);
  for (int i = 0; i < 1000; ++i) {
    Attr* a = t.find("/many/" + std::to_string(i));
    REQUIRE(a != nullptr);
    CHECK(a->id == static_cast<uint64_t>(100 + i));
  }
}

TEST_CASE("MetadataTable: has_children tracks entries by parent") {
  MetadataTable t;
  CHECK_FALSE(t.has_children("/d"));
  t.insert("/d/x", file_attr(1));
  CHECK(t.has_children("/d"));
  // Only the direct parent, and the parent itself need not be held here.
  CHECK(t.find("/d") == nullptr);
  CHECK_FALSE(t.has_children("/"));
  CHECK_FALSE(t.has_children("/d/x"));
  CHECK_FALSE(t.has_children("/dd"));
  CHECK_FALSE(t.has_children("/d/"));

  t.insert("/d/y", file_attr(2));
  t.insert("/d/sub/z", file_attr(3));
  CHECK(t.has_children("/d"));
  CHECK(t.has_children("/d/sub"));

  t.erase("/d/x");
  CHECK(t.has_children("/d"));  // /d/y is still there
  t.erase("/d/y");
  CHECK_FALSE(t.has_children("/d"));  // /d/sub/z is a grandchild, not a child
  CHECK(t.has_children("/d/sub"));
  t.erase("/d/sub/z");
  CHECK_FALSE(t.has_children("/d/sub"));
  CHECK(t.size() == 0);
}

TEST_CASE("MetadataTable: erasing the last child clears has_children") {
  MetadataTable t;
  t.insert("/dir", dir_attr(1));
  t.insert("/dir/only", file_attr(2));
  CHECK(t.has_children("/dir"));
  t.erase("/dir/only");
  CHECK_FALSE(t.has_children("/dir"));
  CHECK(t.find("/dir") != nullptr);
  // Re-adding a child sets it again.
  t.insert("/dir/again", file_attr(3));
  CHECK(t.has_children("/dir"));
}

TEST_CASE("MetadataTable: erasing an absent sibling leaves children alone") {
  MetadataTable t;
  t.insert("/p/a", file_attr(1));
  t.erase("/p/b");  // never inserted
  CHECK(t.has_children("/p"));
  CHECK(t.find("/p/a") != nullptr);
}

TEST_CASE("MetadataTable: entries directly under the root") {
  MetadataTable t;
  t.insert("/top", file_attr(1));
  CHECK(t.has_children("/"));
  t.insert("/other", dir_attr(2));
  t.erase("/top");
  CHECK(t.has_children("/"));
  t.erase("/other");
  CHECK_FALSE(t.has_children("/"));
}

TEST_CASE("MetadataTable: the root entry is not its own child") {
  MetadataTable t;
  t.insert("/", dir_attr(0));
  CHECK(t.size() == 1);
  REQUIRE(t.find("/") != nullptr);
  CHECK(t.find("/")->is_dir());
  CHECK_FALSE(t.has_children("/"));
  CHECK_FALSE(t.has_children(""));

  t.insert("/x", file_attr(5));
  CHECK(t.has_children("/"));
  t.erase("/");
  CHECK(t.find("/") == nullptr);
  CHECK(t.size() == 1);
  // Erasing the root must not disturb the index of its children.
  CHECK(t.has_children("/"));
  t.erase("/x");
  CHECK_FALSE(t.has_children("/"));
  CHECK(t.size() == 0);
}

TEST_CASE("MetadataTable: erase then insert the same path") {
  MetadataTable t;
  t.insert("/r/f", file_attr(1, 10));
  t.erase("/r/f");
  CHECK(t.find("/r/f") == nullptr);
  t.insert("/r/f", file_attr(2, 20));
  Attr* a = t.find("/r/f");
  REQUIRE(a != nullptr);
  CHECK(a->id == 2);
  CHECK(a->size == 20);
  CHECK(t.has_children("/r"));
  CHECK(t.size() == 1);
}

TEST_CASE("MetadataTable: list pages through a directory in name order") {
  MetadataTable t;
  t.insert("/d", dir_attr(1));
  for (int i = 0; i < 10; ++i) t.insert("/d/f" + std::to_string(i), file_attr(100 + i));
  t.insert("/d/sub", dir_attr(50));
  t.insert("/other/x", file_attr(7));  // not under /d
  std::vector<std::string> names;
  std::string after;
  // Pages of 3: every entry exactly once, in order, sub-directory typed.
  for (;;) {
    int taken = 0;
    t.list("/d", after, [&](const std::string& name, const MetadataTable::DirEntry& e) {
      if (taken == 3) return false;
      names.push_back(name);
      if (name == "sub") CHECK(S_ISDIR(e.mode));
      else CHECK(e.id == 100 + std::stoull(name.substr(1)));
      ++taken;
      return true;
    });
    if (taken == 0) break;
    after = names.back();
  }
  REQUIRE(names.size() == 11);
  for (size_t i = 1; i < names.size(); ++i) CHECK(names[i - 1] < names[i]);
  CHECK(names.back() == "sub");
  int none = 0;
  t.list("/missing", "", [&](const std::string&, const MetadataTable::DirEntry&) { return ++none, true; });
  CHECK(none == 0);
}

TEST_CASE("MetadataTable: a fence needs an empty directory and is counted") {
  MetadataTable t;
  Attr f;
  f.mode = S_IFREG | 0644;
  t.insert("/d/x", f);
  CHECK_FALSE(t.fence("/d", 7));  // an entry under it here
  CHECK_FALSE(t.fenced(7));
  t.erase("/d/x");
  CHECK(t.fence("/d", 7));
  CHECK(t.fenced(7));
  CHECK_FALSE(t.fenced(8));
  CHECK(t.fence("/d", 7));
  t.unfence(7);
  CHECK(t.fenced(7));  // one fence left
  t.unfence(7);
  CHECK_FALSE(t.fenced(7));
  t.unfence(7);  // nothing to lift: no effect
  CHECK_FALSE(t.fenced(7));
  CHECK(t.fence("/d", 7));
  CHECK(t.fenced(7));
}

TEST_CASE("MetadataTable: a symbolic link keeps its target until erased") {
  MetadataTable t;
  Attr link;
  link.id = 5;
  link.mode = S_IFLNK | 0777;
  link.size = 4;
  t.insert("/l", link, "/tgt");
  t.insert("/f", file_attr(6), "ignored");  // only links keep a target
  CHECK(t.link_target("/l") == "/tgt");
  CHECK(t.link_target("/f").empty());
  CHECK(t.link_target("/none").empty());
  t.erase("/l");
  CHECK(t.link_target("/l").empty());
  // The same name made a file again has no target.
  t.insert("/l", file_attr(7));
  CHECK(t.link_target("/l").empty());
}

}  // namespace benchfs
