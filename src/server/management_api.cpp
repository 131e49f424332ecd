#include "server/management_api.hpp"

#include <algorithm>
#include <sstream>

#include "core/hash.hpp"
#include "core/json.hpp"
#include "package/signature.hpp"
#include "server/api_util.hpp"
#include "server/json_views.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

Response Login(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto name = StringMember(*body, "username", true);
  auto password = StringMember(*body, "password", true);
  if (!name) return Response::FromError(name.error());
  if (!password) return Response::FromError(password.error());
  // Before the password is checked, so that guesses past the limit cost nothing and say nothing.
  if (const auto wait = context.auth.LoginWait(*name, request.remote_address); wait.count() > 0) {
    Response response = Response::Error(429, "too many failed logins: try again later");
    response.SetHeader("Retry-After", std::to_string(wait.count()));
    return response;
  }
  auto token = context.auth.Login(*name, *password, request.remote_address);
  AuditEntry entry;
  entry.actor = *name;
  entry.address = request.remote_address;
  entry.detail = "{}";
  if (!token) {
    if (token.error().code() != Errc::kNotFound) return Response::FromError(token.error());
    entry.action = "login.failed";
    entry.status = 401;
    (void)context.audit.Record(std::move(entry));
    return Response::Error(401, token.error().message());
  }
  const std::string authorization = "Bearer " + *token;
  entry.user_id = context.auth.Authenticate(authorization).value_or(0);
  entry.token = TokenLabel(authorization);
  entry.action = "login";
  entry.status = 200;
  (void)context.audit.Record(std::move(entry));
  return Response::Json(200, {{"token", *token}});
}

Response CreateToken(ApiContext& context, Request& request, std::int64_t user) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto name = StringMember(*body, "name", true);
  if (!name) return Response::FromError(name.error());
  auto token = context.auth.CreateApiToken(user, *name);
  if (!token) return Response::FromError(token.error());
  return Response::Json(201, {{"token", *token}, {"name", *name}});
}

// PATCH /api/v1/products/{product}: {"forbid_downgrades": bool} (the only setting for now).
Response UpdateProduct(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "forbid_downgrades") {
      return Response::Error(400, "'" + key + "' is not a product setting (forbid_downgrades)");
    }
    if (!value.is_boolean()) return Response::Error(400, "'forbid_downgrades' must be a boolean");
  }
  const std::string uid = request.Param("product");
  if (body->contains("forbid_downgrades")) {
    auto set = context.store.SetForbidDowngrades(uid, (*body)["forbid_downgrades"].get<bool>());
    if (!set) return Response::FromError(set.error());
    if (!*set) return Response::Error(404, "unknown product");
  }
  auto product = context.store.GetProduct(uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  return Response::Json(200, ToJson(**product));
}

Response CreateProduct(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto uid = StringMember(*body, "uid", false);
  auto name = StringMember(*body, "name", true);
  if (!uid) return Response::FromError(uid.error());
  if (!name) return Response::FromError(name.error());
  if (name->empty() || name->size() > 200)
    return Response::Error(400, "'name' must be 1 to 200 characters");
  Product product;
  product.uid = uid->empty() ? NewSecret() : *uid;
  if (!IsLowerHexSha256(product.uid))
    return Response::Error(400, "'uid' must be 64 lowercase hex digits");
  product.name = *name;
  auto created = context.store.CreateProduct(product);
  if (!created) return Response::FromError(created.error());
  return Response::Json(201, ToJson(*created));
}

// A new shared token for the product's devices (replacing any previous one), shown once.
Response NewDeviceToken(ApiContext& context, Request& request) {
  const std::string secret = NewSecret();
  auto set = context.store.SetDeviceTokenHash(request.Param("product"), TokenHash(secret));
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown product");
  return Response::Json(201, {{"device_token", secret}, {"header", "UH-Product-Token"}});
}

Response DropDeviceToken(ApiContext& context, Request& request) {
  auto set = context.store.SetDeviceTokenHash(request.Param("product"), "");
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown product");
  return Response::Json(200, {{"device_auth", false}});
}

Response AddKey(ApiContext& context, Request& request) {
  const std::string product_uid = request.Param("product");
  auto product = context.store.GetProduct(product_uid);
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto pem = StringMember(*body, "public_key", true);
  auto name = StringMember(*body, "name", false);
  if (!pem) return Response::FromError(pem.error());
  if (!name) return Response::FromError(name.error());
  auto key = package::PublicKey::FromPem(*pem);
  if (!key) return Response::Error(400, "'public_key': " + key.error().message());
  SigningKey row;
  row.product_uid = product_uid;
  row.name = name->empty() ? "key" : *name;
  row.public_pem = key->ToPem();
  row.fingerprint = key->Fingerprint();
  auto added = context.store.AddKey(row);
  if (!added) return Response::FromError(added.error());
  return Response::Json(201, ToJson(*added));
}

