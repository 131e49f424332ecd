#pragma once

// The server's logs: plain text or JSON lines (one object per line, for log collectors), and
// the access log, a line per request answered.

#include <spdlog/async_logger.h>
#include <spdlog/common.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/error.hpp"
#include "server/http/http.hpp"

namespace uh::server {

enum class LogFormat { kText, kJson };

// "text" or "json".
[[nodiscard]] Expected<LogFormat> ParseLogFormat(std::string_view name);

// The process's logger at `level` ("info", ...), in `format`. JSON lines carry "time" (UTC),
// "level" and "message".
[[nodiscard]] Expected<void> SetupServerLogging(std::string_view level, LogFormat format);

// One line per request: method, path (without the query, which may carry secrets), status,
// bytes sent, duration, client address and User-Agent. Lines go through a queue served by a
// thread of their own, so that a slow terminal or journal never holds up a request; when the
// queue is full the oldest lines are dropped rather than the requests slowed.
class AccessLog {
 public:
  // `sink`: where lines go (null: stderr, as the process's logger). `queued` false writes
  // each line at once, for tests.
  AccessLog(LogFormat format, spdlog::sink_ptr sink = nullptr, bool queued = true);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Record(const http::Request& request, int status, std::uint64_t bytes);

 private:
  LogFormat format_;
  std::shared_ptr<spdlog::details::thread_pool> queue_;  // the async logger holds it weakly
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace uh::server
