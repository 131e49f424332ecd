#include "agent/api/log_buffer.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

namespace uh::agent {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> LoggerInto(const std::shared_ptr<LogBuffer>& buffer) {
  auto logger = std::make_shared<spdlog::logger>("test", buffer);
  logger->set_level(spdlog::level::trace);
  return logger;
}

// "2026-08-27T12:00:00.123Z" (std::regex trips GCC 12's warnings under the sanitizers).
bool IsLogTime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return false;
  }
  return true;
}

std::vector<std::string> Messages(const LogBuffer& buffer) {
  std::vector<std::string> messages;
  for (const auto& entry : buffer.Entries()) messages.push_back(entry["message"]);
  return messages;
}

TEST(LogBufferTest, RecordsWhatIsLoggedInUpstreamShape) {
  auto buffer = std::make_shared<LogBuffer>();
  auto logger = LoggerInto(buffer);
  logger->info("probing {}", "https://api.updatehub.io");
  logger->warn("slow");
  logger->error("failed");
  logger->critical("worse");
  logger->debug("detail");
  logger->trace("noise");

  const json log = buffer->ToJson();
  ASSERT_EQ(log["entries"].size(), 6u);
  EXPECT_EQ(log["first_index"], 0);
  const json& first = log["entries"][0];
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["message"], "probing https://api.updatehub.io");
  EXPECT_EQ(first["data"], json::object());
  EXPECT_TRUE(IsLogTime(first["time"].get<std::string>())) << first["time"];
  EXPECT_EQ(first["time"].get<std::string>().size(), 24u);
  std::vector<std::string> levels;
  for (const auto& entry : log["entries"]) levels.push_back(entry["level"]);
  EXPECT_EQ(levels,
            (std::vector<std::string>{"info", "warning", "error", "critical", "debug", "trace"}));
  EXPECT_EQ(buffer->Entries(), log["entries"]);
}

