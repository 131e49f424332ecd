#include "agent/backend/worker_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "agent/backend/worker_protocol.hpp"
#include "core/fs.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;

// How often a running worker is checked for an abort.
constexpr int kAbortPollMs = 100;

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  [[nodiscard]] bool ok() const { return fds_[0] >= 0; }
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }
  void CloseRead() { Close(fds_[0]); }
  void CloseWrite() { Close(fds_[1]); }

 private:
  static void Close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2];
};

// What one worker said: the result line, if any came, and whether a line was unreadable.
struct Outcome {
  std::optional<json> result;
  std::string broken;  // why the output could not be read, when it could not
};

void Forward(const json& line) {
  const auto level = spdlog::level::from_str(line.value("log", std::string("info")));
  spdlog::log(level, "{}", line.value("msg", std::string()));
}

class WorkerBackend final : public UpdateBackend {
 public:
  explicit WorkerBackend(WorkerBackendOptions options) : options_(std::move(options)) {}

  Expected<ProbeResult> Probe(const ClientOptions& server, const nlohmann::json& device_fields,
                              int retries) override {
    auto answer =
        Call(worker::kProbe,
             {{"server", worker::ToJson(server)}, {"device", device_fields}, {"retries", retries}});
    if (!answer) return std::unexpected(std::move(answer).error());
    return worker::ProbeResultFrom(*answer);
  }

  Expected<void> Report(const ClientOptions& server, const nlohmann::json& device_fields,
                        const ReportRequest& report) override {
    return Void(Call(worker::kReport, {{"server", worker::ToJson(server)},
                                       {"device", device_fields},
                                       {"report", worker::ToJson(report)}}));
  }

  Expected<void> DownloadObject(const ClientOptions& server, const ObjectDownload& download,
                                const std::atomic<bool>& abort) override {
    return Void(Call(worker::kDownloadObject,
                     {{"server", worker::ToJson(server)}, {"download", worker::ToJson(download)}},
                     &abort));
  }

  Expected<void> DownloadUrl(const ClientOptions& server, const std::string& url,
                             const std::filesystem::path& dest, const std::atomic<bool>& abort,
                             std::uint64_t max_size) override {
    return Void(Call(worker::kDownloadUrl,
                     {{"server", worker::ToJson(server)},
                      {"url", url},
                      {"dest", dest.string()},
                      {"max_size", max_size}},
                     &abort));
  }

  Expected<std::string> PackageUid(const std::string& metadata) override {
    auto answer = Call(worker::kPackageUid, {{"metadata", metadata}});
    if (!answer) return std::unexpected(std::move(answer).error());
    if (!answer->is_string()) return Fail(Errc::kMalformed, "worker message (package-uid)");
    return answer->get<std::string>();
  }

  Expected<void> VerifySignature(const std::filesystem::path& public_key,
                                 const std::string& metadata,
                                 const std::string& signature) override {
    return Void(Call(
        worker::kVerifySignature,
        {{"public_key", public_key.string()}, {"metadata", metadata}, {"signature", signature}}));
  }

  Expected<UnpackedPackage> UnpackPackage(const std::filesystem::path& file,
                                          const std::filesystem::path& dir) override {
    auto answer = Call(worker::kUnpackPackage, {{"file", file.string()}, {"dir", dir.string()}});
    if (!answer) return std::unexpected(std::move(answer).error());
    return worker::UnpackedPackageFrom(*answer);
  }

  Expected<void> VerifyObjectFile(const std::filesystem::path& file,
                                  const package::Object& object) override {
    return Void(Call(worker::kVerifyObjectFile,
                     {{"file", file.string()}, {"object", package::ToJson(object)}}));
  }

  Expected<void> CheckRequirements(const package::Object& object,
                                   const InstallContext& ctx) override {
    return Void(Call(worker::kCheckRequirements, ObjectArgs(object, ctx)));
  }

  Expected<bool> AlreadyInstalled(const package::Object& object,
                                  const InstallContext& ctx) override {
    auto answer = Call(worker::kAlreadyInstalled, ObjectArgs(object, ctx));
    if (!answer) return std::unexpected(std::move(answer).error());
    if (!answer->is_boolean()) {
      return Fail(Errc::kMalformed, "worker message (already-installed): not a boolean");
    }
    return answer->get<bool>();
  }

  Expected<void> Install(const package::Object& object, const InstallContext& ctx) override {
    return Void(Call(worker::kInstall, ObjectArgs(object, ctx)));
  }

  Expected<void> VerifyStreamed(const package::Object& object, const StreamTarget& target,
                                const InstallContext& ctx) override {
    auto args = ObjectArgs(object, ctx);
    args["target"] = worker::ToJson(target);
    return Void(Call(worker::kVerifyStreamed, std::move(args)));
  }

 private:
  static json ObjectArgs(const package::Object& object, const InstallContext& ctx) {
    return {{"object", package::ToJson(object)}, {"context", worker::ToJson(ctx)}};
  }

