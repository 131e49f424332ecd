#include "server/device_api.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <variant>

#include "core/hash.hpp"
#include "protocol/names.hpp"
#include "server/auth.hpp"
#include "server/device_auth.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;

std::string Now() { return FormatTime(std::chrono::system_clock::now()); }

// The answer to a device-token device that did not send its own secret.
Response DeviceTokenRequired() {
  return Response::Error(
      401, "this product requires the device's own " + std::string(protocol::kDeviceTokenHeader));
}

// A device that proved who it is, or the answer that refuses the request.
using Admission = std::variant<Device, Response>;

// A product with a device token answers only devices that send it; the others get 401, so
// that an unknown party cannot register devices, fetch packages or forge reports.
std::optional<Response> CheckDeviceToken(const Product& product, const Request& request) {
  if (product.device_token_hash.empty()) return std::nullopt;
  const std::string sent = request.Header(protocol::kProductTokenHeader);
  const std::string hash = TokenHash(sent);
  if (sent.empty() || hash.size() != product.device_token_hash.size() ||
      CRYPTO_memcmp(hash.data(), product.device_token_hash.data(), hash.size()) != 0) {
    return Response::Error(401, "this product requires a valid " +
                                    std::string(protocol::kProductTokenHeader) + " header");
  }
  return std::nullopt;
}

// mtls: the client certificate verifies against the product's CA and, when the request names a
// device, names that device (CertificateIdentity).
std::optional<Response> CheckCertificate(const Product& product, const Request& request,
                                         const protocol::ProbeRequest* device) {
  if (!request.tls) {
    return Response::Error(401,
                           "this product authenticates devices by client certificate (mtls), "
                           "which needs the server to run with TLS");
  }
  if (request.peer_certificates.empty()) {
    return Response::Error(401, "this product requires a client certificate");
  }
  auto names = VerifyClientCertificate(product.client_ca, request.peer_certificates);
  if (!names) return Response::Error(401, names.error().message());
  if (device == nullptr) return std::nullopt;
  const std::string expected = CertificateIdentity(device->identity, device->CanonicalIdentity());
  if (std::find(names->begin(), names->end(), expected) == names->end()) {
    return Response::Error(403, "the client certificate is not this device's");
  }
  return std::nullopt;
}

// What a product asks of every request before the device is looked at; `device` is null for
// downloads, which name no device.
std::optional<Response> CheckProductCredentials(const Product& product, const Request& request,
                                                const protocol::ProbeRequest* device) {
  if (product.device_auth == kAuthProductToken) return CheckDeviceToken(product, request);
  if (product.device_auth == kAuthMtls) return CheckCertificate(product, request, device);
  if (product.device_auth != kAuthNone && product.device_auth != kAuthDeviceToken) {
    return Response::Error(401, "unknown device authentication mode");
  }
  return std::nullopt;
}

// Enrolled devices wait for an operator (pending); rejected ones are refused for good.
std::optional<Response> CheckStanding(const Device& device) {
  if (device.auth_state == kDevicePending) {
    return Response::Error(403, "device pending acceptance");
  }
  if (device.auth_state != kDeviceAccepted) return Response::Error(403, "device rejected");
  return std::nullopt;
}

// A known device: its own secret (device-token products) and its standing with the operator.
std::optional<Response> CheckKnownDevice(const Product& product, const Device& device,
                                         const Request& request) {
  if (product.device_auth == kAuthDeviceToken) {
    if (device.token_hash.empty()) {
      return Response::Error(401, "this device has no device token: an operator issues one");
    }
    if (!SecretMatches(request.Header(protocol::kDeviceTokenHeader), device.token_hash)) {
      return DeviceTokenRequired();
    }
  }
  return CheckStanding(device);
}

// A device just enrolled is admitted only once accepted.
Admission Standing(Device device) {
  if (auto refused = CheckStanding(device)) return *refused;
  return device;
}

