#include "e2e/server_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "e2e/e2e_support.hpp"
#include "server/http/http_test_client.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using server::http::testing::Fetch;
using server::http::testing::FetchOptions;

constexpr const char* kAdminPassword = "e2e operator passphrase";

ApiReply ToReply(const server::http::testing::FetchResult& result) {
  ApiReply reply;
  reply.status = result.status;
  reply.text = result.status == 0 ? result.error : result.body;
  reply.body = json::parse(result.body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

// The port in the server's "listening on ADDRESS (port N)" line, once it is there.
std::optional<std::uint16_t> ListeningPort(const std::string& log) {
  const auto line = log.find("listening on ");
  if (line == std::string::npos) return std::nullopt;
  const auto at = log.find("(port ", line);
  if (at == std::string::npos) return std::nullopt;
  const auto end = log.find_first_not_of("0123456789", at + 6);
  if (end == std::string::npos || log[end] != ')' || end == at + 6) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(log.substr(at + 6, end - at - 6)));
}

}  // namespace

ServerProcess::ServerProcess(std::filesystem::path dir, std::vector<std::string> extra_args)
    : dir_(std::move(dir)), log_(dir_ / "server.log"), extra_args_(std::move(extra_args)) {
  std::filesystem::create_directories(dir_ / "data");
}

void ServerProcess::Start(std::uint16_t port) {
  if (Running()) throw std::runtime_error("the server is already running");
  if (port != 0) port_ = port;
  const auto offset = SizeOf(log_);
  std::vector<std::string> argv{ServerBinary().string(),
                                "--listen",
                                "127.0.0.1:" + std::to_string(port_),
                                "--data-dir",
                                (dir_ / "data").string(),
                                "--waiting-poll-seconds",
                                "1"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_ = std::make_unique<ChildProcess>(
      std::move(argv), log_,
      std::vector<std::string>{std::string("UPDATEHUB_ADMIN_PASSWORD=") + kAdminPassword});
  // "updatehub-server listening on 127.0.0.1:0 (port 41234), data in ..."
  std::optional<std::uint16_t> listening;
  const bool up = WaitUntil(
      [&] {
        listening = ListeningPort(ReadIfExists(log_).substr(offset));
        return listening || !process_->Running();
      },
      Limit(30), std::chrono::milliseconds(20));
  if (!up || !listening) {
    throw std::runtime_error(
        "the server did not start (" +
        (process_->Running() ? std::string("still silent") : process_->ending()) + "); its log:\n" +
        Tail(log_, 20));
  }
  port_ = *listening;

  const auto login =
      ToReply(Fetch(Url("/api/v1/login"),
                    {.method = "POST",
                     .headers = {"Content-Type: application/json"},
                     .body = json{{"username", "admin"}, {"password", kAdminPassword}}.dump()}));
  if (login.status != 200 || !login.body.contains("token")) {
    throw std::runtime_error("login failed: " + std::to_string(login.status) + " " + login.text);
  }
  token_ = login.body["token"].get<std::string>();
}

std::string ServerProcess::Stop() {
  if (!process_) return "never started";
  return process_->Terminate(Limit(20));
}

void ServerProcess::Kill() {
  if (process_) process_->Kill();
}

std::string ServerProcess::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

ApiReply ServerProcess::Api(const std::string& method, const std::string& path, const json& body) {
  FetchOptions options;
  options.method = method;
  options.headers = {"Authorization: Bearer " + token_, "Content-Type: application/json"};
  if (!body.is_null()) options.body = body.dump();
  options.timeout_seconds = 30L * kSlowdown;
  return ToReply(Fetch(Url("/api/v1" + path), options));
}

ApiReply ServerProcess::Upload(const std::filesystem::path& package) {
  FetchOptions options;
  options.method = "POST";
  options.headers = {"Authorization: Bearer " + token_, "Content-Type: application/octet-stream"};
  options.upload = package;
  options.timeout_seconds = 60L * kSlowdown;
  return ToReply(Fetch(Url("/api/v1/packages"), options));
}

std::int64_t ServerProcess::Metric(const std::string& name) {
  const auto reply = Fetch(Url("/metrics"));
  if (reply.status != 200) return -1;
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(name + " ")) return std::stoll(line.substr(name.size() + 1));
  }
  return -1;
}

std::string ServerProcess::CreateProduct(const std::string& name, const std::string& uid) {
  json body = {{"name", name}};
  if (!uid.empty()) body["uid"] = uid;
  const auto reply = Api("POST", "/products", body);
  if (reply.status != 201) {
    ADD_FAILURE() << "creating product " << name << ": " << reply.status << " " << reply.text;
    return "";
  }
  return reply.body["uid"].get<std::string>();
}

void ServerProcess::RegisterKey(const std::string& product,
                                const std::filesystem::path& public_key) {
  const auto reply = Api("POST", "/products/" + product + "/keys",
                         {{"name", "e2e key"}, {"public_key", ReadIfExists(public_key)}});
  if (reply.status != 201) {
    ADD_FAILURE() << "registering " << public_key << ": " << reply.status << " " << reply.text;
  }
}

std::string ServerProcess::UploadPackage(const std::filesystem::path& package) {
  const auto reply = Upload(package);
  if (reply.status != 201 || !reply.body.contains("uid")) {
    ADD_FAILURE() << "uploading " << package << ": " << reply.status << " " << reply.text;
    return "";
  }
  return reply.body["uid"].get<std::string>();
}

std::int64_t ServerProcess::CreateRollout(const std::string& product, const json& definition) {
  const auto reply = Api("POST", "/products/" + product + "/rollouts", definition);
  if (reply.status != 201 || !reply.body.contains("id")) {
    ADD_FAILURE() << "creating the rollout " << definition.dump() << ": " << reply.status << " "
                  << reply.text;
    return 0;
  }
  return reply.body["id"].get<std::int64_t>();
}

json ServerProcess::Rollout(std::int64_t id) {
  const auto reply = Api("GET", "/rollouts/" + std::to_string(id));
  return reply.status == 200 && reply.body.is_object() ? reply.body : json::object();
}

json ServerProcess::Devices(const std::string& product) {
  const auto reply = Api("GET", "/devices?product=" + product + "&limit=1000");
  if (reply.status != 200 || !reply.body.contains("devices")) return json::array();
  return reply.body["devices"];
}

json ServerProcess::Reports(const std::string& query) {
  const auto reply = Api("GET", "/reports?limit=1000" + (query.empty() ? "" : "&" + query));
  if (reply.status != 200 || !reply.body.contains("reports")) {
    ADD_FAILURE() << "listing reports (" << query << "): " << reply.status << " " << reply.text;
    return json::array();
  }
  json reports = reply.body["reports"];
  std::sort(reports.begin(), reports.end(), [](const json& a, const json& b) {
    return a.value("id", std::int64_t{0}) < b.value("id", std::int64_t{0});
  });
  return reports;
}

std::int64_t CountOf(const json& rollout, const std::string& state) {
  const auto pointer = json::json_pointer("/statistics/states/" + state + "/count");
  return rollout.contains(pointer) ? rollout[pointer].get<std::int64_t>() : -1;
}

std::int64_t StageCountOf(const json& rollout, std::size_t stage, const std::string& state) {
  const auto pointer =
      json::json_pointer("/statistics/stages/" + std::to_string(stage) +
                         (state == "total" ? "/total" : "/states/" + state + "/count"));
  return rollout.contains(pointer) ? rollout[pointer].get<std::int64_t>() : -1;
}

}  // namespace uh::e2e