  static Expected<void> Void(Expected<json> answer) {
    if (!answer) return std::unexpected(std::move(answer).error());
    return {};
  }

  // Runs one worker for `op` and returns its result value (or its error).
  Expected<json> Call(std::string_view op, json args, const std::atomic<bool>* abort = nullptr) {
    const std::string request = worker::Dump({{"op", op}, {"args", std::move(args)}}) + "\n";
    Pipe in;
    Pipe out;
    if (!in.ok() || !out.ok()) return FailErrno("pipe for updatehub-worker");
    std::string program = options_.program.string();
    std::string name = "updatehub-worker";
    char* argv[] = {name.data(), nullptr};
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return FailErrno("starting updatehub-worker");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the daemon died before prctl
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks SIGTERM for sigwait
      ::signal(SIGPIPE, SIG_DFL);
      if (::dup2(in.read_end(), STDIN_FILENO) < 0 || ::dup2(out.write_end(), STDOUT_FILENO) < 0) {
        ::_exit(127);
      }
      ::execv(program.c_str(), argv);
      ::_exit(127);
    }
    in.CloseRead();
    out.CloseWrite();
    WriteRequest(in.write_end(), request);
    in.CloseWrite();
    Outcome outcome = ReadOutput(out.read_end(), pid, abort);
    out.CloseRead();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const std::string what = "updatehub-worker " + std::string(op);
    if (!outcome.broken.empty()) return Fail(Errc::kInternal, what + ": " + outcome.broken);
    if (!outcome.result) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        return Fail(Errc::kNotFound, what + ": cannot run " + program);
      }
      const std::string how = WIFSIGNALED(status)
                                  ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                  : "exited with status " + std::to_string(WEXITSTATUS(status));
      return Fail(Errc::kInternal, what + " " + how + " without an answer");
    }
    if (const auto it = outcome.result->find("error"); it != outcome.result->end()) {
      auto error = worker::ErrorFrom(*it);
      if (!error) return std::unexpected(std::move(error).error());
      return std::unexpected(std::move(*error));
    }
    return (*outcome.result)["ok"];
  }

  // The worker reads its whole request before it does anything, so this cannot block on it.
  // It may have died already (EPIPE; its exit status says why): SIGPIPE is held back on this
  // thread meanwhile, so that the calling program does not die of it.
  static void WriteRequest(int fd, const std::string& request) {
    sigset_t pipe_signal;
    sigset_t previous;
    ::sigemptyset(&pipe_signal);
    ::sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    bool broken = false;
    for (std::size_t done = 0; done < request.size();) {
      const ssize_t n = ::write(fd, request.data() + done, request.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken = errno == EPIPE;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    if (broken && !::sigismember(&previous, SIGPIPE)) {
      const timespec now{0, 0};
      while (::sigtimedwait(&pipe_signal, nullptr, &now) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  // Reads the worker's lines until it closes stdout: log lines are logged here, the result line
  // is kept. An abort is passed on as SIGTERM once.
  static Outcome ReadOutput(int fd, pid_t pid, const std::atomic<bool>* abort) {
    Outcome outcome;
    std::string pending;
    bool signalled = false;
    char buffer[16 * 1024];
    while (true) {
      if (abort && !signalled && abort->load()) {
        ::kill(pid, SIGTERM);
        signalled = true;
      }
      pollfd ready{fd, POLLIN, 0};
      const int polled = ::poll(&ready, 1, kAbortPollMs);
      if (polled < 0 && errno != EINTR) {
        outcome.broken = std::string("poll: ") + std::strerror(errno);
        break;
      }
      if (polled <= 0) continue;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        outcome.broken = std::string("read: ") + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos;
           start = end + 1) {
        const std::string_view line(pending.data() + start, end - start);
        auto parsed = json::parse(line, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object()) {
          outcome.broken = "an output line is not JSON";
        } else if (parsed.contains("log")) {
          Forward(parsed);
        } else {
          outcome.result = std::move(parsed);
        }
      }
      pending.erase(0, start);
      if (pending.size() > worker::kMaxMessageBytes) {
        outcome.broken = "an output line is too long";
      }
      if (!outcome.broken.empty()) {
        ::kill(pid, SIGKILL);
        break;
      }
    }
    if (outcome.broken.empty() && !pending.empty()) outcome.broken = "the last line is cut off";
    return outcome;
  }

  WorkerBackendOptions options_;
};

}  // namespace

std::unique_ptr<UpdateBackend> MakeWorkerBackend(WorkerBackendOptions options) {
  return std::make_unique<WorkerBackend>(std::move(options));
}

Expected<std::filesystem::path> FindWorkerProgram() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Fail(Errc::kIo, "cannot find the running executable: " + ec.message());
  auto worker = self.parent_path() / "updatehub-worker";
  if (::access(worker.c_str(), X_OK) != 0) {
    return Fail(Errc::kNotFound, worker.string() + " is missing or not executable");
  }
  return worker;
}

}  // namespace uh::agent
