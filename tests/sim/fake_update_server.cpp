#include "fake_update_server.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "core/hash.hpp"

namespace uh::sim::testing {
namespace {

class FakeClient final : public HttpClient {
 public:
  FakeClient(boost::asio::io_context& io, FakeUpdateServer& server) : io_(io), server_(server) {}

  void Send(HttpRequest request, HttpCallback done) override {
    ++queued_;
    boost::asio::post(io_, [this, request = std::move(request), done = std::move(done)] {
      --queued_;
      if (shut_down_) return done(Fail(Errc::kCancelled, "shut down"));
      server_.Answer(request, done);
    });
  }
  void Shutdown() override { shut_down_ = true; }
  [[nodiscard]] std::size_t queued() const override { return queued_; }

 private:
  boost::asio::io_context& io_;
  FakeUpdateServer& server_;
  std::size_t queued_ = 0;
  bool shut_down_ = false;
};

HttpResponse Status(int status) {
  HttpResponse response;
  response.status = status;
  return response;
}

}  // namespace

ClientFactory FakeUpdateServer::Factory() {
  return [this](boost::asio::io_context& io, const FleetOptions&,
                const std::string&) -> Expected<std::unique_ptr<HttpClient>> {
    return std::make_unique<FakeClient>(io, *this);
  };
}

ClientFactory FactoryOf(std::vector<FakeUpdateServer*> servers) {
  return [servers](boost::asio::io_context& io, const FleetOptions& options,
                   const std::string& url) -> Expected<std::unique_ptr<HttpClient>> {
    for (std::size_t i = 0; i < options.servers.size() && i < servers.size(); ++i) {
      if (options.servers[i] == url) return std::make_unique<FakeClient>(io, *servers[i]);
    }
    return Fail(Errc::kInvalidArgument, "no fake server for " + url);
  };
}

void FakeUpdateServer::Answer(const HttpRequest& request, const HttpCallback& done) {
  if (down_) return done(Fail(Errc::kIo, "connecting: Connection refused"));
  ++answered_;
  if (request.target == "/upgrades") return Probe(request, done);
  if (request.target == "/report") return Report(request, done);
  return Object(request, done);
}

void FakeUpdateServer::Probe(const HttpRequest& request, const HttpCallback& done) {
  ++probes_;
  const auto body = nlohmann::json::parse(request.body);
  const std::string serial = body["device-identity"]["serial"];
  const std::string version = body["version"];
  versions_[serial] = version;
  const auto package_version = nlohmann::json::parse(package_.metadata)["version"];
  if (version == package_version || failed_[serial]) return done(Status(404));
  HttpResponse offer = Status(200);
  offer.body = package_.metadata;
  if (!package_.signature.empty()) offer.headers.emplace_back("uh-signature", package_.signature);
  done(std::move(offer));
}

void FakeUpdateServer::Report(const HttpRequest& request, const HttpCallback& done) {
  const auto body = nlohmann::json::parse(request.body);
  const std::string serial = body["device-identity"]["serial"];
  std::string status = body["status"];
  if (die_at_report_ == status) {
    down_ = true;
    return done(Fail(Errc::kIo, "connecting: Connection refused"));
  }
  if (body["package-uid"] != package_.uid) status += "[wrong package]";
  if (status == "error") {
    status += "(" + body["previous-state"].get<std::string>() + ")";
    if (body.value("error-message", "").empty()) status += "[no message]";
    failed_[serial] = true;
  }
  reports_[serial].push_back(status);
  done(Status(200));
}

void FakeUpdateServer::Object(const HttpRequest& request, const HttpCallback& done) {
  const TestObject* found = nullptr;
  for (const auto& object : package_.objects) {
    if (request.target.ends_with("/objects/" + Sha256Hex(object.bytes))) found = &object;
  }
  if (found == nullptr) return done(Status(404));
  const std::uint64_t start = request.range_start.value_or(0);
  HttpResponse response = Status(start > 0 ? 206 : 200);
  if (start > 0) {
    ++range_requests_;
    response.headers.emplace_back("content-range", "bytes " + std::to_string(start) + "-" +
                                                       std::to_string(found->bytes.size() - 1) +
                                                       "/" + std::to_string(found->bytes.size()));
  }
  if (request.on_head && !request.on_head(response)) {
    response.abandoned = true;
    return done(std::move(response));
  }
  // In pieces, as a network delivers them; half of them when the server dies.
  std::string_view rest = std::string_view(found->bytes).substr(start);
  if (die_after_ && answered_ > *die_after_) {
    down_ = true;
    rest = rest.substr(0, rest.size() / 2);
    while (!rest.empty()) {
      const std::string_view piece = rest.substr(0, 1500);
      rest.remove_prefix(piece.size());
      bytes_served_ += piece.size();
      if (!request.on_body(piece)) break;
    }
    return done(Fail(Errc::kIo, "reading the body: Connection reset by peer"));
  }
  while (!rest.empty()) {
    const std::string_view piece = rest.substr(0, 1500);
    rest.remove_prefix(piece.size());
    bytes_served_ += piece.size();
    if (!request.on_body(piece)) {
      response.abandoned = true;
      break;
    }
  }
  done(std::move(response));
}

}  // namespace uh::sim::testing