// A device the server has not seen before: recorded as it is on products that do not
// authenticate devices one by one; enrolled (pending or accepted) with the secret it sent on
// device-token products whose enrolment is open; refused otherwise.
Expected<Admission> AdmitNewDevice(ApiContext& context, const Product& product,
                                   const DeviceProbe& seen, const Request& request) {
  const bool manual = product.enrolment == kEnrolManual;
  if (product.device_auth == kAuthDeviceToken) {
    if (product.enrolment != kEnrolManual && product.enrolment != kEnrolAuto) {
      return Response::Error(401, "unknown device: this product does not enrol devices");
    }
    const std::string secret = request.Header(protocol::kDeviceTokenHeader);
    if (!IsDeviceSecret(secret)) {
      return Response::Error(401, "enrolment needs a " + std::string(protocol::kDeviceTokenHeader) +
                                      " of 64 lowercase hex digits");
    }
    auto created = context.store.CreateDevice(
        seen, std::string(manual ? kDevicePending : kDeviceAccepted), TokenHash(secret));
    if (!created) return std::unexpected(std::move(created.error()));
    if (*created) return Standing(std::move(**created));
  } else if (product.device_auth == kAuthMtls && manual) {
    auto created = context.store.CreateDevice(seen, std::string(kDevicePending), "");
    if (!created) return std::unexpected(std::move(created.error()));
    if (*created) return Standing(std::move(**created));
  } else {
    auto device = context.store.UpsertDevice(seen);
    if (!device) return std::unexpected(std::move(device.error()));
    return std::move(*device);
  }
  // Another request created it meanwhile: it is a known device now.
  auto known = context.store.FindDevice(seen.product_uid, seen.identity);
  if (!known) return std::unexpected(std::move(known.error()));
  if (!*known) return Fail(Errc::kInternal, "a device vanished while it enrolled");
  if (auto refused = CheckKnownDevice(product, **known, request)) return *refused;
  return std::move(**known);
}

// The device as the probe describes it; `known` is the device as stored (Store::LookupProbe).
// A probe that changes nothing but the time is the common case: it costs no store access of
// its own, and its time is written later with others (LastSeenBatch).
Expected<Admission> RecordProbe(ApiContext& context, const Product& product,
                                const DeviceProbe& seen, std::optional<Device>& known,
                                const Request& request) {
  if (!known) {
    // A new device.
    if (auto refused = context.quota.TakeNewDevice(seen.product_uid)) return *refused;
    return AdmitNewDevice(context, product, seen, request);
  }
  if (auto refused = CheckKnownDevice(product, *known, request)) return *refused;
  if (known->attributes == seen.attributes && known->hardware == seen.hardware &&
      known->version == seen.version) {
    Device device = std::move(*known);
    device.last_seen = seen.seen_at;
    context.last_seen.Record(device.id, seen.seen_at);
    return device;
  }
  auto device = context.store.UpsertDevice(seen);
  if (!device) return std::unexpected(std::move(device.error()));
  return std::move(*device);
}

// Counts the probe once answered, as refused unless told otherwise.
class ProbeTally {
 public:
  explicit ProbeTally(Metrics& metrics) : metrics_(metrics) {}
  ~ProbeTally() { metrics_.CountProbe(outcome_); }
  ProbeTally(const ProbeTally&) = delete;
  ProbeTally& operator=(const ProbeTally&) = delete;
  // The server's own failure (5xx) is an error; any other failure is the device's: refused.
  Response Failed(const Error& error) {
    Response response = Response::FromError(error);
    if (response.status >= 500) outcome_ = ProbeOutcome::kError;
    return response;
  }
  void Set(ProbeOutcome outcome) { outcome_ = outcome; }

 private:
  Metrics& metrics_;
  ProbeOutcome outcome_ = ProbeOutcome::kRefused;
};

