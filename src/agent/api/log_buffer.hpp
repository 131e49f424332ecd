#pragma once

// The agent's recent log, kept in memory for GET /log and for the `current-log` field of error
// reports. An spdlog sink, installed into the default logger beside the console sink.
//
// Bounded by entry count and by bytes; the oldest entries go first. Consecutive repeats of one
// entry (an offline device failing the same probe again and again) are counted, not stored
// again: "Probe failed (repeated 42 times)". Messages are stored as valid UTF-8 (invalid bytes
// become U+FFFD), so the JSON can always be written. Thread safe.

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace uh::agent {

struct LogBufferLimits {
  std::size_t max_entries = 1000;
  std::size_t max_bytes = 256 * 1024;
  std::size_t max_message_bytes = 4096;  // longer messages are cut (with "...")
};

using LogData = std::map<std::string, std::string>;

class LogBuffer final : public spdlog::sinks::sink {
 public:
  explicit LogBuffer(LogBufferLimits limits = {});

  // Records an entry with key/values (spdlog messages carry none).
  void Add(spdlog::level::level_enum level, std::string_view message, const LogData& data = {},
           std::chrono::system_clock::time_point time = std::chrono::system_clock::now());

  // The GET /log body, upstream's shape:
  //   {"entries": [{"level": "info", "message": "...", "time": "...", "data": {}}, ...],
  //    "first_index": N}
  // `first_index` is the number of entries ever recorded before the first one listed, so a
  // reader polling the log can tell new entries from ones it has already seen.
  [[nodiscard]] nlohmann::json ToJson() const;
  // Just the "entries" array of ToJson.
  [[nodiscard]] nlohmann::json Entries() const;

  // The most recent entries as "TIME LEVEL MESSAGE key=value" lines, at most `max_bytes` long:
  // whole lines from the newest back; a newest line longer than that keeps its end.
  [[nodiscard]] std::string RecentText(std::size_t max_bytes) const;

  // Forgets the entries (a new operation starts); first_index keeps counting.
  void Clear();

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t bytes() const;

  // spdlog::sinks::sink
  void log(const spdlog::details::log_msg& msg) override;
  void flush() override {}
  void set_pattern(const std::string& /*pattern*/) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter> /*formatter*/) override {}

 private:
  struct Entry {
    spdlog::level::level_enum level;
    std::string message;
    std::string time;
    LogData data;
    std::size_t count = 1;

    [[nodiscard]] std::size_t Bytes() const;
    [[nodiscard]] std::string DisplayMessage() const;
  };

  [[nodiscard]] std::string TextLine(const Entry& entry) const;
  [[nodiscard]] static nlohmann::json EntryJson(const Entry& entry);

  LogBufferLimits limits_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
  std::size_t bytes_ = 0;
  std::size_t inserted_ = 0;
};

// Upstream's name of a level in /log: "critical", "error", "warning", "info", "debug", "trace".
[[nodiscard]] std::string_view LogLevelName(spdlog::level::level_enum level);

// "2026-08-27T12:00:00.123Z": RFC 3339, UTC, milliseconds.
[[nodiscard]] std::string FormatLogTime(std::chrono::system_clock::time_point time);

// Adds `buffer` to the default logger's sinks (after SetupLogging), so that everything logged
// also lands in it.
void InstallLogBuffer(const std::shared_ptr<LogBuffer>& buffer);

}  // namespace uh::agent
