#include "agent/api/log_buffer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <vector>

namespace uh::agent {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
constexpr std::string_view kCutMark = "...";

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  struct Lead {
    unsigned char mask, value;
    std::size_t len;
    std::uint32_t min;
  };
  static constexpr Lead kLeads[] = {
      {0xe0, 0xc0, 2, 0x80}, {0xf0, 0xe0, 3, 0x800}, {0xf8, 0xf0, 4, 0x10000}};
  const Lead* lead = nullptr;
  for (const Lead& candidate : kLeads) {
    if ((c & candidate.mask) == candidate.value) lead = &candidate;
  }
  if (lead == nullptr) return 0;
  const std::size_t len = lead->len;
  const std::uint32_t min = lead->min;
  std::uint32_t cp = c & static_cast<unsigned char>(~lead->mask);
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (next & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Valid UTF-8 of at most `max_bytes` (not counting the cut mark): invalid bytes become U+FFFD,
// and a cut never splits a character.
std::string SanitizedUtf8(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = Utf8SequenceLength(text, i);
    const std::string_view piece = len == 0 ? kReplacement : text.substr(i, len);
    if (out.size() + piece.size() > max_bytes) {
      out += kCutMark;
      break;
    }
    out += piece;
    i += len == 0 ? 1 : len;
  }
  return out;
}

// The last `max_bytes` of `text` (valid UTF-8), starting on a character boundary.
std::string_view Utf8Tail(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t start = text.size() - max_bytes;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80) {
    ++start;
  }
  return text.substr(start);
}

}  // namespace

std::string_view LogLevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warning";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::string FormatLogTime(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];  // room for any int the compiler imagines
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return buffer;
}

LogBuffer::LogBuffer(LogBufferLimits limits) : limits_(limits) {
  if (limits_.max_entries == 0) limits_.max_entries = 1;
}

std::size_t LogBuffer::Entry::Bytes() const {
  std::size_t total = sizeof(Entry) + message.size() + time.size();
  for (const auto& [key, value] : data) total += key.size() + value.size() + 64;
  return total;
}

std::string LogBuffer::Entry::DisplayMessage() const {
  if (count <= 1) return message;
  return message + " (repeated " + std::to_string(count) + " times)";
}

void LogBuffer::Add(spdlog::level::level_enum level, std::string_view message, const LogData& data,
                    std::chrono::system_clock::time_point time) {
  if (level == spdlog::level::off) return;
  Entry entry{level, SanitizedUtf8(message, limits_.max_message_bytes), FormatLogTime(time), {}, 1};
  for (const auto& [key, value] : data) {
    entry.data.emplace(SanitizedUtf8(key, 256), SanitizedUtf8(value, limits_.max_message_bytes));
  }

  std::lock_guard lock(mutex_);
  if (!entries_.empty()) {
    Entry& last = entries_.back();
    if (last.level == entry.level && last.message == entry.message && last.data == entry.data) {
      ++last.count;
      return;
    }
  }
  bytes_ += entry.Bytes();
  entries_.push_back(std::move(entry));
  ++inserted_;
  // The newest entry always stays, even alone over the byte bound (messages are cut anyway).
  while (entries_.size() > 1 &&
         (entries_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)) {
    bytes_ -= entries_.front().Bytes();
    entries_.pop_front();
  }
}

void LogBuffer::log(const spdlog::details::log_msg& msg) {
  Add(msg.level, std::string_view(msg.payload.data(), msg.payload.size()), {}, msg.time);
}

nlohmann::json LogBuffer::EntryJson(const Entry& entry) {
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [key, value] : entry.data) data[key] = value;
  return {{"level", LogLevelName(entry.level)},
          {"message", entry.DisplayMessage()},
          {"time", entry.time},
          {"data", std::move(data)}};
}

nlohmann::json LogBuffer::Entries() const {
  nlohmann::json list = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) list.push_back(EntryJson(entry));
  return list;
}

nlohmann::json LogBuffer::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  std::size_t first_index = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : entries_) list.push_back(EntryJson(entry));
    first_index = inserted_ - entries_.size();
  }
  return {{"entries", std::move(list)}, {"first_index", first_index}};
}

std::string LogBuffer::TextLine(const Entry& entry) const {
  std::string line = entry.time;
  line += ' ';
  line += LogLevelName(entry.level);
  line += ' ';
  line += entry.DisplayMessage();
  for (const auto& [key, value] : entry.data) {
    line += ' ';
    line += key;
    line += '=';
    line += value;
  }
  line += '\n';
  return line;
}

std::string LogBuffer::RecentText(std::size_t max_bytes) const {
  std::vector<std::string> lines;  // newest first
  std::size_t total = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      std::string line = TextLine(*it);
      if (total + line.size() > max_bytes) {
        if (lines.empty()) lines.emplace_back(Utf8Tail(line, max_bytes));
        break;
      }
      total += line.size();
      lines.push_back(std::move(line));
    }
  }
  std::string text;
  text.reserve(total);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) text += *it;
  return text;
}

void LogBuffer::Clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  bytes_ = 0;
}

std::size_t LogBuffer::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t LogBuffer::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void InstallLogBuffer(const std::shared_ptr<LogBuffer>& buffer) {
  spdlog::default_logger()->sinks().push_back(buffer);
}

}  // namespace uh::agent
