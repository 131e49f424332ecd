#include "raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace uh::agent::api_test {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::string RawConnection::ReadAll(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  char buffer[4096];
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, RemainingMs(deadline));
    if (ready <= 0) break;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

RawReply RawConnection::ReadReply(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  char buffer[4096];
  for (;;) {
    const auto head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      RawReply reply = ParseRawReply(data.substr(0, head_end + 4));
      std::size_t length = 0;
      const auto at = reply.head.find("Content-Length: ");
      if (at != std::string::npos) length = std::strtoul(reply.head.c_str() + at + 16, nullptr, 10);
      if (data.size() >= head_end + 4 + length) {
        reply.body = data.substr(head_end + 4, length);
        pending_ = data.substr(head_end + 4 + length);
        return reply;
      }
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, RemainingMs(deadline)) <= 0) return {};
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return {};
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

bool RawConnection::ClosedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, RemainingMs(deadline)) <= 0) return false;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
}

RawReply ParseRawReply(const std::string& text) {
  RawReply reply;
  if (!text.starts_with("HTTP/1.1 ") || text.size() < 12) return reply;
  reply.status = std::atoi(text.substr(9, 3).c_str());
  const auto head_end = text.find("\r\n\r\n");
  reply.head = text.substr(0, head_end == std::string::npos ? text.size() : head_end + 4);
  if (head_end != std::string::npos) reply.body = text.substr(head_end + 4);
  return reply;
}

RawReply Exchange(std::uint16_t port, std::string_view request, std::chrono::milliseconds timeout) {
  RawConnection connection(port);
  if (!connection.connected() || !connection.Send(request)) return {};
  return ParseRawReply(connection.ReadAll(timeout));
}

std::string MakeRequest(std::string_view method, std::string_view path, std::string_view body) {
  std::string request;
  request += method;
  request += ' ';
  request += path;
  request += " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    request += "Content-Type: application/json\r\nContent-Length: ";
    request += std::to_string(body.size());
    request += "\r\n";
  }
  request += "\r\n";
  request += body;
  return request;
}

}  // namespace uh::agent::api_test
