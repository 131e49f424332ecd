#pragma once

// Helpers shared by the tests: temporary directories, files, running programs.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uh::testing {

// A fresh directory, removed with its content when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& path, std::string_view data);
[[nodiscard]] std::string ReadFile(const std::filesystem::path& path);
// `size` bytes of deterministic pseudo-random data.
[[nodiscard]] std::string RandomBytes(std::size_t size, unsigned seed = 1);

// The test packages, made by this build with its own updatehub-pkg
// (tests/support/make_test_packages.sh): always present. They have the shape of the upstream-made
// packages below (same file names, product, versions, hardware, objects' names, modes, targets
// and sizes) with objects and a key of their own:
//   key.pem, key.pub            RSA-2048 key pair the signed packages are signed with
//   signed.uhupkg               1.0.0 for board-a and board-b, two identical installation sets:
//                               raw rootfs.img (1 MiB, /dev/mmcblk0p2) and tarball data.tar.gz
//                               (ext4, /dev/mmcblk0p3, target-path /data) holding
//                               ./etc/motd (kTestMotd) and ./usr/bin/app (kTestApp, mode 0755)
//   unsigned.uhupkg             the same metadata, with an empty signature member
//   compressed.uhupkg           2.0.0-rc1 for any hardware: raw boot.img.xz (64 KiB of image,
//                               install-if-different sha256sum, truncate, /dev/mmcblk0p1) and
//                               raw kernel.img.gz (300,000 bytes of image, chunk-size 4096, seek 2,
//                               /dev/mmcblk0p5 in set A, /dev/mmcblk0p6 in set B), signed
//   signed.metadata.json, compressed.metadata.json   their metadata members, byte for byte
[[nodiscard]] std::filesystem::path TestPackagesDir();
inline constexpr std::string_view kTestMotd = "hello from the test package\n";
inline constexpr std::string_view kTestApp = "#!/bin/sh\necho app\n";
// The UID (sha256 of the metadata) of a test package, e.g. "signed.uhupkg".
[[nodiscard]] std::string TestPackageUid(std::string_view package);
// The sha256sum of the object `filename` of a test package (first installation set holding it).
[[nodiscard]] std::string TestObjectSha256(std::string_view package, std::string_view filename);

// The packages made by upstream's uhu tool (UH_CONFORMANCE_DIR, by default
// ../shared/conformance/uhu beside the repository), for the tests whose point is that upstream
// made them. A clone on its own does not have them: such tests are then skipped with
// kUpstreamMissing, except when the environment has CI=true, where a missing folder fails them.
[[nodiscard]] std::optional<std::filesystem::path> FindUpstreamDir();
[[nodiscard]] bool UpstreamRequired();
[[nodiscard]] std::string UpstreamMissing();

// In a test body or a fixture's SetUp: `const std::filesystem::path name` holds the upstream
// packages' directory, or the test is skipped (failed when CI=true) with one clear line.
#define UH_UPSTREAM_PACKAGES(name)                                                           \
  const auto name##_found = ::uh::testing::FindUpstreamDir();                                \
  if (!name##_found) {                                                                       \
    if (::uh::testing::UpstreamRequired()) GTEST_FAIL() << ::uh::testing::UpstreamMissing(); \
    GTEST_SKIP() << ::uh::testing::UpstreamMissing();                                        \
  }                                                                                          \
  const std::filesystem::path name = *name##_found

// The updatehub-pkg binary of this build.
[[nodiscard]] std::filesystem::path PkgTool();

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};
// Runs a program (no shell) with the given arguments and captures its output.
[[nodiscard]] RunResult Run(const std::vector<std::string>& argv);

// This process's environment with `extra` (NAME=VALUE) added or replacing.
[[nodiscard]] std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra);

// The content of a file that may vanish while it is read, such as /proc/PID/stat of a process
// that exits (where std::ifstream throws); empty when it cannot be read.
[[nodiscard]] std::string ReadVolatileFile(const std::filesystem::path& path);

// The live (not zombie) child processes of `parent` whose name (/proc/PID/comm, at most 15
// characters) is `name`, or all of them when `name` is empty.
[[nodiscard]] std::vector<int> ChildProcesses(int parent, std::string_view name = {});

// Polls `condition` every `step` until it holds or `limit` passes; returns its last value.
[[nodiscard]] bool WaitUntil(const std::function<bool()>& condition,
                             std::chrono::milliseconds limit, std::chrono::milliseconds step);

}  // namespace uh::testing
