#include "agent/client/client.hpp"

#include <algorithm>
#include <utility>

#include "agent/client/curl_session.hpp"
#include "agent/client/operations.hpp"

namespace uh::agent {
namespace {

class CurlClient final : public Client {
 public:
  explicit CurlClient(std::unique_ptr<detail::CurlSession> session)
      : session_(std::move(session)) {}

  Expected<ProbeResult> Probe(const nlohmann::json& device_fields, int retries) override {
    return detail::RunProbe(*session_, device_fields, retries);
  }

  Expected<void> DownloadObject(const ObjectDownload& download,
                                const DownloadControl& control) override {
    return detail::RunDownloadObject(*session_, download, control);
  }

  Expected<void> StreamObject(const ObjectDownload& download, const ObjectConsumer& consume,
                              const DownloadControl& control) override {
    return detail::RunStreamObject(*session_, download, consume, control);
  }

  Expected<void> DownloadUrl(const std::string& url, const std::filesystem::path& dest,
                             const DownloadControl& control, std::uint64_t max_size) override {
    return detail::RunDownloadUrl(*session_, url, dest, control, max_size);
  }

  Expected<void> Report(const nlohmann::json& device_fields, const ReportRequest& report) override {
    return detail::RunReport(*session_, device_fields, report);
  }

 private:
  std::unique_ptr<detail::CurlSession> session_;
};

}  // namespace

std::optional<std::chrono::milliseconds> DownloadTimeLimit(const ClientOptions& options,
                                                           std::uint64_t bytes) {
  if (options.download_min_rate == 0) return std::nullopt;
  // Capped far beyond any real transfer so that a huge size cannot overflow the clock.
  constexpr std::uint64_t kMaxSeconds = 10ULL * 365 * 24 * 3600;
  const std::uint64_t rate = options.download_min_rate;
  const std::uint64_t seconds = std::min(bytes / rate, kMaxSeconds);
  const std::uint64_t millis = (bytes % rate) * 1000 / rate;
  return options.download_time_allowance + std::chrono::seconds(seconds) +
         std::chrono::milliseconds(millis);
}

Expected<std::unique_ptr<Client>> MakeClient(ClientOptions options) {
  auto session = detail::CurlSession::Create(std::move(options));
  if (!session) return std::unexpected(std::move(session).error());
  return std::make_unique<CurlClient>(std::move(*session));
}

}  // namespace uh::agent
