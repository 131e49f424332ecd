#include "server/device_api.hpp"

#include <chrono>

#include "core/hash.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;

std::string Now() { return FormatTime(std::chrono::system_clock::now()); }

Response HandleProbe(ApiContext& context, RolloutEngine& rollouts, Request& request) {
  ++context.metrics.probes;
  auto probe = ParseProbe(request.body);
  if (!probe) return Response::FromError(probe.error());
  // A device of a product this server does not know gets "no update", not an error.
  auto product = context.store.GetProduct(probe->product_uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  auto device = context.store.UpsertDevice(probe->ToDeviceProbe(Now()));
  if (!device) return Response::FromError(device.error());
  auto offer = rollouts.OnProbe(*device);
  if (!offer) return Response::FromError(offer.error());
  if (!*offer) return Response::Error(404, "no update available");
  ++context.metrics.probes_offered;
  // The exact metadata bytes: the device hashes them into the package UID and checks the
  // signature over them.
  Response response = Response::Text(200, (*offer)->metadata, "application/json");
  if (!(*offer)->signature.empty()) response.SetHeader("UH-Signature", (*offer)->signature);
  return response;
}

Response Download(ApiContext& context, Request& request) {
  const std::string product = request.Param("product");
  const std::string package_uid = request.Param("package");
  const std::string object = request.Param("object");
  if (!IsLowerHexSha256(product) || !IsLowerHexSha256(package_uid) || !IsLowerHexSha256(object)) {
    return Response::Error(400, "product, package and object must be 64 lowercase hex digits");
  }
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
  auto device = context.store.UpsertDevice(report->device.ToDeviceProbe(Now()));
  if (!device) return Response::FromError(device.error());
  Report row;
  row.device_id = device->id;
  row.package_uid = report->package_uid;
  row.status = report->status;
  row.previous_state = report->previous_state;
  row.error_message = report->error_message;
  row.current_log = report->current_log;
  auto stored = context.store.InsertReport(row);
  if (!stored) return Response::FromError(stored.error());
  if (auto advanced = rollouts.OnReport(*device, *report); !advanced) {
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