Response HandleProbe(ApiContext& context, RolloutEngine& rollouts, Request& request) {
  ProbeTally tally(context.metrics);
  auto probe = protocol::ParseProbe(request.body);
  if (!probe) return Response::FromError(probe.error());
  const DeviceProbe seen = ToDeviceProbe(*probe, Now());
  // The one read of the store a common probe makes: the device, its rollout membership, and
  // the catalog version that says whether what the catalog keeps is current.
  auto lookup = context.store.LookupProbe(seen.product_uid, seen.identity);
  if (!lookup) return tally.Failed(lookup.error());
  // A device of a product this server does not know gets "no update", not an error.
  auto product = context.catalog.GetProduct(lookup->catalog_version, seen.product_uid);
  if (!product) return tally.Failed(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  if (auto refused = CheckProductCredentials(**product, request, &*probe)) return *refused;
  auto admitted = RecordProbe(context, **product, seen, lookup->device, request);
  if (!admitted) return tally.Failed(admitted.error());
  if (auto* refused = std::get_if<Response>(&*admitted)) return std::move(*refused);
  auto answer = rollouts.OnProbe(std::get<Device>(*admitted),
                                 ProbeState{.catalog_version = lookup->catalog_version,
                                            .membership = std::move(lookup->membership)});
  if (!answer) return tally.Failed(answer.error());
  if (!answer->offer) {
    tally.Set(ProbeOutcome::kNothing);
    if (answer->waiting && context.config.waiting_poll_seconds > 0) {
      tally.Set(ProbeOutcome::kWaiting);
      // The protocol's way to say "not yet, ask again in S seconds" (the body is ignored).
      Response response = Response::Json(200, nlohmann::json::object());
      response.SetHeader(std::string(protocol::kExtraPollHeader),
                         std::to_string(context.config.waiting_poll_seconds));
      return response;
    }
    return Response::Error(404, "no update available");
  }
  const Package& offer = *answer->offer;
  tally.Set(ProbeOutcome::kOffered);
  // The exact metadata bytes: the device hashes them into the package UID and checks the
  // signature over them.
  Response response = Response::Text(200, offer.metadata, "application/json");
  if (!offer.signature.empty()) {
    response.SetHeader(std::string(protocol::kSignatureHeader), offer.signature);
  }
  return response;
}

// Whether the device's rollout has offered it this package: the only package a device may
// fetch (device-token products) or report on (every product).
Expected<bool> WasOffered(ApiContext& context, const Device& device,
                          const std::string& package_uid) {
  auto member = context.store.FindRolloutDevice(device.id);
  if (!member) return std::unexpected(std::move(member.error()));
  if (!*member || (*member)->started_at.empty()) return false;
  auto rollout = context.store.GetRollout((*member)->rollout_id);
  if (!rollout) return std::unexpected(std::move(rollout.error()));
  return *rollout && (*rollout)->package_uid == package_uid;
}

// Downloads name no device: on device-token products the secret finds it.
std::optional<Response> CheckDownloader(ApiContext& context, const Product& product,
                                        const Request& request, const std::string& package_uid) {
  if (auto refused = CheckProductCredentials(product, request, nullptr)) return refused;
  if (product.device_auth != kAuthDeviceToken) return std::nullopt;
  const std::string secret = request.Header(protocol::kDeviceTokenHeader);
  if (!IsDeviceSecret(secret)) {
    return DeviceTokenRequired();
  }
  auto device = context.store.FindDeviceBySecretHash(product.uid, TokenHash(secret));
  if (!device) return Response::FromError(device.error());
  if (!*device) return DeviceTokenRequired();
  if (auto refused = CheckKnownDevice(product, **device, request)) return refused;
  auto offered = WasOffered(context, **device, package_uid);
  if (!offered) return Response::FromError(offered.error());
  if (!*offered) return Response::Error(403, "this device was not offered that package");
  return std::nullopt;
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
  if (auto refused = CheckDownloader(context, **owner, request, package_uid)) return *refused;
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

// A report comes from a device the server knows, that proved it is that device, about the
// package its rollout offered it. Anything else (an invented device, a report in another
// device's name, a package never offered) is refused and changes nothing.
std::optional<Response> CheckReporter(ApiContext& context, const Product& product,
                                      const protocol::ParsedReport& report,
                                      const Request& request) {
  if (auto refused = CheckProductCredentials(product, request, &report.device)) return refused;
  auto known = context.store.FindDevice(product.uid, report.device.CanonicalIdentity());
  if (!known) return Response::FromError(known.error());
  if (!*known) {
    if (product.device_auth == kAuthDeviceToken) return Response::Error(401, "unknown device");
    return Response::Error(409, "unknown device: a device reports only on packages offered to it");
  }
  if (auto refused = CheckKnownDevice(product, **known, request)) return refused;
  auto offered = WasOffered(context, **known, report.package_uid);
  if (!offered) return Response::FromError(offered.error());
  if (!*offered) return Response::Error(409, "this device was not offered that package");
  return std::nullopt;
}

Response HandleReport(ApiContext& context, RolloutEngine& rollouts, Request& request) {
  auto report = protocol::ParseReport(request.body);
  if (!report) return Response::FromError(report.error());
  auto product = context.store.GetProduct(report->device.product_uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  if (auto refused = CheckReporter(context, **product, *report, request)) return *refused;
  // Counted once the device has proved who it is (where its product asks it to): nobody else
  // can spend its quota.
  if (auto refused = context.quota.TakeReport(report->device.product_uid,
                                              report->device.CanonicalIdentity())) {
    return *refused;
  }
  Report row;
  row.package_uid = report->package_uid;
  row.status = report->status;
  row.previous_state = report->previous_state;
  row.error_message = report->error_message;
  row.current_log = report->current_log;
  // The device and its report in one transaction (one disk sync, not two).
  auto stored = context.store.RecordReport(ToDeviceProbe(report->device, Now()), row);
  if (!stored) return Response::FromError(stored.error());
  context.metrics.CountReport(report->status);
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
      Method::kPost, std::string(protocol::kProbePath),
      [&context, &rollouts](Request& request) { return HandleProbe(context, rollouts, request); },
      probe);
  router.Add(Method::kGet, "/products/{product}/packages/{package}/objects/{object}",
             [&context](Request& request) { return Download(context, request); });
  http::RouteOptions report;
  report.max_body_bytes = 1024 * 1024;
  router.Add(
      Method::kPost, std::string(protocol::kReportPath),
      [&context, &rollouts](Request& request) { return HandleReport(context, rollouts, request); },
      report);
}

}  // namespace uh::server
