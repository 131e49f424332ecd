#include "raw_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace uh::agent::testing {
namespace {

constexpr auto kTick = std::chrono::milliseconds(20);

int ListenOnAnyPort(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen failed");
  }
  port = ntohs(address.sin_port);
  return fd;
}

// True when `fd` is readable within one tick.
bool Readable(int fd) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, static_cast<int>(kTick.count())) > 0;
}

}  // namespace

bool RawHttpServer::Connection::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawHttpServer::Connection::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (!server_.stopping_ && std::chrono::steady_clock::now() < deadline) {
    if (!Readable(fd_)) continue;
    if (::recv(fd_, buffer, sizeof(buffer), 0) <= 0) return;
  }
}

RawHttpServer::RawHttpServer(Script script) : script_(std::move(script)) {
  listen_fd_ = ListenOnAnyPort(port_);
  thread_ = std::thread([this] { Serve(); });
}

RawHttpServer::~RawHttpServer() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string RawHttpServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<RawRequest> RawHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void RawHttpServer::Serve() {
  int index = 0;
  while (!stopping_) {
    if (!Readable(listen_fd_)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    RawRequest request;
    if (ReadRequest(fd, request)) {
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      Connection connection(fd, *this);
      script_(connection, request, index++);
    }
    ::close(fd);
  }
}

bool RawHttpServer::ReadRequest(int fd, RawRequest& request) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string data;
  std::size_t head_end = std::string::npos;
  std::size_t body_length = 0;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline && !stopping_) {
    if (head_end != std::string::npos && data.size() >= head_end + 4 + body_length) break;
    if (!Readable(fd)) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::size_t line_start = 0;
      bool first = true;
      while (line_start < head_end) {
        std::size_t line_end = data.find("\r\n", line_start);
        const std::string line = data.substr(line_start, line_end - line_start);
        line_start = line_end + 2;
        if (first) {
          first = false;
          const auto space = line.find(' ');
          request.method = line.substr(0, space);
          request.target = line.substr(space + 1, line.rfind(' ') - space - 1);
          continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::ranges::transform(name, name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        request.headers[name] = value;
      }
      if (request.headers.contains("content-length")) {
        body_length = std::stoul(request.headers["content-length"]);
      }
    }
  }
  if (head_end == std::string::npos || data.size() < head_end + 4 + body_length) return false;
  request.body = data.substr(head_end + 4, body_length);
  return true;
}

std::string RawHead(int status, const std::vector<std::string>& headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
  for (const auto& header : headers) head += header + "\r\n";
  return head + "Connection: close\r\n\r\n";
}

std::uint16_t ClosedPort() {
  std::uint16_t port = 0;
  ::close(ListenOnAnyPort(port));
  return port;
}

}  // namespace uh::agent::testing
