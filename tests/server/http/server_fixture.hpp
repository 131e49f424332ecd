#pragma once

// A real server on 127.0.0.1, port 0, for the tests that talk to it over sockets.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/http/http.hpp"
#include "support/test_support.hpp"

namespace uh::server::http::testing {

class ServerFixture : public ::testing::Test {
 protected:
  ServerFixture() { std::filesystem::create_directory(uploads_); }

  // Starts the server with `router`; tests tweak `options_` first.
  void StartServer(std::shared_ptr<const Router> router) {
    options_.address = "127.0.0.1";
    options_.port = 0;
    if (options_.threads == 0) options_.threads = 2;
    options_.temp_dir = uploads_;
    auto started = HttpServer::Start(options_, std::move(router));
    ASSERT_TRUE(started) << started.error().message();
    server_ = std::move(*started);
  }

  [[nodiscard]] std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] bool UploadsEmpty() const { return std::filesystem::is_empty(uploads_); }

  uh::testing::TempDir dir_;
  std::filesystem::path uploads_ = dir_ / "uploads";
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace uh::server::http::testing