Response UploadPackage(ApiContext& context, Request& request) {
  auto accepted = context.packages.Accept(request.body_file);
  if (!accepted) return Response::FromError(accepted.error());
  if (accepted->created) ++context.metrics.packages_uploaded;
  return Response::Json(accepted->created ? 201 : 200, ToJson(accepted->package));
}

Response ListDevices(ApiContext& context, Request& request) {
  DeviceFilter filter;
  auto query = [&](const char* key) -> std::optional<std::string> {
    auto it = request.query.find(key);
    if (it == request.query.end()) return std::nullopt;
    return it->second;
  };
  filter.product_uid = query("product");
  filter.hardware = query("hardware");
  filter.version = query("version");
  if (auto after = query("after")) {
    auto id = ParseId(*after);
    if (!id) return Response::Error(400, "'after' must be a device id");
    filter.after_id = *id;
  }
  if (auto limit = query("limit")) {
    auto value = ParseLimit(*limit);
    if (!value) return Response::Error(400, "'limit' must be 1 to 1000");
    filter.limit = *value;
  }
  auto devices = context.store.ListDevices(filter);
  if (!devices) return Response::FromError(devices.error());
  json items = json::array();
  for (const auto& device : *devices) items.push_back(ToJson(device));
  json out = {{"devices", items}};
  if (devices->size() == filter.limit) out["next_after"] = devices->back().id;
  return Response::Json(200, out);
}

Response ShowDevice(ApiContext& context, Request& request) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad device id");
  auto device = context.store.GetDevice(*id);
  if (!device) return Response::FromError(device.error());
  if (!*device) return Response::Error(404, "unknown device");
  auto reports = context.store.ListReports(*id, 100);
  if (!reports) return Response::FromError(reports.error());
  json out = ToJson(**device);
  out["reports"] = json::array();
  for (const auto& report : *reports) out["reports"].push_back(ToJson(report));
  return Response::Json(200, out);
}

std::string MetricsText(const Metrics& metrics, const std::vector<Rollout>& rollouts) {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, std::uint64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << value << "\n";
  };
  counter("updatehub_http_requests_total", "HTTP requests answered.", metrics.requests);
  counter("updatehub_http_errors_5xx_total", "HTTP requests answered with 5xx.",
          metrics.errors_5xx);
  counter("updatehub_probes_total", "Device probes.", metrics.probes);
  counter("updatehub_probes_offered_total", "Probes answered with a package.",
          metrics.probes_offered);
  counter("updatehub_reports_total", "Device reports.", metrics.reports);
  counter("updatehub_download_bytes_total", "Object bytes sent to devices.",
          metrics.download_bytes);
  counter("updatehub_packages_uploaded_total", "Packages accepted.", metrics.packages_uploaded);
  out << "# HELP updatehub_rollouts Rollouts by state.\n# TYPE updatehub_rollouts gauge\n";
  for (auto state : {RolloutState::kScheduled, RolloutState::kRunning, RolloutState::kPaused,
                     RolloutState::kFinished, RolloutState::kStopped}) {
    const auto count = std::ranges::count_if(
        rollouts, [state](const Rollout& rollout) { return rollout.state == state; });
    out << "updatehub_rollouts{state=\"" << RolloutStateName(state) << "\"} " << count << "\n";
  }
  return out.str();
}

}  // namespace

namespace {

Response Unauthorized(const Error& error) {
  Response response = Response::Error(401, error.message());
  response.SetHeader("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace

http::Handler RequireUser(ApiContext& context, UserHandler handler) {
  return [&context, handler = std::move(handler)](Request& request) {
    auto user = context.auth.Authenticate(request.Header("authorization"));
    if (!user) return Unauthorized(user.error());
    return handler(request, *user);
  };
}

std::function<std::optional<Response>(const Request&)> AdmitUser(ApiContext& context) {
  return [&context](const Request& request) -> std::optional<Response> {
    auto user = context.auth.Authenticate(request.Header("authorization"));
    if (!user) return Unauthorized(user.error());
    return std::nullopt;
  };
}

http::Handler AdminOnly(ApiContext& context, UserHandler handler) {
  return RequireUser(
      context, [&context, handler = std::move(handler)](Request& request, std::int64_t user_id) {
        auto user = context.store.GetUser(user_id);
        if (!user) return Response::FromError(user.error());
        if (!*user || !(*user)->admin) {
          return Response::Error(403, "only administrators may do this");
        }
        return handler(request, user_id);
      });
}

http::Handler RequireAuth(ApiContext& context, http::Handler handler) {
  return RequireUser(context, [handler = std::move(handler)](Request& request, std::int64_t) {
    return handler(request);
  });
}

void AddManagementRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/healthz", [&context](Request&) {
    auto products = context.store.ListProducts();
    if (!products) return Response::Error(503, "store unavailable: " + products.error().message());
    return Response::Json(200, {{"status", "ok"}});
  });
  router.Add(Method::kGet, "/metrics", [&context](Request&) {
    auto rollouts = context.store.ListRollouts("", true);
    if (!rollouts) return Response::FromError(rollouts.error());
    return Response::Text(200, MetricsText(context.metrics, *rollouts),
                          "text/plain; version=0.0.4");
  });

