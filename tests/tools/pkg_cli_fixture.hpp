#pragma once

// The fixture of the updatehub-pkg command-line tests: runs the real binary of this build in a
// fresh directory, with the test packages' key (TestPackagesDir) unless a test says otherwise.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::tools::cli_test {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using uh::testing::PkgTool;
using uh::testing::ReadFile;
using uh::testing::RunResult;
using uh::testing::TempDir;
using uh::testing::TestPackagesDir;
using uh::testing::TestPackageUid;
using uh::testing::WriteFile;

inline constexpr int kOk = 0;
inline constexpr int kError = 1;
inline constexpr int kUsage = 2;
inline constexpr int kMalformed = 3;
inline constexpr int kSignature = 4;

// The product of the test packages and of upstream's.
inline const std::string kCliProduct =
    "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";

inline std::string Describe(const RunResult& result) {
  return "status " + std::to_string(result.status) + "\nstdout: " + result.out +
         "\nstderr: " + result.err;
}

// The names in a directory, to check that a failed command left nothing behind.
inline std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

class PkgCli : public ::testing::Test {
 protected:
  static RunResult Pkg(std::vector<std::string> args) {
    args.insert(args.begin(), PkgTool().string());
    return uh::testing::Run(args);
  }

  fs::path File(const std::string& name, std::string_view content) const {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    WriteFile(path, content);
    return path;
  }

  // `inspect --json` of a package, parsed.
  static json Inspect(const fs::path& package) {
    const RunResult result = Pkg({"inspect", "--json", package.string()});
    EXPECT_EQ(result.status, kOk) << Describe(result);
    return json::parse(result.out);
  }

  // Creates a package signed with the test packages' key; returns its path.
  fs::path Create(const std::string& name, std::vector<std::string> args) const {
    const fs::path out = dir_ / name;
    std::vector<std::string> argv = {"create",       "--product", kCliProduct, "--key",
                                     Key().string(), "-o",        out.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult result = Pkg(argv);
    EXPECT_EQ(result.status, kOk) << Describe(result);
    return out;
  }

  // Copies a test package into the test directory, to be changed there.
  fs::path CopyOf(const std::string& name) const {
    const fs::path copy = dir_ / name;
    WriteFile(copy, ReadFile(TestPackagesDir() / name));
    return copy;
  }

  // `extract` of a package into dir_/name (objects by file name, metadata, signature).
  fs::path Extracted(const fs::path& package, const std::string& name) const {
    const fs::path out = dir_ / name;
    const RunResult result = Pkg({"extract", package.string(), "--to", out.string()});
    EXPECT_EQ(result.status, kOk) << Describe(result);
    return out;
  }

  static fs::path Key() { return TestPackagesDir() / "key.pem"; }
  static fs::path Pub() { return TestPackagesDir() / "key.pub"; }

  TempDir dir_;
};

// Every object of `metadata` is in `out` under its file name (or under its sha256 with
// `by_sha256`), with the right size and hash.
inline void ExpectExtractedObjects(const fs::path& out, const json& metadata, bool by_sha256) {
  for (const json& object : metadata["objects"][0]) {
    const std::string sha256 = object["sha256sum"];
    const std::string name = by_sha256 ? sha256 : object["filename"].get<std::string>();
    const std::string content = ReadFile(out / name);
    EXPECT_EQ(content.size(), object["size"].get<std::size_t>()) << name;
    EXPECT_EQ(Sha256Hex(content), sha256) << name;
  }
}

}  // namespace uh::tools::cli_test
