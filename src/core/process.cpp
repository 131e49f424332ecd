#include "core/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <utility>

extern char** environ;

namespace uh {
namespace {

using Clock = std::chrono::steady_clock;

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

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Expected<std::array<UniqueFd, 2>> MakePipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return FailErrno("pipe");
  return std::array<UniqueFd, 2>{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

Expected<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                           const SpawnOptions& options) {
  if (argv.empty()) return Fail(Errc::kInvalidArgument, "no program to run");
  std::filesystem::path program = options.program;
  if (program.empty()) {
    auto found = FindProgram(argv[0]);
    if (!found) return std::unexpected(std::move(found.error()));
    program = std::move(*found);
  }

  // Everything the child needs is made before fork: between fork and exec it may only make
  // async-signal-safe calls.
  std::array<UniqueFd, 2> in_pipe;
  std::array<UniqueFd, 2> out_pipe;
  std::array<UniqueFd, 2> err_pipe;
  for (auto [wanted, pipe] :
       {std::pair{options.pipe_stdin, &in_pipe}, std::pair{options.pipe_stdout, &out_pipe},
        std::pair{options.pipe_stderr, &err_pipe}}) {
    if (!wanted) continue;
    auto made = MakePipe();
    if (!made) return std::unexpected(std::move(made.error()));
    *pipe = std::move(*made);
  }
  // The child writes the errno of a failed exec here; a successful exec closes it (CLOEXEC).
  auto status_pipe = MakePipe();
  if (!status_pipe) return std::unexpected(std::move(status_pipe.error()));
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  auto env_strings = ChildEnvironment(options.env);
  std::vector<char*> env;
  env.reserve(env_strings.size() + 1);
  for (auto& entry : env_strings) env.push_back(entry.data());
  env.push_back(nullptr);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const pid_t parent = ::getpid();
  // The descriptors a child may have, for kernels without close_range.
  rlimit files{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 16))
                         : 1 << 16;

  const pid_t pid = ::fork();
  if (pid < 0) return FailErrno("fork");
  if (pid == 0) {
    const auto fail = [&](int error) {
      (void)!::write((*status_pipe)[1].get(), &error, sizeof error);
      ::_exit(127);
    };
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; ++signal) ::sigaction(signal, &default_action, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const auto to = [&](int fd, int target) {
      // dup2 onto itself would keep close-on-exec: clear it instead.
      if (fd == target ? ::fcntl(fd, F_SETFD, 0) < 0 : ::dup2(fd, target) < 0) fail(errno);
    };
    const auto null = [&](int target, int flags) {
      const int fd = ::open("/dev/null", flags | O_CLOEXEC);
      if (fd < 0) fail(errno);
      to(fd, target);
    };
    if (options.pipe_stdin) {
      to(in_pipe[0].get(), STDIN_FILENO);
    } else {
      null(STDIN_FILENO, O_RDONLY);
    }
    if (options.pipe_stdout) {
      to(out_pipe[1].get(), STDOUT_FILENO);
    } else {
      null(STDOUT_FILENO, O_WRONLY);
    }
    if (options.pipe_stderr) to(err_pipe[1].get(), STDERR_FILENO);
    // Nothing else of ours reaches the program: a listening socket or a database it inherited
    // would outlive us in it (a port still taken when we start again). Marked close-on-exec
    // rather than closed, so that the status pipe stays open until the exec.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) fail(errno);
    ::execve(program.c_str(), args.data(), env.data());
    fail(errno);
  }

  ChildProcess child;
  child.pid_ = pid;
  child.in_ = std::move(in_pipe[1]);
  child.out_ = std::move(out_pipe[0]);
  child.err_ = std::move(err_pipe[0]);
  (*status_pipe)[1].Close();
  int error = 0;
  ssize_t n = 0;
  while ((n = ::read((*status_pipe)[0].get(), &error, sizeof error)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof error)) {
    (void)child.Wait();
    return Fail(error == ENOENT ? Errc::kNotFound : Errc::kIo,
                "cannot run " + program.string() + ": " + std::strerror(error));
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) (void)Stop(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, -1);
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) (void)Stop(std::chrono::milliseconds(0));
}

void ChildProcess::Signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::TryWait() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_ || (reaped < 0 && errno == ECHILD)) {
    pid_ = -1;
    return status;
  }
  return std::nullopt;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return 0;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) break;
  }
  pid_ = -1;
  return status;
}

std::optional<int> ChildProcess::WaitFor(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (true) {
    if (auto status = TryWait()) return status;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return 0;
  if (grace.count() > 0) {
    if (auto status = WaitFor(grace)) return *status;
  }
  ::kill(pid_, SIGKILL);
  return Wait();
}

Expected<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                   const ProcessOptions& options) {
  SpawnOptions spawn;
  spawn.env = options.env;
  spawn.cwd = options.cwd;
  spawn.pipe_stdin = options.stdin_data.has_value();
  auto started = ChildProcess::Spawn(argv, spawn);
  if (!started) return std::unexpected(std::move(started.error()));
  ChildProcess& child = *started;

  ProcessResult result;
  std::size_t written = 0;
  const std::string no_input;
  const std::string& input = options.stdin_data ? *options.stdin_data : no_input;
  if (options.stdin_data && input.empty()) child.in().Close();
  if (child.in().valid()) ::fcntl(child.in().get(), F_SETFL, O_NONBLOCK);

  const auto start = Clock::now();
  bool timed_out = false;
  bool out_open = true;
  bool err_open = true;
  Clock::time_point kill_at{};
  while (out_open || err_open) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    const auto add = [&](int fd, short events) { fds[count++] = pollfd{fd, events, 0}; };
    if (out_open) add(child.out().get(), POLLIN);
    if (err_open) add(child.err().get(), POLLIN);
    if (child.in().valid()) add(child.in().get(), POLLOUT);
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
      if (fds[i].fd == child.in().get()) {
        const ssize_t n = ::write(fds[i].fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written >= input.size()) child.in().Close();
      } else if (fds[i].fd == child.out().get()) {
        out_open = Drain(fds[i].fd, result.out, options.output_limit, result.truncated);
      } else {
        err_open = Drain(fds[i].fd, result.err, options.output_limit, result.truncated);
      }
    }
    if (options.timeout.count() > 0) {
      const auto now = Clock::now();
      if (!timed_out && now >= start + options.timeout) {
        timed_out = true;
        child.Signal(SIGTERM);
        kill_at = now + std::chrono::seconds(2);
      } else if (timed_out && now >= kill_at) {
        child.Signal(SIGKILL);
        kill_at = now + std::chrono::hours(1);
        // A grandchild may still hold the pipes open: stop reading them.
        out_open = false;
        err_open = false;
      }
    }
  }
  child.in().Close();

  const int status = child.Wait();
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
