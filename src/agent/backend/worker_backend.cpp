#include "agent/backend/worker_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "agent/backend/worker_protocol.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/process.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;

// How often a running worker is checked for an abort.
constexpr int kAbortPollMs = 100;

// What a worker said to one request.
struct Outcome {
  std::optional<json> result;  // its result line, when one came
  std::string broken;          // why its output could not be read, when it could not
  bool signalled = false;      // it was sent SIGTERM (an abort)
  bool trailing = false;       // it wrote more after its result
};

void Forward(const json& line) {
  const auto level = spdlog::level::from_str(line.value("log", std::string("info")));
  spdlog::log(level, "{}", line.value("msg", std::string()));
}

class WorkerBackend final : public UpdateBackend {
 public:
  explicit WorkerBackend(WorkerBackendOptions options) : options_(std::move(options)) {}
  ~WorkerBackend() override { Stop(/*kill=*/false); }
  WorkerBackend(const WorkerBackend&) = delete;
  WorkerBackend& operator=(const WorkerBackend&) = delete;

  void Release() override {
    std::lock_guard lock(mutex_);
    Stop(/*kill=*/false);
  }

  Expected<ProbeResult> Probe(const ClientOptions& server, const nlohmann::json& device_fields,
                              int retries) override {
    auto answer =
        Call(worker::Op::kProbe,
             {{"server", worker::ToJson(server)}, {"device", device_fields}, {"retries", retries}});
    if (!answer) return std::unexpected(std::move(answer).error());
    return worker::ProbeResultFrom(*answer);
  }

  Expected<void> Report(const ClientOptions& server, const nlohmann::json& device_fields,
                        const ReportRequest& report) override {
    return Void(Call(worker::Op::kReport, {{"server", worker::ToJson(server)},
                                           {"device", device_fields},
                                           {"report", worker::ToJson(report)}}));
  }

  Expected<void> DownloadObject(const ClientOptions& server, const ObjectDownload& download,
                                const std::atomic<bool>& abort) override {
    return Void(Call(worker::Op::kDownloadObject,
                     {{"server", worker::ToJson(server)}, {"download", worker::ToJson(download)}},
                     &abort));
  }

  Expected<void> DownloadUrl(const ClientOptions& server, const std::string& url,
                             const std::filesystem::path& dest, const std::atomic<bool>& abort,
                             std::uint64_t max_size) override {
    return Void(Call(worker::Op::kDownloadUrl,
                     {{"server", worker::ToJson(server)},
                      {"url", url},
                      {"dest", dest.string()},
                      {"max_size", max_size}},
                     &abort));
  }

  Expected<std::string> PackageUid(const std::string& metadata) override {
    auto answer = Call(worker::Op::kPackageUid, {{"metadata", metadata}});
    if (!answer) return std::unexpected(std::move(answer).error());
    if (!answer->is_string()) return Fail(Errc::kMalformed, "worker message (package-uid)");
    return answer->get<std::string>();
  }

  Expected<void> VerifySignature(const std::filesystem::path& public_key,
                                 const std::string& metadata,
                                 const std::string& signature) override {
    return Void(Call(
        worker::Op::kVerifySignature,
        {{"public_key", public_key.string()}, {"metadata", metadata}, {"signature", signature}}));
  }

  Expected<UnpackedPackage> UnpackPackage(const std::filesystem::path& file,
                                          const std::filesystem::path& dir) override {
    auto answer =
        Call(worker::Op::kUnpackPackage, {{"file", file.string()}, {"dir", dir.string()}});
    if (!answer) return std::unexpected(std::move(answer).error());
    return worker::UnpackedPackageFrom(*answer);
  }

  Expected<UnpackedPackage> ReadPackage(const std::filesystem::path& file) override {
    auto answer = Call(worker::Op::kReadPackage, {{"file", file.string()}});
    if (!answer) return std::unexpected(std::move(answer).error());
    return worker::UnpackedPackageFrom(*answer);
  }

  Expected<void> ExtractObject(const std::filesystem::path& file, const package::Object& object,
                               const std::filesystem::path& dest) override {
    return Void(Call(
        worker::Op::kExtractObject,
        {{"file", file.string()}, {"object", package::ToJson(object)}, {"dest", dest.string()}}));
  }

  Expected<void> VerifyObjectFile(const std::filesystem::path& file,
                                  const package::Object& object) override {
    return Void(Call(worker::Op::kVerifyObjectFile,
                     {{"file", file.string()}, {"object", package::ToJson(object)}}));
  }

  Expected<void> CheckRequirements(const package::Object& object,
                                   const InstallContext& ctx) override {
    return Void(Call(worker::Op::kCheckRequirements, ObjectArgs(object, ctx)));
  }

  Expected<bool> AlreadyInstalled(const package::Object& object,
                                  const InstallContext& ctx) override {
    auto answer = Call(worker::Op::kAlreadyInstalled, ObjectArgs(object, ctx));
    if (!answer) return std::unexpected(std::move(answer).error());
    if (!answer->is_boolean()) {
      return Fail(Errc::kMalformed, "worker message (already-installed): not a boolean");
    }
    return answer->get<bool>();
  }

  Expected<void> Install(const package::Object& object, const InstallContext& ctx) override {
    return Void(Call(worker::Op::kInstall, ObjectArgs(object, ctx)));
  }

  Expected<void> VerifyStreamed(const package::Object& object, const StreamTarget& target,
                                const InstallContext& ctx) override {
    auto args = ObjectArgs(object, ctx);
    args["target"] = worker::ToJson(target);
    return Void(Call(worker::Op::kVerifyStreamed, std::move(args)));
  }

