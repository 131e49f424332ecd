// The simulator against a server that misbehaves in every way a network or a broken server
// can: garbage, 500, truncated answers, silence, wrong object bytes. Each is counted as an
// error of the device, reported as the agent would, and nothing crashes.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/hash.hpp"
#include "sim/fleet.hpp"
#include "sim_packages.hpp"
#include "support/test_support.hpp"

namespace uh::sim {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::TestObject;

const TestObject kObject{"rootfs.img", uh::testing::RandomBytes(20'000, 31)};

// A blocking HTTP/1.1 server on 127.0.0.1, one thread per connection, whose probe answers
// alternate between broken ones and a valid offer, and whose objects are never the right bytes.
class MisbehavingServer {
 public:
  enum class Probe { kGarbage, kServerError, kTruncated, kSilent, kOffer, kCount };

  explicit MisbehavingServer(testing::TestPackage package)
      : package_(std::move(package)), acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { Accept(); });
  }

  ~MisbehavingServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    {
      // Closing the acceptor does not wake a thread blocked in accept(): a connection does.
      tcp::socket wake(io_);
      wake.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ignored);
    }
    accepting_.join();
    acceptor_.close(ignored);
    {
      std::lock_guard lock(mutex_);
      // Wakes the serving threads; each socket is closed when its thread is done with it.
      for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    for (auto& thread : threads_) thread.join();
  }

  [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  [[nodiscard]] std::vector<json> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  [[nodiscard]] int probes(Probe kind) const { return answered_[static_cast<int>(kind)]; }

 private:
  void Accept() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] { Serve(*socket); });
    }
  }

  void Serve(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      boost::system::error_code ec;
      http::read(socket, buffer, request, ec);
      if (ec) return;
      const std::string target(request.target());
      if (target == "/upgrades") {
        if (!AnswerProbe(socket)) return;
      } else if (target == "/report") {
        {
          std::lock_guard lock(mutex_);
          reports_.push_back(json::parse(request.body(), nullptr, false));
        }
        Write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
      } else {
        // The right size, the wrong bytes.
        std::string wrong = kObject.bytes;
        wrong[wrong.size() / 2] ^= 0x55;
        Write(socket, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(wrong.size()) +
                          "\r\n\r\n" + wrong);
      }
    }
  }

  // False when the connection is to be dropped.
  bool AnswerProbe(tcp::socket& socket) {
    // Every other answer is an offer, so that each device soon gets one.
    constexpr std::array kTurns = {Probe::kGarbage, Probe::kOffer,     Probe::kServerError,
                                   Probe::kOffer,   Probe::kTruncated, Probe::kOffer,
                                   Probe::kSilent,  Probe::kOffer};
    const Probe kind = kTurns[static_cast<std::size_t>(next_probe_++) % kTurns.size()];
    ++answered_[static_cast<int>(kind)];
    switch (kind) {
      case Probe::kGarbage:
        Write(socket, "\x01\x02 this is not HTTP \xff\r\n\r\n");
        return false;
      case Probe::kServerError:
        Write(socket, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!");
        return true;
      case Probe::kTruncated:
        Write(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"product\": ");
        return false;
      case Probe::kSilent:
        return true;  // the client gives up on its own (request timeout)
      case Probe::kOffer:
      case Probe::kCount:
        break;
    }
    Write(socket, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(package_.metadata.size()) +
                      "\r\nUH-Signature: " + package_.signature + "\r\n\r\n" + package_.metadata);
    return true;
  }

  static void Write(tcp::socket& socket, const std::string& data) {
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(data), ignored);
  }

  testing::TestPackage package_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> next_probe_{0};
  std::array<std::atomic<int>, static_cast<int>(Probe::kCount)> answered_{};
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::thread accepting_;
  std::vector<json> reports_;
};

TEST(FleetBadServerTest, EveryKindOfBadAnswerIsAnErrorOfTheDevice) {
  const auto package = testing::MakePackage("2.0", {kObject}, {kObject}, &testing::TestKey());
  MisbehavingServer server(package);
  FleetOptions options;
  options.servers = {server.Url()};
  options.devices = 20;
  options.product_uid = testing::kProduct;
  options.hardware = "board-a";
  options.poll_interval = milliseconds(100);
  options.jitter = milliseconds(50);
  options.retry_base = milliseconds(20);
  options.connections = 16;
  options.request_timeout = milliseconds(200);
  // No device can reach 2.0: the run ends once every device has failed.
  options.until_version = "2.0";
  options.timeout = milliseconds(30'000);
  auto fleet = Fleet::Create(options);
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  const Summary summary = (*fleet)->Run();
  std::cout << FormatSummary(summary);

  EXPECT_EQ(summary.end, EndReason::kGoal) << "every device at 2.0 or failed";
  EXPECT_FALSE(summary.GoalMet()) << "failures nobody planned";
  EXPECT_EQ(summary.at_goal, 0u);
  for (const auto kind :
       {MisbehavingServer::Probe::kGarbage, MisbehavingServer::Probe::kServerError,
        MisbehavingServer::Probe::kTruncated, MisbehavingServer::Probe::kSilent,
        MisbehavingServer::Probe::kOffer}) {
    EXPECT_GT(server.probes(kind), 0) << static_cast<int>(kind);
  }
  EXPECT_GT(summary.probe_errors, 3u);
  EXPECT_GT(summary.timeouts, 0u) << "the silent answers";
  EXPECT_GE(summary.http_errors, summary.probe_errors + summary.download_errors);
  EXPECT_GT(summary.download_errors, 0u) << "the wrong bytes";
  EXPECT_EQ(summary.failed, 20u) << "every device got an offer, then a bad object";
  EXPECT_EQ(summary.failed_planned, 0u);

  // Each device told the server why, as the agent does: an error whose previous state is the
  // step that failed.
  // This server offers the package again after a failure, so devices try again.
  std::set<std::string> reported;
  for (const json& report : server.reports()) {
    ASSERT_TRUE(report.is_object());
    if (report["status"] != "error") continue;
    EXPECT_EQ(report["previous-state"], "downloading");
    EXPECT_EQ(report["package-uid"], package.uid);
    const std::string message = report["error-message"];
    EXPECT_NE(message.find("hashes to"), std::string::npos) << message;
    reported.insert(report["device-identity"]["serial"].get<std::string>());
  }
  EXPECT_EQ(reported.size(), 20u);
  EXPECT_EQ(summary.with_errors, 20u);
  for (const auto& device : (*fleet)->devices()) EXPECT_GT(device.errors, 0u);
}

TEST(FleetBadServerTest, NobodyListeningIsCountedAndRetried) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(tcp::v4(), 0));
    port = probe.local_endpoint().port();
  }  // closed: connections are refused
  FleetOptions options;
  options.servers = {"http://127.0.0.1:" + std::to_string(port)};
  options.devices = 10;
  options.product_uid = testing::kProduct;
  options.poll_interval = milliseconds(100);
  options.jitter = milliseconds(10);
  options.retry_base = milliseconds(10);
  options.duration = milliseconds(500);
  auto fleet = Fleet::Create(options);
  ASSERT_TRUE(fleet.has_value());
  const Summary summary = (*fleet)->Run();
  EXPECT_EQ(summary.end, EndReason::kDuration);
  EXPECT_GT(summary.probe_errors, 10u * 2) << "each device retried";
  EXPECT_EQ(summary.probe_errors, summary.probes);
  EXPECT_EQ(summary.unchanged, 10u);
}

}  // namespace
}  // namespace uh::sim
