#include "sim/object_transfer.hpp"

#include <algorithm>
#include <memory>

#include "agent/client/protocol.hpp"

namespace uh::sim {
namespace {

Expected<void> CheckLength(const HttpResponse& head, std::uint64_t expected) {
  const auto value = head.Header("content-length");
  if (!value) return {};  // chunked: counted as it comes
  const auto length = agent::protocol::ParseDecimal(*value);
  if (!length) return Fail(Errc::kMalformed, "invalid Content-Length");
  if (*length != expected) {
    return Fail(Errc::kIntegrity, "the server announces " + std::string(*value) +
                                      " bytes instead of " + std::to_string(expected));
  }
  return {};
}

}  // namespace

Expected<void> ObjectReceiver::OnHead(const HttpResponse& head) {
  if (head.status == 206) {
    const auto value = head.Header("content-range");
    if (!value) return Fail(Errc::kMalformed, "206 reply without Content-Range");
    auto range = agent::protocol::ParseContentRange(*value);
    if (!range) return std::unexpected(std::move(range.error()));
    if (range->first != device_.offset) {
      return Fail(Errc::kMalformed, "asked for bytes from " + std::to_string(device_.offset) +
                                        " but the server sent from " +
                                        std::to_string(range->first));
    }
    if ((range->total && *range->total != object_.size) || range->last >= object_.size) {
      return Fail(Errc::kIntegrity, "the server's object is not " + std::to_string(object_.size) +
                                        " bytes long (Content-Range " + std::string(*value) + ")");
    }
    return CheckLength(head, range->last - range->first + 1);
  }
  if (head.status == 200) {
    if (device_.offset > 0) {
      // The server ignored the range: start over.
      restarted_ = true;
      device_.offset = 0;
      device_.hash = std::make_unique<Sha256>();
    }
    return CheckLength(head, object_.size);
  }
  if (head.status == 416) {
    return Fail(Errc::kIntegrity, "the server refused to resume from byte " +
                                      std::to_string(device_.offset) + " (416)");
  }
  return std::unexpected(agent::protocol::StatusError(head.status, ""));
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
