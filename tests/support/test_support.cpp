#include "support/test_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/hash.hpp"

extern char** environ;

namespace uh::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "uh-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void WriteFile(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string RandomBytes(std::size_t size, unsigned seed) {
  std::mt19937 engine(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(engine() & 0xff);
  return out;
}

std::filesystem::path TestPackagesDir() {
  const std::filesystem::path dir = UH_TEST_PACKAGES_DIR;
  if (!std::filesystem::exists(dir / "signed.uhupkg")) {
    throw std::runtime_error("the test packages are missing in " + dir.string() +
                             ": build the uh_test_packages target");
  }
  return dir;
}

std::string TestPackageUid(std::string_view package) {
  std::string name(package);
  const std::string suffix = ".uhupkg";
  if (name.ends_with(suffix)) name.resize(name.size() - suffix.size());
  // unsigned.uhupkg has signed.uhupkg's metadata.
  if (name == "unsigned") name = "signed";
  return Sha256Hex(ReadFile(TestPackagesDir() / (name + ".metadata.json")));
}

std::string TestObjectSha256(std::string_view package, std::string_view filename) {
  std::string name(package);
  if (name.ends_with(".uhupkg")) name.resize(name.size() - 7);
  if (name == "unsigned") name = "signed";
  const auto metadata =
      nlohmann::json::parse(ReadFile(TestPackagesDir() / (name + ".metadata.json")));
  for (const auto& set : metadata.at("objects")) {
    for (const auto& object : set) {
      if (object.at("filename") == filename) return object.at("sha256sum").get<std::string>();
    }
  }
  throw std::runtime_error(std::string(filename) + " is not an object of " + std::string(package));
}

std::optional<std::filesystem::path> FindUpstreamDir() {
  const std::filesystem::path dir = UH_CONFORMANCE_DIR;
  std::error_code error;
  if (!std::filesystem::is_regular_file(dir / "signed.uhupkg", error)) return std::nullopt;
  return dir;
}

bool UpstreamRequired() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

std::string UpstreamMissing() {
  return std::string("upstream-made packages not found in ") + UH_CONFORMANCE_DIR +
         " (set UH_CONFORMANCE_DIR at configure time)" +
         (UpstreamRequired() ? ": required with CI=true" : ": upstream conformance test skipped");
}

std::filesystem::path PkgTool() { return UH_PKG_TOOL; }

RunResult Run(const std::vector<std::string>& argv) {
  TempDir dir;
  const auto out_path = dir / "stdout";
  const auto err_path = dir / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  RunResult result;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.err = "cannot start " + argv[0];
    return result;
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

// This process's environment with `extra` (NAME=VALUE) added or replacing.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('=') + 1);
    bool replaced = false;
    for (const auto& mine : extra) replaced = replaced || mine.starts_with(name);
    if (!replaced) out.emplace_back(text);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit,
               std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

std::string ReadVolatileFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

std::vector<int> ChildProcesses(int parent, std::string_view name) {
  std::vector<int> found;
  const std::string self = std::to_string(parent);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadVolatileFile(entry.path() / "stat");
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    std::string ppid;
    if (!(rest >> state >> ppid) || state == "Z" || ppid != self) continue;
    if (name.empty() || stat.substr(open + 1, close - open - 1) == name) {
      found.push_back(std::stoi(pid));
    }
  }
  return found;
}

}  // namespace uh::testing