  Expected<void> StreamInstall(const ClientOptions& server, const ObjectDownload& download,
                               const package::Object& object, const InstallContext& ctx,
                               const std::atomic<bool>& abort) override {
    auto args = ObjectArgs(object, ctx);
    args["server"] = worker::ToJson(server);
    args["download"] = worker::ToJson(download);
    return Void(Call(worker::Op::kStreamInstall, std::move(args), &abort));
  }

  Expected<void> InstallFromPackage(const std::filesystem::path& file,
                                    const package::Object& object, const InstallContext& ctx,
                                    const std::atomic<bool>& abort) override {
    auto args = ObjectArgs(object, ctx);
    args["file"] = file.string();
    return Void(Call(worker::Op::kInstallFromPackage, std::move(args), &abort));
  }

 private:
  static json ObjectArgs(const package::Object& object, const InstallContext& ctx) {
    return {{"object", package::ToJson(object)}, {"context", worker::ToJson(ctx)}};
  }

  static Expected<void> Void(Expected<json> answer) {
    if (!answer) return std::unexpected(std::move(answer).error());
    return {};
  }

  // Sends `op` to the worker (started first if none runs) and returns its result value (or
  // its error). A worker that breaks the protocol is killed; the next call starts another.
  Expected<json> Call(worker::Op op, json args, const std::atomic<bool>* abort = nullptr) {
    std::lock_guard lock(mutex_);
    const std::string request =
        DumpJson({{"op", worker::OpName(op)}, {"args", std::move(args)}}) + "\n";
    const std::string what = "updatehub-worker " + std::string(worker::OpName(op));
    if (!worker_) {
      auto started = Start();
      if (!started) return std::unexpected(started.error().WithContext(what));
    }
    WriteRequest(worker_->in().get(), request);
    Outcome outcome = ReadResult(*worker_, abort);
    if (!outcome.broken.empty()) {
      Stop(/*kill=*/true);
      return Fail(Errc::kInternal, what + ": " + outcome.broken);
    }
    if (!outcome.result) {
      const int status = Stop(/*kill=*/false);  // it closed its output: gone or going
      return Fail(Errc::kInternal, what + (WIFSIGNALED(status) ? " was " : " ") +
                                       DescribeWaitStatus(status) + " without an answer");
    }
    // An aborted worker exits after its answer; one that said more than its answer is not
    // trusted with the next request.
    if (outcome.signalled || outcome.trailing) Stop(/*kill=*/outcome.trailing);
    if (const auto it = outcome.result->find("error"); it != outcome.result->end()) {
      auto error = worker::ErrorFrom(*it);
      if (!error) return std::unexpected(std::move(error).error());
      return std::unexpected(std::move(*error));
    }
    return std::move((*outcome.result)["ok"]);
  }

  Expected<void> Start() {
    SpawnOptions spawn;
    spawn.program = options_.program;
    spawn.pipe_stdin = true;
    spawn.pipe_stderr = false;  // its stderr is ours
    spawn.die_with_parent = true;
    auto started = ChildProcess::Spawn({"updatehub-worker"}, spawn);
    if (!started) return std::unexpected(std::move(started).error());
    worker_ = std::move(*started);
    return {};
  }

  // Ends the worker: closing its stdin tells it to exit; one that has not after the stop grace
  // (or at once, with `kill`) is killed. Returns its wait status.
  int Stop(bool kill) {
    if (!worker_) return 0;
    ChildProcess worker = std::move(*worker_);
    worker_.reset();
    worker.in().Close();
    worker.out().Close();
    if (!kill) {
      if (auto status = worker.WaitFor(options_.stop_grace)) return *status;
      spdlog::warn("updatehub-worker {} did not exit: killed", worker.pid());
    }
    return worker.Stop(std::chrono::milliseconds(0));
  }

  // The worker reads each request whole before it does anything, so this cannot block on it
  // for long. It may have died already (EPIPE; ReadResult then finds its output closed):
  // SIGPIPE is held back on this thread meanwhile, so that the calling program does not die of
  // it.
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

  // Reads the worker's lines until its result line (or until it closes its output): log lines
  // are logged here. An abort is passed on as SIGTERM once.
  static Outcome ReadResult(ChildProcess& worker, const std::atomic<bool>* abort) {
    Outcome outcome;
    std::string pending;
    char buffer[16 * 1024];
    while (!outcome.result) {
      if (abort && !outcome.signalled && abort->load()) {
        worker.Signal(SIGTERM);
        outcome.signalled = true;
      }
      pollfd ready{worker.out().get(), POLLIN, 0};
      const int polled = ::poll(&ready, 1, kAbortPollMs);
      if (polled < 0 && errno != EINTR) {
        outcome.broken = std::string("poll: ") + std::strerror(errno);
        return outcome;
      }
      if (polled <= 0) continue;
      const ssize_t n = ::read(worker.out().get(), buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        outcome.broken = std::string("read: ") + std::strerror(errno);
        return outcome;
      }
      if (n == 0) {
        if (!pending.empty()) outcome.broken = "the last line is cut off";
        return outcome;
      }
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t end;
           !outcome.result && (end = pending.find('\n', start)) != std::string::npos;
           start = end + 1) {
        const std::string_view line(pending.data() + start, end - start);
        auto parsed = json::parse(line, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object()) {
          outcome.broken = "an output line is not JSON";
          return outcome;
        }
        if (parsed.contains("log")) {
          Forward(parsed);
        } else {
          outcome.result = std::move(parsed);
        }
      }
      pending.erase(0, start);
      if (pending.size() > worker::kMaxMessageBytes) {
        outcome.broken = "an output line is too long";
        return outcome;
      }
    }
    outcome.trailing = !pending.empty();
    return outcome;
  }

  WorkerBackendOptions options_;
  std::mutex mutex_;  // one call at a time
  std::optional<ChildProcess> worker_;
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
