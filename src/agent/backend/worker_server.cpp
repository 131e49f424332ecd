#include "agent/backend/worker_server.hpp"

#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "agent/backend/local_backend.hpp"
#include "agent/backend/worker_protocol.hpp"
#include "core/json.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;

std::atomic<bool> g_abort{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnAbortSignal(int) { g_abort.store(true); }

std::mutex g_out_mutex;

// One line to stdout, whole (the daemon reads lines).
void WriteLine(const json& value) {
  const std::string line = DumpJson(value) + "\n";
  std::lock_guard lock(g_out_mutex);
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the daemon is gone; so are we, soon
    done += static_cast<std::size_t>(n);
  }
}

// spdlog sink: every record becomes a log line for the daemon to log.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    WriteLine({{"log", std::string(spdlog::level::to_string_view(msg.level).data(),
                                   spdlog::level::to_string_view(msg.level).size())},
               {"msg", std::string(msg.payload.data(), msg.payload.size())}});
  }
  void flush_() override {}
};

// The requests on stdin, one per line.
class RequestReader {
 public:
  // The next request; nullopt at the end of the input, or once an abort came.
  Expected<std::optional<std::string>> Next() {
    while (true) {
      if (const auto end = buffer_.find('\n', scanned_); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        scanned_ = 0;
        return line;
      }
      scanned_ = buffer_.size();
      if (buffer_.size() > worker::kMaxMessageBytes) {
        return Fail(Errc::kTooLarge, "worker request too large");
      }
      char chunk[64 * 1024];
      const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) {
        if (g_abort.load()) return std::nullopt;
        continue;
      }
      if (n < 0) return FailErrno("reading a worker request");
      if (n == 0) {
        if (buffer_.empty()) return std::nullopt;
        return Fail(Errc::kMalformed, "worker request cut off");
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  std::string buffer_;
  std::size_t scanned_ = 0;  // no newline before this offset
};

// A result as JSON: null for operations that return nothing.
Expected<json> Encode(Expected<void> done) {
  if (!done) return std::unexpected(std::move(done).error());
  return json(nullptr);
}
template <typename T>
Expected<json> Encode(Expected<T> value) {
  if (!value) return std::unexpected(std::move(value).error());
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    return json(*value);
  } else {
    return worker::ToJson(*value);
  }
}

Expected<std::string> Text(const json& args, const char* key) {
  const auto it = args.find(key);
  if (it == args.end() || !it->is_string()) {
    return Fail(Errc::kMalformed, std::string("worker request: ") + key + " expected");
  }
  return it->get<std::string>();
}

const json& Field(const json& args, const char* key) {
  static const json kNull;
  const auto it = args.find(key);
  return it == args.end() ? kNull : *it;
}

// The server operations.
Expected<json> ServeServer(UpdateBackend& backend, worker::Op op, const json& args) {
  auto server = worker::ClientOptionsFrom(Field(args, "server"));
  if (!server) return std::unexpected(std::move(server).error());
  const json& device = Field(args, "device");
  if (op == worker::Op::kProbe) {
    const json& retries = Field(args, "retries");
    return Encode(
        backend.Probe(*server, device, retries.is_number_integer() ? retries.get<int>() : 0));
  }
  if (op == worker::Op::kReport) {
    auto report = worker::ReportRequestFrom(Field(args, "report"));
    if (!report) return std::unexpected(std::move(report).error());
    return Encode(backend.Report(*server, device, *report));
  }
  if (op == worker::Op::kDownloadObject) {
    auto download = worker::ObjectDownloadFrom(Field(args, "download"));
    if (!download) return std::unexpected(std::move(download).error());
    return Encode(backend.DownloadObject(*server, *download, g_abort));
  }
  if (op == worker::Op::kDownloadUrl) {
    auto url = Text(args, "url");
    auto dest = Text(args, "dest");
    const json& max_size = Field(args, "max_size");
    if (!url || !dest || !max_size.is_number_unsigned()) {
      return Fail(Errc::kMalformed, "worker request: url, dest and max_size expected");
    }
    return Encode(
        backend.DownloadUrl(*server, *url, *dest, g_abort, max_size.get<std::uint64_t>()));
  }
  return Fail(Errc::kInternal, "worker: not a server operation");
}

// The operations on one object and its install context.
Expected<json> ServeObject(UpdateBackend& backend, worker::Op op, const json& args) {
  auto object = package::ObjectFromJson(Field(args, "object"));
  if (!object) return std::unexpected(std::move(object).error());
  if (op == worker::Op::kVerifyObjectFile) {
    auto file = Text(args, "file");
    if (!file) return std::unexpected(std::move(file).error());
    return Encode(backend.VerifyObjectFile(*file, *object));
  }
  if (op == worker::Op::kExtractObject) {
    auto file = Text(args, "file");
    auto dest = Text(args, "dest");
    if (!file || !dest) return Fail(Errc::kMalformed, "worker request: file and dest expected");
    return Encode(backend.ExtractObject(*file, *object, *dest));
  }
  auto ctx = worker::InstallContextFrom(Field(args, "context"));
  if (!ctx) return std::unexpected(std::move(ctx).error());
  if (op == worker::Op::kCheckRequirements) return Encode(backend.CheckRequirements(*object, *ctx));
  if (op == worker::Op::kAlreadyInstalled) return Encode(backend.AlreadyInstalled(*object, *ctx));
  if (op == worker::Op::kInstall) return Encode(backend.Install(*object, *ctx));
  if (op == worker::Op::kInstallFromPackage) {
    auto file = Text(args, "file");
    if (!file) return std::unexpected(std::move(file).error());
    return Encode(backend.InstallFromPackage(*file, *object, *ctx, g_abort));
  }
  if (op == worker::Op::kStreamInstall) {
    auto server = worker::ClientOptionsFrom(Field(args, "server"));
    if (!server) return std::unexpected(std::move(server).error());
    auto download = worker::ObjectDownloadFrom(Field(args, "download"));
    if (!download) return std::unexpected(std::move(download).error());
    return Encode(backend.StreamInstall(*server, *download, *object, *ctx, g_abort));
  }
  if (op == worker::Op::kVerifyStreamed) {
    auto target = worker::StreamTargetFrom(Field(args, "target"));
    if (!target) return std::unexpected(std::move(target).error());
    return Encode(backend.VerifyStreamed(*object, *target, *ctx));
  }
  return Fail(Errc::kInternal, "worker: not an object operation");
}

Expected<json> Serve(UpdateBackend& backend, std::string_view name, const json& args) {
  const auto op = worker::OpFromName(name);
  if (!op)
    return Fail(Errc::kUnsupported, "worker request: unknown operation " + std::string(name));
  switch (*op) {
    case worker::Op::kProbe:
    case worker::Op::kReport:
    case worker::Op::kDownloadObject:
    case worker::Op::kDownloadUrl:
      return ServeServer(backend, *op, args);
    case worker::Op::kVerifyObjectFile:
    case worker::Op::kCheckRequirements:
    case worker::Op::kAlreadyInstalled:
    case worker::Op::kInstall:
    case worker::Op::kVerifyStreamed:
    case worker::Op::kStreamInstall:
    case worker::Op::kExtractObject:
    case worker::Op::kInstallFromPackage:
      return ServeObject(backend, *op, args);
    case worker::Op::kVerifySignature: {
      auto key = Text(args, "public_key");
      auto metadata = Text(args, "metadata");
      auto signature = Text(args, "signature");
      if (!key || !metadata || !signature) {
        return Fail(Errc::kMalformed, "worker request: public_key, metadata, signature expected");
      }
      return Encode(backend.VerifySignature(*key, *metadata, *signature));
    }
    case worker::Op::kPackageUid: {
      auto metadata = Text(args, "metadata");
      if (!metadata) return std::unexpected(std::move(metadata).error());
      return Encode(backend.PackageUid(*metadata));
    }
    case worker::Op::kUnpackPackage: {
      auto file = Text(args, "file");
      auto dir = Text(args, "dir");
      if (!file || !dir) return Fail(Errc::kMalformed, "worker request: file and dir expected");
      return Encode(backend.UnpackPackage(*file, *dir));
    }
    case worker::Op::kReadPackage: {
      auto file = Text(args, "file");
      if (!file) return std::unexpected(std::move(file).error());
      return Encode(backend.ReadPackage(*file));
    }
  }
  return Fail(Errc::kInternal, "worker request: unhandled operation " + std::string(name));
}

}  // namespace

int RunWorker() {
  struct sigaction action {};
  action.sa_handler = &OnAbortSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  auto logger = std::make_shared<spdlog::logger>("worker", std::make_shared<LineSink>());
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);

  auto backend = MakeLocalBackend();
  RequestReader requests;
  while (!g_abort.load()) {
    auto line = requests.Next();
    if (!line) {
      WriteLine({{"error", worker::ToJson(line.error())}});
      return 2;
    }
    if (!*line) break;
    const auto request = json::parse(**line, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("op") ||
        !request["op"].is_string() || !request.contains("args") || !request["args"].is_object()) {
      WriteLine({{"error", worker::ToJson(uh::Error(Errc::kMalformed,
                                                    "worker request: {op, args} expected"))}});
      continue;
    }
    auto result = Serve(*backend, request["op"].get<std::string>(), request["args"]);
    if (result) {
      WriteLine({{"ok", std::move(*result)}});
    } else {
      WriteLine({{"error", worker::ToJson(result.error())}});
    }
  }
  return 0;
}

}  // namespace uh::agent