  router.Add(Method::kPost, "/api/v1/login", [&context](Request& r) { return Login(context, r); });
  router.Add(Method::kPost, "/api/v1/logout",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               (void)context.auth.Logout(r.Header("authorization"));
               return Response::Json(200, {{"status", "logged out"}});
             }));
  router.Add(Method::kPost, "/api/v1/tokens",
             RequireUser(context, [&context](Request& r, std::int64_t u) {
               return CreateToken(context, r, u);
             }));

  router.Add(Method::kGet, "/api/v1/products",
             RequireUser(context, [&context](Request&, std::int64_t) {
               auto products = context.store.ListProducts();
               if (!products) return Response::FromError(products.error());
               json items = json::array();
               for (const auto& product : *products) items.push_back(ToJson(product));
               return Response::Json(200, {{"products", items}});
             }));
  router.Add(Method::kPost, "/api/v1/products",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               return CreateProduct(context, r);
             }));
  router.Add(Method::kGet, "/api/v1/products/{product}",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto product = context.store.GetProduct(r.Param("product"));
               if (!product) return Response::FromError(product.error());
               if (!*product) return Response::Error(404, "unknown product");
               return Response::Json(200, ToJson(**product));
             }));
  router.Add(Method::kPatch, "/api/v1/products/{product}",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               return UpdateProduct(context, r);
             }));
  router.Add(Method::kPost, "/api/v1/products/{product}/device-token",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               return NewDeviceToken(context, r);
             }));
  router.Add(Method::kDelete, "/api/v1/products/{product}/device-token",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               return DropDeviceToken(context, r);
             }));
  router.Add(Method::kGet, "/api/v1/products/{product}/keys",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto keys = context.store.ListKeys(r.Param("product"));
               if (!keys) return Response::FromError(keys.error());
               json items = json::array();
               for (const auto& key : *keys) items.push_back(ToJson(key));
               return Response::Json(200, {{"keys", items}});
             }));
  router.Add(
      Method::kPost, "/api/v1/products/{product}/keys",
      RequireUser(context, [&context](Request& r, std::int64_t) { return AddKey(context, r); }));
  router.Add(Method::kDelete, "/api/v1/keys/{id}",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto id = ParseId(r.Param("id"));
               if (!id) return Response::Error(400, "bad key id");
               auto deleted = context.store.DeleteKey(*id);
               if (!deleted) return Response::FromError(deleted.error());
               if (!*deleted) return Response::Error(404, "unknown key");
               return Response::Json(200, {{"deleted", *id}});
             }));

  http::RouteOptions upload;
  upload.body_to_file = true;
  upload.max_file_body_bytes = context.config.max_package_bytes;
  // Checked again by RequireUser once the body is in, since a token can expire or be revoked
  // while a large upload runs.
  upload.admit = AdmitUser(context);
  router.Add(Method::kPost, "/api/v1/packages",
             RequireUser(context, [&context](Request& r,
                                             std::int64_t) { return UploadPackage(context, r); }),
             upload);
  router.Add(Method::kGet, "/api/v1/packages",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto it = r.query.find("product");
               if (it == r.query.end())
                 return Response::Error(400, "'product' query parameter is required");
               auto packages = context.store.ListPackages(it->second);
               if (!packages) return Response::FromError(packages.error());
               json items = json::array();
               for (const auto& package : *packages) items.push_back(ToJson(package));
               return Response::Json(200, {{"packages", items}});
             }));
  router.Add(Method::kGet, "/api/v1/packages/{uid}",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto package = context.store.GetPackage(r.Param("uid"));
               if (!package) return Response::FromError(package.error());
               if (!*package) return Response::Error(404, "unknown package");
               json out = ToJson(**package);
               out["metadata"] = json::parse((*package)->metadata, nullptr, false);
               return Response::Json(200, out);
             }));
  router.Add(Method::kDelete, "/api/v1/packages/{uid}",
             RequireUser(context, [&context](Request& r, std::int64_t) {
               auto deleted = context.packages.Delete(r.Param("uid"));
               if (!deleted) return Response::FromError(deleted.error());
               if (!*deleted) return Response::Error(404, "unknown package");
               return Response::Json(200, {{"deleted", r.Param("uid")}});
             }));

  router.Add(Method::kGet, "/api/v1/devices",
             RequireUser(context,
                         [&context](Request& r, std::int64_t) { return ListDevices(context, r); }));
  router.Add(Method::kGet, "/api/v1/devices/{id}",
             RequireUser(context,
                         [&context](Request& r, std::int64_t) { return ShowDevice(context, r); }));
}

}  // namespace uh::server
