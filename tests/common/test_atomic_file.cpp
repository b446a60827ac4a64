#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/scratch.h"
#include "common/atomic_file.h"

namespace af = footfall::atomic_file;
namespace fs = std::filesystem;
using footfall::testing::slurp;
using footfall::testing::TempDir;

namespace {

constexpr af::Step kSteps[] = {af::Step::create, af::Step::write, af::Step::sync,
                               af::Step::close,  af::Step::rename, af::Step::sync_dir};

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

TEST_CASE("a write replaces the file and leaves nothing else behind") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "state.json";
  REQUIRE_FALSE(af::write(target, std::string("old\n")));
  CHECK(slurp(target) == "old\n");
  REQUIRE_FALSE(af::write(target, std::string("new content\n")));
  CHECK(slurp(target) == "new content\n");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("a failure at each step leaves the old file whole and no temporary behind") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "checkpoint";
  for (const af::Step failing : kSteps) {
    CAPTURE(af::to_string(failing));
    REQUIRE_FALSE(af::write(target, std::string("old\n")));
    af::Options options;
    options.fault = [failing](af::Step s) { return s == failing ? EIO : 0; };
    const auto error = af::write(target, std::string("new and longer\n"), options);
    REQUIRE(error);
    CHECK(error->step == failing);
    CHECK(error->sys_errno == EIO);
    CHECK(error->message().find("cannot " + std::string(af::to_string(failing))) == 0);
    if (failing == af::Step::sync_dir) {
      // The rename is done: the new file is in place, only its durability is in doubt.
      CHECK(slurp(target) == "new and longer\n");
      CHECK(error->path == dir.path());
    } else {
      CHECK(slurp(target) == "old\n");
      CHECK(error->path == (failing == af::Step::rename ? target : af::temporary_for(target)));
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"checkpoint"});
  }
}

TEST_CASE("an interrupted write goes on where it stopped") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "pid";
  int interrupts = 0;
  af::Options options;
  options.fault = [&](af::Step s) { return s == af::Step::write && interrupts++ < 3 ? EINTR : 0; };
  REQUIRE_FALSE(af::write(target, std::string("12345\n"), options));
  CHECK(interrupts == 4);
  CHECK(slurp(target) == "12345\n");
}

TEST_CASE("a new file takes the given mode; an existing one keeps its own when asked") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "probe.key";
  af::Options options;
  options.mode = 0600;
  REQUIRE_FALSE(af::write(target, std::string("k1"), options));
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  fs::permissions(target, fs::perms(0640));
  options.mode = 0644;
  options.keep_existing_mode = true;
  REQUIRE_FALSE(af::write(target, std::string("k2"), options));
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(slurp(target) == "k2");
}

TEST_CASE("a temporary left by a crash is replaced, not reused with its own mode") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "probe.key";
  {
    std::ofstream stale(af::temporary_for(target));
    stale << "half a key";
  }
  fs::permissions(af::temporary_for(target), fs::perms(0644));
  af::Options options;
  options.mode = 0600;
  REQUIRE_FALSE(af::write(target, std::string("whole key"), options));
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(slurp(target) == "whole key");
  CHECK(names_in(dir.path()) == std::vector<std::string>{"probe.key"});
}

TEST_CASE("a missing folder is an error at create that names the temporary") {
  TempDir dir("atomic-file");
  const auto target = dir.path() / "no-such-dir" / "file";
  const auto error = af::write(target, std::string("x"));
  REQUIRE(error);
  CHECK(error->step == af::Step::create);
  CHECK(error->sys_errno == ENOENT);
  CHECK(error->message().find(af::temporary_for(target).string()) != std::string::npos);
}
