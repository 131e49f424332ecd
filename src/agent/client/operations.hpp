#pragma once

// The client's operations as plain functions over a session; client.cpp wires them to the
// Client interface. Internal to the client library.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/client/client.hpp"
#include "agent/client/curl_session.hpp"
#include "core/error.hpp"

namespace uh::agent::detail {

[[nodiscard]] Expected<ProbeResult> RunProbe(CurlSession& session,
                                             const nlohmann::json& device_fields, int retries);
[[nodiscard]] Expected<void> RunReport(CurlSession& session, const nlohmann::json& device_fields,
                                       const ReportRequest& report);
[[nodiscard]] Expected<void> RunDownloadObject(CurlSession& session, const ObjectDownload& download,
                                               const DownloadControl& control);
[[nodiscard]] Expected<void> RunStreamObject(CurlSession& session, const ObjectDownload& download,
                                             const Client::ObjectConsumer& consume,
                                             const DownloadControl& control);
[[nodiscard]] Expected<void> RunDownloadUrl(CurlSession& session, const std::string& url,
                                            const std::filesystem::path& dest,
                                            const DownloadControl& control, std::uint64_t max_size);

}  // namespace uh::agent::detail