TEST(LogBufferTest, FormatsTimesAsRfc3339WithMilliseconds) {
  const auto time = std::chrono::sys_days{std::chrono::year{2026} / 8 / 27} +
                    std::chrono::hours(12) + std::chrono::milliseconds(45'007);
  EXPECT_EQ(FormatLogTime(time), "2026-08-27T12:00:45.007Z");
}

TEST(LogBufferTest, KeepsKeyValues) {
  LogBuffer buffer;
  buffer.Add(spdlog::level::info, "downloading", {{"object", "rootfs"}, {"bytes", "42"}});
  const json entry = buffer.Entries()[0];
  EXPECT_EQ(entry["data"], (json{{"object", "rootfs"}, {"bytes", "42"}}));
  EXPECT_NE(buffer.RecentText(1000).find("info downloading bytes=42 object=rootfs\n"),
            std::string::npos);
}

TEST(LogBufferTest, IsBoundedByEntriesKeepingTheNewestInOrder) {
  LogBuffer buffer(
      LogBufferLimits{.max_entries = 5, .max_bytes = 1 << 20, .max_message_bytes = 100});
  for (int i = 0; i < 12; ++i) buffer.Add(spdlog::level::info, "entry " + std::to_string(i));
  EXPECT_EQ(buffer.size(), 5u);
  EXPECT_EQ(Messages(buffer),
            (std::vector<std::string>{"entry 7", "entry 8", "entry 9", "entry 10", "entry 11"}));
  EXPECT_EQ(buffer.ToJson()["first_index"], 7);
}

TEST(LogBufferTest, IsBoundedByBytes) {
  LogBuffer buffer(
      LogBufferLimits{.max_entries = 100000, .max_bytes = 16 * 1024, .max_message_bytes = 1000});
  for (int i = 0; i < 2000; ++i) {
    buffer.Add(spdlog::level::err, "could not reach the server, attempt " + std::to_string(i));
  }
  EXPECT_LE(buffer.bytes(), 16u * 1024);
  EXPECT_LT(buffer.size(), 2000u);
  EXPECT_GT(buffer.size(), 10u);
  EXPECT_EQ(Messages(buffer).back(), "could not reach the server, attempt 1999");
  EXPECT_EQ(buffer.ToJson()["first_index"], 2000 - buffer.size());
}

TEST(LogBufferTest, CutsLongMessagesAndRepairsInvalidUtf8) {
  LogBuffer buffer(
      LogBufferLimits{.max_entries = 10, .max_bytes = 1 << 20, .max_message_bytes = 10});
  buffer.Add(spdlog::level::info, std::string(100, 'x'));
  buffer.Add(spdlog::level::info, "bad \xff\xfe byte");
  buffer.Add(spdlog::level::info, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");  // 6 x é
  const auto messages = Messages(buffer);
  EXPECT_EQ(messages[0], "xxxxxxxxxx...");
  EXPECT_EQ(messages[1], "bad \xef\xbf\xbd\xef\xbf\xbd...");
  EXPECT_EQ(messages[2], "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");  // no split character
  EXPECT_NO_THROW((void)buffer.ToJson().dump());
}

TEST(LogBufferTest, CountsConsecutiveRepeats) {
  LogBuffer buffer;
  for (int i = 0; i < 100; ++i) buffer.Add(spdlog::level::err, "probe failed: dns error");
  buffer.Add(spdlog::level::info, "next");
  buffer.Add(spdlog::level::err, "probe failed: dns error");
  EXPECT_EQ(Messages(buffer),
            (std::vector<std::string>{"probe failed: dns error (repeated 100 times)", "next",
                                      "probe failed: dns error"}));
}

TEST(LogBufferTest, ClearForgetsEntriesButKeepsCounting) {
  LogBuffer buffer;
  buffer.Add(spdlog::level::info, "first operation");
  buffer.Clear();
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.bytes(), 0u);
  buffer.Add(spdlog::level::info, "second operation");
  const json log = buffer.ToJson();
  EXPECT_EQ(log["first_index"], 1);
  EXPECT_EQ(log["entries"].size(), 1u);
}

TEST(LogBufferTest, RecentTextKeepsTheNewestWholeLines) {
  LogBuffer buffer;
  for (int i = 0; i < 100; ++i) buffer.Add(spdlog::level::info, "line " + std::to_string(i));
  const std::string all = buffer.RecentText(1 << 20);
  EXPECT_NE(all.find("info line 0\n"), std::string::npos);
  EXPECT_TRUE(all.ends_with("info line 99\n"));

  const std::string some = buffer.RecentText(200);
  EXPECT_LE(some.size(), 200u);
  EXPECT_TRUE(some.ends_with("info line 99\n"));
  EXPECT_EQ(some.find("line 0\n"), std::string::npos);
  // Whole lines only: every line starts with a time.
  std::size_t at = 0;
  while (at < some.size()) {
    EXPECT_TRUE(IsLogTime(some.substr(at, 24))) << some.substr(at);
    at = some.find('\n', at) + 1;
  }
}

TEST(LogBufferTest, RecentTextCutsAnOversizedNewestLineFromTheFront) {
  LogBuffer buffer;
  buffer.Add(spdlog::level::err, "older");
  buffer.Add(spdlog::level::err, std::string(300, 'y') + " the end");
  const std::string text = buffer.RecentText(50);
  EXPECT_EQ(text.size(), 50u);
  EXPECT_TRUE(text.ends_with("y the end\n"));
  EXPECT_EQ(buffer.RecentText(0), "");
}

TEST(LogBufferTest, TakesConcurrentLogging) {
  auto buffer = std::make_shared<LogBuffer>(
      LogBufferLimits{.max_entries = 100000, .max_bytes = 64 << 20, .max_message_bytes = 100});
  auto logger = LoggerInto(buffer);
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) logger->info("t{} {}", t, i);
    });
  }
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) (void)buffer->ToJson().dump();
  });
  for (auto& thread : threads) thread.join();
  reader.join();

  ASSERT_EQ(buffer->size(), static_cast<std::size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);
  for (const auto& message : Messages(*buffer)) {
    int t = 0;
    int i = 0;
    ASSERT_EQ(std::sscanf(message.c_str(), "t%d %d", &t, &i), 2);
    EXPECT_EQ(i, next[t]) << "thread " << t << " out of order";
    next[t] = i + 1;
  }
}

TEST(LogBufferTest, InstallsIntoTheDefaultLogger) {
  const auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("install-test",
                                                 std::make_shared<spdlog::sinks::null_sink_mt>());
  spdlog::set_default_logger(logger);
  auto buffer = std::make_shared<LogBuffer>();
  InstallLogBuffer(buffer);
  spdlog::info("hello {}", 42);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(Messages(*buffer), std::vector<std::string>{"hello 42"});
  EXPECT_EQ(logger->sinks().size(), 2u);
}

}  // namespace
}  // namespace uh::agent
