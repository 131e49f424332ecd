#include "sim/object_transfer.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "protocol/replies.hpp"

namespace uh::sim {
namespace {

std::optional<std::string> HeaderText(const HttpResponse& head, std::string_view name) {
  const auto value = head.Header(name);
  if (!value) return std::nullopt;
  return std::string(*value);
}

}  // namespace

Expected<void> ObjectReceiver::OnHead(const HttpResponse& head) {
  if (head.status == 416) {
    return Fail(Errc::kIntegrity, "the server refused to resume from byte " +
                                      std::to_string(device_.offset) + " (416)");
  }
  if (head.status != 200 && head.status != 206) {
    return std::unexpected(protocol::StatusError(head.status, ""));
  }
  // Where the body goes, decided as the agent decides it: a 206 from the byte asked for, a 200
  // with the whole object (start over), or updatehub-ce's 200 with just the rest (append).
  auto at = protocol::ObjectBodyOffset(head.status, object_.size, device_.offset,
                                       HeaderText(head, "content-range"),
                                       HeaderText(head, "content-length"));
  if (!at) return std::unexpected(std::move(at).error());
  if (*at == 0 && device_.offset > 0) {
    restarted_ = true;
    device_.offset = 0;
    device_.hash = std::make_unique<Sha256>();
  }
  return {};
}

Expected<bool> ObjectReceiver::OnBody(std::string_view data) {
  if (!device_.hash) device_.hash = std::make_unique<Sha256>();
  // A cut point is always inside the object, so a reply cut there cannot overflow it.
  const bool cutting = device_.cut_at > 0 && device_.cut_at < object_.size;
  const std::uint64_t limit = cutting ? device_.cut_at : object_.size;
  const std::uint64_t room = limit - std::min(limit, device_.offset);
  if (!cutting && data.size() > room) {
    return Fail(Errc::kIntegrity, "the server sent more than the object's " +
                                      std::to_string(object_.size) + " bytes");
  }
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), room));
  device_.hash->Update(data.substr(0, take));
  device_.offset += take;
  accepted_ += take;
  if (cutting && device_.offset >= device_.cut_at) {
    cut_ = true;
    return false;
  }
  return true;
}

Expected<void> ObjectReceiver::Finish() {
  if (device_.offset != object_.size) {
    return Fail(Errc::kIo, "the transfer ended after " + std::to_string(device_.offset) + " of " +
                               std::to_string(object_.size) + " bytes");
  }
  if (!device_.hash) device_.hash = std::make_unique<Sha256>();
  if (const std::string digest = device_.hash->HexDigest(); digest != object_.sha256) {
    return Fail(Errc::kIntegrity, "the downloaded object hashes to " + digest);
  }
  return {};
}

}  // namespace uh::sim
