// The local HTTP API on untrusted requests (any local process may connect), without the HTTP:
// HandleApiRequest with an AgentControl that records what it is asked. The input is
//
//   METHOD TARGET
//   BODY
//
// Every answer is JSON with one of the API's statuses; the agent is only called for routes that
// CallsAgent names, and only with what the API promises it: an http(s) URL without spaces or
// control characters, an absolute path to a regular file. The request is then logged, as the
// agent logs what it is asked, and the log must still be JSON and bounded text.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/api_routes.hpp"
#include "agent/api/log_buffer.hpp"
#include "core/json.hpp"
#include "fuzz_check.hpp"
#include "fuzz_support.hpp"

namespace {

using uh::agent::InstallOutcome;
using uh::agent::ProbeOutcome;

bool IsCleanUrl(std::string_view url) {
  return (url.starts_with("http://") || url.starts_with("https://")) &&
         url.find(' ') == std::string_view::npos && !uh::fuzz::HasControl(url);
}

class RecordingAgent final : public uh::agent::AgentControl {
 public:
  explicit RecordingAgent(unsigned char choice) : choice_(choice) {}

  nlohmann::json Info() override {
    ++calls;
    return {{"state", "park"}, {"version", "2.1.6"}};
  }

  ProbeOutcome RequestProbe(std::optional<std::string> custom_server) override {
    ++calls;
    UH_FUZZ_CHECK(!custom_server || IsCleanUrl(*custom_server),
                  "the agent was asked to probe something that is not an http(s) URL");
    switch (choice_ % 5) {
      case 0:
        return ProbeOutcome::Updating();
      case 1:
        return ProbeOutcome::NoUpdate();
      case 2:
        return ProbeOutcome::TryAgain(choice_);
      case 3:
        return ProbeOutcome::Busy("download");
      default:
        return ProbeOutcome::Failed(custom_server.value_or("unreachable \xff"));
    }
  }

  InstallOutcome RequestLocalInstall(std::filesystem::path file) override {
    ++calls;
    UH_FUZZ_CHECK(file.is_absolute(), "the agent was asked to install a relative path");
    UH_FUZZ_CHECK(file.native().find('\0') == std::string::npos,
                  "the agent was asked to install a path holding a NUL byte");
    UH_FUZZ_CHECK(std::filesystem::is_regular_file(file),
                  "the agent was asked to install something that is not a regular file");
    return choice_ % 2 == 0 ? InstallOutcome::Accepted("park") : InstallOutcome::Busy("install");
  }

  InstallOutcome RequestRemoteInstall(std::string url) override {
    ++calls;
    UH_FUZZ_CHECK(IsCleanUrl(url), "the agent was asked to download something that is not a URL");
    return choice_ % 2 == 0 ? InstallOutcome::Accepted("park") : InstallOutcome::Busy("install");
  }

  bool AbortDownload() override {
    ++calls;
    return choice_ % 2 == 0;
  }

  int calls = 0;

 private:
  unsigned char choice_;
};

void CheckResponse(const uh::agent::ApiResponse& response) {
  switch (response.status) {
    case 200:
    case 400:
    case 404:
    case 406:
    case 500:
      UH_FUZZ_CHECK(response.allow.empty(), "an Allow header outside a 405");
      break;
    case 405:
      UH_FUZZ_CHECK(!response.allow.empty(), "a 405 without an Allow header");
      break;
    default:
      UH_FUZZ_CHECK(false, "a status the API does not answer");
  }
  auto body = uh::ParseJson(response.body, {.max_depth = 32, .max_bytes = response.body.size()});
  if (!body) std::fprintf(stderr, "answer: %s\n", body.error().message().c_str());
  UH_FUZZ_CHECK(body.has_value(), "an answer that is not JSON");
}

void CheckLog(const uh::agent::ApiRequest& request, const uh::agent::ApiResponse& response,
              unsigned char choice) {
  const uh::agent::LogBufferLimits limits{
      .max_entries = 4, .max_bytes = 2048, .max_message_bytes = 256};
  uh::agent::LogBuffer log(limits);
  const auto level = static_cast<spdlog::level::level_enum>(choice % 7);  // trace to off
  log.Add(level, "local API: " + request.method + " " + request.target,
          {{"body", request.body}, {request.body, response.body}});
  log.Add(spdlog::level::err, request.body);
  log.Add(spdlog::level::err, request.body);  // a repeat is counted, not stored again
  std::string_view rest = request.body;
  for (int i = 0; i < 4 && !rest.empty(); ++i) {
    const auto [line, after] = uh::fuzz::SplitFirstLine(rest);
    log.Add(level, line, {{std::string(line), request.target}});
    rest = after;
  }
  UH_FUZZ_CHECK(log.size() <= limits.max_entries, "the log holds more entries than its bound");
  UH_FUZZ_CHECK(log.size() <= 1 || log.bytes() <= limits.max_bytes,
                "the log holds more bytes than its bound");

  std::string json;
  try {
    json = log.ToJson().dump() + log.Entries().dump();  // strict: the log promises UTF-8
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump: %s\n", e.what());
    UH_FUZZ_CHECK(false, "the log does not serialise as JSON");
  }
  UH_FUZZ_CHECK(uh::fuzz::IsValidUtf8(json), "the log's JSON is not UTF-8");
  for (const std::size_t max : {0uz, 1uz, 7uz, 100uz, 10000uz}) {
    const auto text = log.RecentText(max);
    UH_FUZZ_CHECK(text.size() <= max, "the log's recent text is over its bound");
    UH_FUZZ_CHECK(uh::fuzz::IsValidUtf8(text), "the log's recent text is not UTF-8");
  }
  log.Clear();
  UH_FUZZ_CHECK(log.size() == 0 && log.ToJson()["entries"].empty(), "Clear left entries");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto [request_line, body] = uh::fuzz::SplitFirstLine(text);
  const auto space = request_line.find(' ');
  uh::agent::ApiRequest request;
  request.method = std::string(request_line.substr(0, space));
  request.target =
      space == std::string_view::npos ? std::string() : std::string(request_line.substr(space + 1));
  request.body = std::string(body);

  // The last byte picks the agent's answers and the log level.
  const unsigned char choice = size == 0 ? 0 : data[size - 1];
  RecordingAgent agent(choice);
  const uh::agent::LogBuffer log;
  const auto response = uh::agent::HandleApiRequest(request, agent, log);
  CheckResponse(response);
  UH_FUZZ_CHECK(agent.calls <= 1, "one request called the agent more than once");
  UH_FUZZ_CHECK(agent.calls == 0 || uh::agent::CallsAgent(request),
                "the agent was called for a request CallsAgent says does not call it");
  CheckLog(request, response, choice);
  return 0;
}
