#include "server/device_api.hpp"

#include <openssl/crypto.h>

#include <chrono>

#include "core/hash.hpp"
#include "server/auth.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;

std::string Now() { return FormatTime(std::chrono::system_clock::now()); }

// The header devices of a product with a device token send it in.
constexpr const char* kProductTokenHeader = "uh-product-token";

// A product with a device token answers only devices that send it; the others get 401, so
// that an unknown party cannot register devices, fetch packages or forge reports.
std::optional<Response> CheckDeviceToken(const Product& product, const Request& request) {
  if (product.device_token_hash.empty()) return std::nullopt;
  const std::string sent = request.Header(kProductTokenHeader);
  const std::string hash = TokenHash(sent);
  if (sent.empty() || hash.size() != product.device_token_hash.size() ||
      CRYPTO_memcmp(hash.data(), product.device_token_hash.data(), hash.size()) != 0) {
    return Response::Error(401, "this product requires a valid UH-Product-Token header");
  }
  return std::nullopt;
}

// The device as the probe describes it. A probe that changes nothing but the time is the
// common case: it costs a read, and its time is written later with others (LastSeenBatch).
Expected<Device> RecordProbe(ApiContext& context, const ProbeRequest& probe) {
  const std::string now = Now();
  DeviceProbe seen = probe.ToDeviceProbe(now);
  auto known = context.store.FindDevice(seen.product_uid, seen.identity);
  if (!known) return std::unexpected(std::move(known.error()));
  if (*known && (*known)->attributes == seen.attributes && (*known)->hardware == seen.hardware &&
      (*known)->version == seen.version) {
    Device device = std::move(**known);
    device.last_seen = now;
    context.last_seen.Record(device.id, now);
    return device;
  }
  return context.store.UpsertDevice(seen);
}

Response HandleProbe(ApiContext& context, RolloutEngine& rollouts, Request& request) {
  ++context.metrics.probes;
  auto probe = ParseProbe(request.body);
  if (!probe) return Response::FromError(probe.error());
  // A device of a product this server does not know gets "no update", not an error.
  auto product = context.store.GetProduct(probe->product_uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  if (auto refused = CheckDeviceToken(**product, request)) return *refused;
  auto device = RecordProbe(context, *probe);
  if (!device) return Response::FromError(device.error());
  auto answer = rollouts.OnProbe(*device);
  if (!answer) return Response::FromError(answer.error());
  if (!answer->offer) {
    if (answer->waiting && context.config.waiting_poll_seconds > 0) {
      // The protocol's way to say "not yet, ask again in S seconds" (the body is ignored).
      Response response = Response::Json(200, nlohmann::json::object());
      response.SetHeader("Add-Extra-Poll", std::to_string(context.config.waiting_poll_seconds));
      return response;
    }
    return Response::Error(404, "no update available");
  }
  const Package& offer = *answer->offer;
  ++context.metrics.probes_offered;
  // The exact metadata bytes: the device hashes them into the package UID and checks the
  // signature over them.
  Response response = Response::Text(200, offer.metadata, "application/json");
  if (!offer.signature.empty()) response.SetHeader("UH-Signature", offer.signature);
  return response;
}

Response Download(ApiContext& context, Request& request) {
  const std::string product = request.Param("product");
  const std::string package_uid = request.Param("package");
  const std::string object = request.Param("object");
  if (!IsLowerHexSha256(product) || !IsLowerHexSha256(package_uid) || !IsLowerHexSha256(object)) {
    return Response::Error(400, "product, package and object must be 64 lowercase hex digits");
  }
  auto owner = context.store.GetProduct(product);
  if (!owner) return Response::FromError(owner.error());
  if (!*owner) return Response::Error(404, "unknown product");
  if (auto refused = CheckDeviceToken(**owner, request)) return *refused;
  auto package = context.store.GetPackage(package_uid);
  if (!package) return Response::FromError(package.error());
  // Only objects of that package of that product are served.
  if (!*package || (*package)->product_uid != product)
    return Response::Error(404, "unknown package");
  bool listed = false;
  for (const auto& item : (*package)->objects) listed = listed || item.sha256 == object;
  if (!listed) return Response::Error(404, "the package has no such object");
  Response response = http::FileResponse(request, context.objects.PathOf(object));
  if (const auto* file = std::get_if<http::FileBody>(&response.body)) {
    context.metrics.download_bytes += file->length;
  }
  return response;
}

Response HandleReport(ApiContext& context, RolloutEngine& rollouts, Request& request) {
  ++context.metrics.reports;
  auto report = ParseReport(request.body);
  if (!report) return Response::FromError(report.error());
  auto product = context.store.GetProduct(report->device.product_uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  if (auto refused = CheckDeviceToken(**product, request)) return *refused;
  Report row;
  row.package_uid = report->package_uid;
  row.status = report->status;
  row.previous_state = report->previous_state;
  row.error_message = report->error_message;
  row.current_log = report->current_log;
  // The device and its report in one transaction (one disk sync, not two).
  auto stored = context.store.RecordReport(report->device.ToDeviceProbe(Now()), row);
  if (!stored) return Response::FromError(stored.error());
  if (auto advanced = rollouts.OnReport(stored->device, *report); !advanced) {
    return Response::FromError(advanced.error());
  }
  return Response::Json(200, nlohmann::json::object());
}

}  // namespace

void AddDeviceRoutes(http::Router& router, ApiContext& context, RolloutEngine& rollouts) {
  http::RouteOptions probe;
  probe.max_body_bytes = 256 * 1024;
  router.Add(
      Method::kPost, "/upgrades",
      [&context, &rollouts](Request& request) { return HandleProbe(context, rollouts, request); },
      probe);
  router.Add(Method::kGet, "/products/{product}/packages/{package}/objects/{object}",
             [&context](Request& request) { return Download(context, request); });
  http::RouteOptions report;
  report.max_body_bytes = 1024 * 1024;
  router.Add(
      Method::kPost, "/report",
      [&context, &rollouts](Request& request) { return HandleReport(context, rollouts, request); },
      report);
}

}  // namespace uh::server
