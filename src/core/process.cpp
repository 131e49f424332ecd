#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

extern char** environ;

namespace uh {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Expected<std::array<Fd, 2>> MakePipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return FailErrno("pipe");
  return std::array<Fd, 2>{Fd(fds[0]), Fd(fds[1])};
}

bool IsExecutableFile(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Our environment with `overrides` applied, as "KEY=VALUE" strings.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    vars[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  }
  for (const auto& [key, value] : overrides) vars[key] = value;
  std::vector<std::string> result;
  result.reserve(vars.size());
  for (const auto& [key, value] : vars) result.push_back(key + "=" + value);
  return result;
}

// Reads what is available on `fd` into `sink` up to `limit` bytes; false at end of file.
bool Drain(int fd, std::string& sink, std::size_t limit, bool& truncated) {
  std::array<char, 16384> buffer{};
  const ssize_t n = ::read(fd, buffer.data(), buffer.size());
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const auto room = limit > sink.size() ? limit - sink.size() : 0;
  const auto keep = std::min<std::size_t>(room, static_cast<std::size_t>(n));
  sink.append(buffer.data(), keep);
  if (keep < static_cast<std::size_t>(n)) truncated = true;
  return true;
}

}  // namespace

std::string ProcessResult::Describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exited with status " + std::to_string(exit_code);
}

Expected<std::filesystem::path> FindProgram(std::string_view name) {
  if (name.empty()) return Fail(Errc::kInvalidArgument, "empty program name");
  if (name.find('/') != std::string_view::npos) {
    const std::filesystem::path path(name);
    if (!std::filesystem::exists(path))
      return Fail(Errc::kNotFound, std::string(name) + ": not found");
    if (!IsExecutableFile(path)) return Fail(Errc::kIo, std::string(name) + ": not executable");
    return path;
  }
  const char* env_path = std::getenv("PATH");
  const std::string_view search = env_path != nullptr ? env_path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= search.size()) {
    auto end = search.find(':', start);
    if (end == std::string_view::npos) end = search.size();
    const std::string_view dir = search.substr(start, end - start);
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return Fail(Errc::kNotFound, std::string(name) + ": not found on PATH");
}

Expected<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                   const ProcessOptions& options) {
  if (argv.empty()) return Fail(Errc::kInvalidArgument, "no program to run");
  auto program = FindProgram(argv[0]);
  if (!program) return std::unexpected(std::move(program.error()));

  auto out_pipe = MakePipe();
  if (!out_pipe) return std::unexpected(std::move(out_pipe.error()));
  auto err_pipe = MakePipe();
  if (!err_pipe) return std::unexpected(std::move(err_pipe.error()));
  std::array<Fd, 2> in_pipe;
  if (options.stdin_data) {
    auto made = MakePipe();
    if (!made) return std::unexpected(std::move(made.error()));
    in_pipe = std::move(*made);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.stdin_data) {
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0].get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, (*out_pipe)[1].get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, (*err_pipe)[1].get(), STDERR_FILENO);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  // The child starts with default signal dispositions and an empty mask, whatever ours are.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  auto env_strings = ChildEnvironment(options.env);
  std::vector<char*> env;
  env.reserve(env_strings.size() + 1);
  for (auto& entry : env_strings) env.push_back(entry.data());
  env.push_back(nullptr);

  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program->c_str(), &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Fail(rc == ENOENT ? Errc::kNotFound : Errc::kIo,
                "cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  (*out_pipe)[1].Close();
  (*err_pipe)[1].Close();
  in_pipe[0].Close();

  ProcessResult result;
  std::size_t written = 0;
  const std::string no_input;
  const std::string& input = options.stdin_data ? *options.stdin_data : no_input;
  if (options.stdin_data && input.empty()) in_pipe[1].Close();
  if (in_pipe[1].get() >= 0) ::fcntl(in_pipe[1].get(), F_SETFL, O_NONBLOCK);

  const auto start = Clock::now();
  bool timed_out = false;
  bool out_open = true;
  bool err_open = true;
  Clock::time_point kill_at{};
  while (out_open || err_open) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    const auto add = [&](int fd, short events) { fds[count++] = pollfd{fd, events, 0}; };
    if (out_open) add((*out_pipe)[0].get(), POLLIN);
    if (err_open) add((*err_pipe)[0].get(), POLLIN);
    if (in_pipe[1].get() >= 0) add(in_pipe[1].get(), POLLOUT);
    int wait_ms = -1;
    if (options.timeout.count() > 0) {
      const auto deadline = timed_out ? kill_at : start + options.timeout;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::max<long long>(0, std::min<long long>(left, 1000)));
    }
    const int ready = ::poll(fds.data(), count, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_pipe[1].get()) {
        const ssize_t n = ::write(fds[i].fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written >= input.size()) in_pipe[1].Close();
      } else if (fds[i].fd == (*out_pipe)[0].get()) {
        out_open = Drain(fds[i].fd, result.out, options.output_limit, result.truncated);
      } else {
        err_open = Drain(fds[i].fd, result.err, options.output_limit, result.truncated);
      }
    }
    if (options.timeout.count() > 0) {
      const auto now = Clock::now();
      if (!timed_out && now >= start + options.timeout) {
        timed_out = true;
        ::kill(pid, SIGTERM);
        kill_at = now + std::chrono::seconds(2);
      } else if (timed_out && now >= kill_at) {
        ::kill(pid, SIGKILL);
        kill_at = now + std::chrono::hours(1);
        // A grandchild may still hold the pipes open: stop reading them.
        out_open = false;
        err_open = false;
      }
    }
  }
  in_pipe[1].Close();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno("waitpid " + argv[0]);
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (timed_out) {
    return Fail(Errc::kTimeout, argv[0] + ": still running after " +
                                    std::to_string(options.timeout.count()) + " ms, stopped");
  }
  return result;
}

}  // namespace uh
