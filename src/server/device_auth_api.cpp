#include "server/device_auth_api.hpp"

#include <variant>

#include "core/hash.hpp"
#include "core/json.hpp"
#include "server/api_util.hpp"
#include "server/auth.hpp"
#include "server/device_auth.hpp"
#include "server/device_protocol.hpp"
#include "server/json_views.hpp"
#include "server/management_api.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::size_t kMaxClientCaBytes = 64 * 1024;

// body[key] when present, else `current`; nullopt (with `error` set) for a non-string.
std::optional<std::string> SettingOr(const json& body, const char* key, const std::string& current,
                                     std::string& error) {
  if (!body.contains(key)) return current;
  if (!body[key].is_string()) {
    error = std::string("'") + key + "' must be a string";
    return std::nullopt;
  }
  return body[key].get<std::string>();
}

// POST /api/v1/products/{product}/devices {"identity": {...}}: a device known before it first
// probes, accepted, with a secret shown once.
Response ProvisionDevice(ApiContext& context, Request& request) {
  const std::string uid = request.Param("product");
  auto product = context.store.GetProduct(uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "identity") return Response::Error(400, "'" + key + "' is not a device field");
  }
  auto identity = ParseIdentity(body->value("identity", json()));
  if (!identity) return Response::FromError(identity.error());
  const std::string secret = NewSecret();
  DeviceProbe probe;
  probe.product_uid = uid;
  probe.identity = PythonJsonDumps(*identity);
  probe.attributes = "{}";
  auto created = context.store.CreateDevice(probe, std::string(kDeviceAccepted), TokenHash(secret));
  if (!created) return Response::FromError(created.error());
  if (!*created) return Response::Error(409, "the product already has a device of that identity");
  return Response::Json(
      201,
      {{"id", (*created)->id}, {"token", secret}, {"header", std::string(kDeviceTokenHeader)}});
}

// The device of the request's {id}, if the caller may act on its product; else the answer.
std::variant<Device, Response> DeviceFor(ApiContext& context, const Request& request,
                                         const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad device id");
  auto device = context.store.GetDevice(*id);
  if (!device) return Response::FromError(device.error());
  if (!*device) return Response::Error(404, "unknown device");
  if (auto denied = DenyProduct(caller, (*device)->product_uid)) return *denied;
  return std::move(**device);
}

Response SetAuthState(ApiContext& context, Request& request, const Caller& caller,
                      std::string_view state) {
  auto device = DeviceFor(context, request, caller);
  if (auto* refused = std::get_if<Response>(&device)) return std::move(*refused);
  Device& found = std::get<Device>(device);
  auto set = context.store.SetDeviceAuthState(found.id, std::string(state));
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown device");
  found.auth_state = state;
  return Response::Json(200, ToJson(found));
}

// A new secret for a device (lost, leaked, or never issued), shown once; the old one stops
// working at once.
Response RotateSecret(ApiContext& context, Request& request, const Caller& caller) {
  auto device = DeviceFor(context, request, caller);
  if (auto* refused = std::get_if<Response>(&device)) return std::move(*refused);
  const std::int64_t id = std::get<Device>(device).id;
  const std::string secret = NewSecret();
  auto set = context.store.SetDeviceSecretHash(id, TokenHash(secret));
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown device");
  return Response::Json(
      201, {{"id", id}, {"token", secret}, {"header", std::string(kDeviceTokenHeader)}});
}

}  // namespace

bool IsDeviceAuthSetting(const std::string& key) {
  return key == "device_auth" || key == "enrolment" || key == "client_ca";
}

std::optional<Response> ApplyDeviceAuthSettings(ApiContext& context, const std::string& uid,
                                                const json& body) {
  if (!body.contains("device_auth") && !body.contains("enrolment") && !body.contains("client_ca")) {
    return std::nullopt;
  }
  auto product = context.store.GetProduct(uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  std::string error;
  const auto mode = SettingOr(body, "device_auth", (*product)->device_auth, error);
  const auto enrolment = SettingOr(body, "enrolment", (*product)->enrolment, error);
  const auto client_ca = SettingOr(body, "client_ca", (*product)->client_ca, error);
  if (!mode || !enrolment || !client_ca) return Response::Error(400, error);
  if (!IsDeviceAuthMode(*mode)) {
    return Response::Error(
        400, "'device_auth' must be \"none\", \"product-token\", \"device-token\" or \"mtls\"");
  }
  if (!IsEnrolmentMode(*enrolment)) {
    return Response::Error(400, "'enrolment' must be \"off\", \"manual\" or \"auto\"");
  }
  if (client_ca->size() > kMaxClientCaBytes) return Response::Error(400, "'client_ca' is too long");
  if (!client_ca->empty()) {
    if (auto checked = CheckClientCa(*client_ca); !checked) {
      return Response::Error(400, checked.error().message());
    }
  }
  if (*mode == kAuthProductToken && (*product)->device_token_hash.empty()) {
    return Response::Error(409,
                           "product-token needs a product token first: POST "
                           "/api/v1/products/{uid}/device-token");
  }
  if (*mode == kAuthMtls && client_ca->empty()) {
    return Response::Error(400, "mtls needs 'client_ca', the PEM of the CA of the devices");
  }
  auto set = context.store.SetProductDeviceAuth(uid, *mode, *enrolment, *client_ca);
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown product");
  return std::nullopt;
}

void AddDeviceAuthRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/api/v1/products/{product}/devices",
             AllowForProduct(context, Scope::kDevicesWrite,
                             [&context](Request& r) { return ProvisionDevice(context, r); }));
  router.Add(Method::kPost, "/api/v1/devices/{id}/accept",
             Allow(context, Scope::kDevicesWrite, [&context](Request& r, const Caller& caller) {
               return SetAuthState(context, r, caller, kDeviceAccepted);
             }));
  router.Add(Method::kPost, "/api/v1/devices/{id}/reject",
             Allow(context, Scope::kDevicesWrite, [&context](Request& r, const Caller& caller) {
               return SetAuthState(context, r, caller, kDeviceRejected);
             }));
  router.Add(Method::kPost, "/api/v1/devices/{id}/token",
             Allow(context, Scope::kDevicesWrite, [&context](Request& r, const Caller& caller) {
               return RotateSecret(context, r, caller);
             }));
}

}  // namespace uh::server
