// Probe and report: small JSON requests whose replies are read into memory, within limits.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "agent/client/operations.hpp"
#include "protocol/bodies.hpp"
#include "protocol/names.hpp"
#include "protocol/replies.hpp"
#include "protocol/url.hpp"

namespace uh::agent::detail {
namespace {

// Keeps the body of a 200 reply up to `max_bytes` (more is kTooLarge), and only the start of
// any other reply (or of every reply when `max_bytes` is 0), for messages.
class BodyCollector final : public ResponseSink {
 public:
  explicit BodyCollector(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  Expected<void> OnHead(const ResponseHead& head) override {
    wanted_ = head.status == 200 && max_bytes_ > 0;
    return {};
  }

  Expected<void> OnBody(std::string_view data) override {
    if (!wanted_) {
      body_.append(data.substr(0, kExcerptBytes - std::min(kExcerptBytes, body_.size())));
      return {};
    }
    if (data.size() > max_bytes_ - body_.size()) {
      return Fail(Errc::kTooLarge,
                  "reply larger than the limit of " + std::to_string(max_bytes_) + " bytes");
    }
    body_.append(data);
    return {};
  }

  [[nodiscard]] std::string Take() { return std::move(body_); }

 private:
  static constexpr std::size_t kExcerptBytes = 512;
  std::size_t max_bytes_;
  bool wanted_ = false;
  std::string body_;
};

}  // namespace

Expected<ProbeResult> RunProbe(CurlSession& session, const nlohmann::json& device_fields,
                               int retries) {
  HttpRequest request;
  request.post = true;
  request.url = protocol::JoinUrl(session.options().server_url, protocol::kProbePath);
  auto body = protocol::ProbeBody(device_fields);
  if (!body) return std::unexpected(std::move(body).error().WithContext("probe"));
  request.body = std::move(*body);
  request.headers.push_back(
      HeaderLine(protocol::kApiRetriesHeader, std::to_string(std::max(retries, 0))));

  BodyCollector reply(session.options().max_metadata_bytes);
  auto head = session.Perform(request, reply);
  if (!head) return std::unexpected(std::move(head).error().WithContext("probe"));
  auto result =
      protocol::InterpretProbeReply(head->status, head->Header(protocol::kExtraPollHeader),
                                    head->Header(protocol::kSignatureHeader), reply.Take());
  if (!result) return std::unexpected(std::move(result).error().WithContext("probe"));
  return result;
}

Expected<void> RunReport(CurlSession& session, const nlohmann::json& device_fields,
                         const ReportRequest& report) {
  const std::string context = "report " + report.status;
  HttpRequest request;
  request.post = true;
  request.url = protocol::JoinUrl(session.options().server_url, protocol::kReportPath);
  auto body = protocol::ReportBody(device_fields, report);
  if (!body) return std::unexpected(std::move(body).error().WithContext(context));
  request.body = std::move(*body);

  BodyCollector reply(0);
  auto head = session.Perform(request, reply);
  if (!head) return std::unexpected(std::move(head).error().WithContext(context));
  // Like the upstream agent, the answer does not matter; a refusal is only worth a log line.
  if (head->status / 100 != 2) {
    spdlog::warn("{}: {}", context, protocol::StatusError(head->status, reply.Take()).message());
  }
  return {};
}

}  // namespace uh::agent::detail
