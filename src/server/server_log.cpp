#include "server/server_log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/log.hpp"

namespace uh::server {
namespace {

constexpr std::size_t kAccessQueueLines = 8192;
constexpr const char* kJsonTime = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",)";

// Escapes as a JSON string; bytes that are not UTF-8 become U+FFFD rather than an exception.
std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// %* in a pattern: the message as a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        JsonString(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> JsonFormatter(const std::string& rest) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>('*').set_pattern(kJsonTime + rest);
  return formatter;
}

std::string PathOf(const http::Request& request) {
  const std::string_view target = request.target;
  return std::string(target.substr(0, target.find('?')));
}

}  // namespace

Expected<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Fail(Errc::kInvalidArgument,
              "unknown log format '" + std::string(name) + "' (text, json)");
}

Expected<void> SetupServerLogging(std::string_view level, LogFormat format) {
  UH_TRY(SetupLogging(level));
  if (format == LogFormat::kJson)
    spdlog::default_logger()->set_formatter(JsonFormatter(R"("message":%*})"));
  return {};
}

AccessLog::AccessLog(LogFormat format, spdlog::sink_ptr sink, bool queued) : format_(format) {
  // A sink of its own: a logger sets its format on its sinks, so sharing the process logger's
  // would change that one's too. stdio keeps the two writers' lines whole.
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (queued) {
    queue_ = std::make_shared<spdlog::details::thread_pool>(kAccessQueueLines, 1);
    logger_ = std::make_shared<spdlog::async_logger>("access", std::move(sink), queue_,
                                                     spdlog::async_overflow_policy::overrun_oldest);
  } else {
    logger_ = std::make_shared<spdlog::logger>("access", std::move(sink));
  }
  logger_->set_level(spdlog::level::info);
  if (format_ == LogFormat::kJson) {
    // The message is the record's own fields: "method":"GET",...
    logger_->set_formatter(JsonFormatter(R"("type":"access",%v})"));
  } else {
    logger_->set_formatter(
        std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %^%l%$ access %v"));
  }
}

AccessLog::~AccessLog() { logger_->flush(); }

void AccessLog::Record(const http::Request& request, int status, std::uint64_t bytes) {
  const double duration_ms = request.received == std::chrono::steady_clock::time_point{}
                                 ? 0.0
                                 : std::chrono::duration<double, std::milli>(
                                       std::chrono::steady_clock::now() - request.received)
                                       .count();
  const std::string method(http::MethodName(request.method));
  const std::string path = PathOf(request);
  const std::string agent = request.Header("User-Agent");
  if (format_ == LogFormat::kJson) {
    const nlohmann::json fields = {{"method", method},
                                   {"path", path},
                                   {"status", status},
                                   {"bytes", bytes},
                                   {"duration_ms", std::round(duration_ms * 1000) / 1000},
                                   {"client", request.remote_address},
                                   {"user_agent", agent}};
    std::string line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // Without its braces: the formatter puts time and level in front.
    logger_->info("{}", std::string_view(line).substr(1, line.size() - 2));
  } else {
    logger_->info("{} {} {} {}B {:.1f}ms {} {}", method, JsonString(path), status, bytes,
                  duration_ms, request.remote_address.empty() ? "-" : request.remote_address,
                  JsonString(agent));
  }
}

}  // namespace uh::server
