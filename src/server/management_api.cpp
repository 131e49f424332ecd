#include "server/management_api.hpp"

#include <algorithm>
#include <sstream>

#include "core/hash.hpp"
#include "core/json.hpp"
#include "package/signature.hpp"
#include "protocol/names.hpp"
#include "server/api_util.hpp"
#include "server/device_auth_api.hpp"
#include "server/device_query.hpp"
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
  if (auto caller = context.auth.Identify("Bearer " + *token)) {
    entry.user_id = caller->user.id;
    entry.token = caller->token_label;
  }
  entry.action = "login";
  entry.status = 200;
  (void)context.audit.Record(std::move(entry));
  return Response::Json(200, {{"token", *token}});
}

constexpr int kMaxTokenDays = 366;
constexpr int kDefaultTokenDays = 90;

// POST /api/v1/tokens {"name", "scopes": [..] (default: the caller's), "expires_in_days":
// 1..366 (default 90)}. The secret is shown once.
Response CreateToken(ApiContext& context, Request& request, const Caller& caller) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "name" && key != "scopes" && key != "expires_in_days") {
      return Response::Error(400,
                             "'" + key + "' is not a token field (name, scopes, expires_in_days)");
    }
  }
  auto name = StringMember(*body, "name", true);
  if (!name) return Response::FromError(name.error());
  Scopes scopes = caller.scopes;
  if (body->contains("scopes")) {
    const json& list = (*body)["scopes"];
    std::vector<std::string> names;
    bool strings = list.is_array();
    for (const auto& item : strings ? list : json::array()) {
      if (!item.is_string())
        strings = false;
      else
        names.push_back(item.get<std::string>());
    }
    if (!strings) return Response::Error(400, "'scopes' must be an array of scope names");
    auto parsed = ParseScopes(names);
    if (!parsed) return Response::FromError(parsed.error());
    scopes = *parsed;
  }
  int days = kDefaultTokenDays;
  if (body->contains("expires_in_days")) {
    const json& value = (*body)["expires_in_days"];
    if (!value.is_number_integer() || value.get<long long>() < 1 ||
        value.get<long long>() > kMaxTokenDays) {
      return Response::Error(400, "'expires_in_days' must be a whole number from 1 to 366");
    }
    days = value.get<int>();
  }
  const std::string expires_at =
      FormatTime(std::chrono::system_clock::now() + std::chrono::hours(24) * days);
  auto token = context.auth.CreateApiToken(caller, *name, scopes, expires_at);
  if (!token) return Response::FromError(token.error());
  return Response::Json(201, {{"token", *token},
                              {"id", TokenHash(*token).substr(0, 16)},
                              {"name", *name},
                              {"scopes", ScopeNames(scopes)},
                              {"expires_at", expires_at}});
}

json TokenJson(const Token& token, const Caller& caller) {
  json scopes = json::array();
  if (token.scopes.empty()) {
    scopes.push_back("*");  // everything its user's role allows
  } else {
    for (const auto& name : ScopeNames(ParseScopes(token.scopes).value_or(0)))
      scopes.push_back(name);
  }
  return {{"id", token.token_hash.substr(0, 16)},
          {"user_id", token.user_id},
          {"kind", token.kind},
          {"name", token.name},
          {"scopes", scopes},
          {"created_at", token.created_at},
          {"expires_at", token.expires_at},
          {"last_used_at", token.last_used_at},
          {"current", token.token_hash == caller.token_hash}};
}

// GET /api/v1/tokens: the caller's tokens; ?user=ID or ?user=all for a users:write caller.
Response ListTokens(ApiContext& context, Request& request, const Caller& caller) {
  std::int64_t user = caller.user.id;
  if (auto refused = RefuseUnknownQuery(request, {"user"})) return *refused;
  for (const auto& [key, value] : request.query) {
    if (!caller.Has(Scope::kUsersWrite)) {
      return Response::Error(403, "only administrators may list other users' tokens");
    }
    if (value == "all") {
      user = 0;
    } else {
      auto id = ParseId(value);
      if (!id) return Response::Error(400, "'user' must be a user id or 'all'");
      user = *id;
    }
  }
  auto tokens = context.store.ListTokens(user);
  if (!tokens) return Response::FromError(tokens.error());
  const std::string now = FormatTime(std::chrono::system_clock::now());
  json items = json::array();
  for (const auto& token : *tokens) {
    json item = TokenJson(token, caller);
    item["expired"] = !token.expires_at.empty() && token.expires_at <= now;
    items.push_back(std::move(item));
  }
  return Response::Json(200, {{"tokens", items}});
}

// DELETE /api/v1/tokens/{id}: the caller's own token, or anyone's for a users:write caller.
Response RevokeToken(ApiContext& context, Request& request, const Caller& caller) {
  const std::string id = request.Param("id");
  if (id.size() != 16 || !std::ranges::all_of(id, [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return Response::Error(400, "a token id is 16 lowercase hex digits");
  }
  auto tokens = context.store.ListTokens(caller.Has(Scope::kUsersWrite) ? 0 : caller.user.id);
  if (!tokens) return Response::FromError(tokens.error());
  const Token* found = nullptr;
  for (const auto& token : *tokens) {
    if (token.token_hash.starts_with(id)) {
      if (found != nullptr) return Response::Error(409, "the id names more than one token");
      found = &token;
    }
  }
  if (found == nullptr) return Response::Error(404, "unknown token");
  auto deleted = context.store.DeleteToken(found->token_hash);
  if (!deleted) return Response::FromError(deleted.error());
  return Response::Json(200, {{"revoked", id}, {"user_id", found->user_id}});
}

// PATCH /api/v1/products/{product}: {"forbid_downgrades": bool} (the only setting for now).
Response UpdateProduct(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  for (const auto& [key, value] : body->items()) {
    if (IsDeviceAuthSetting(key)) continue;  // checked by ApplyDeviceAuthSettings
    if (key != "forbid_downgrades") {
      return Response::Error(400, "'" + key +
                                      "' is not a product setting (forbid_downgrades, "
                                      "device_auth, enrolment, client_ca)");
    }
    if (!value.is_boolean()) return Response::Error(400, "'forbid_downgrades' must be a boolean");
  }
  const std::string uid = request.Param("product");
  if (auto refused = ApplyDeviceAuthSettings(context, uid, *body)) return *refused;
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
  if (!created && created.error().code() == Errc::kAlreadyExists) {
    return Response::Error(409, "a product with uid " + product.uid + " already exists");
  }
  if (!created) return Response::FromError(created.error());
  return Response::Json(201, ToJson(*created));
}

// A new shared token for the product's devices (replacing any previous one), shown once.
Response NewDeviceToken(ApiContext& context, Request& request) {
  const std::string secret = NewSecret();
  auto set = context.store.SetDeviceTokenHash(request.Param("product"), TokenHash(secret));
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown product");
  return Response::Json(201, {{"device_token", secret}, {"header", protocol::kProductTokenHeader}});
}

Response DropDeviceToken(ApiContext& context, Request& request) {
  auto set = context.store.SetDeviceTokenHash(request.Param("product"), "");
  if (!set) return Response::FromError(set.error());
  if (!*set) return Response::Error(404, "unknown product");
  auto product = context.store.GetProduct(request.Param("product"));
  if (!product) return Response::FromError(product.error());
  if (!*product) return Response::Error(404, "unknown product");
  return Response::Json(200, ToJson(**product));
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
  if (!added && added.error().code() == Errc::kAlreadyExists) {
    return Response::Error(409, "the product already has the key " + row.fingerprint);
  }
  if (!added) return Response::FromError(added.error());
  return Response::Json(201, ToJson(*added));
}

// The body went through a PackageUpload as it arrived (see the route's body_sink).
Response UploadPackage(ApiContext& context, Request& request, const Caller& caller) {
  auto* upload = dynamic_cast<PackageUpload*>(request.body_sink.get());
  if (upload == nullptr) return Response::Error(500, "internal error");
  auto accepted = context.packages.Accept(
      *upload, [&caller](const std::string& product) { return caller.MayActOn(product); });
  if (!accepted) return Response::FromError(accepted.error());
  if (accepted->created) ++context.metrics.packages_uploaded;
  return Response::Json(accepted->created ? 201 : 200, ToJson(accepted->package));
}

Response ListDevices(ApiContext& context, Request& request, const Caller& caller) {
  auto filter = ParseDeviceQuery(request.query);
  if (!filter) return Response::FromError(filter.error());
  if (auto denied = DenyUnlessProductNamed(caller, filter->product_uid)) return *denied;
  auto devices = context.store.ListDevices(*filter);
  if (!devices) return Response::FromError(devices.error());
  auto total = context.store.CountDevices(*filter);
  if (!total) return Response::FromError(total.error());
  json items = json::array();
  for (const auto& device : *devices) items.push_back(ToJson(device));
  json out = {{"devices", items}, {"total", *total}};
  if (devices->size() == filter->limit) out["next_after"] = devices->back().id;
  return Response::Json(200, out);
}

// The device's place in the rollout that holds it now, or null.
Expected<json> CurrentRolloutJson(Store& store, std::int64_t device_id) {
  auto place = store.FindRolloutDevice(device_id);
  if (!place) return std::unexpected(place.error());
  if (!*place) return json(nullptr);
  auto rollout = store.GetRollout((*place)->rollout_id);
  if (!rollout) return std::unexpected(rollout.error());
  json out = {{"id", (*place)->rollout_id},
              {"stage", (*place)->stage},
              {"state", DeviceStateName((*place)->state)},
              {"error_message", (*place)->error_message},
              {"retries", (*place)->retries},
              {"started_at", (*place)->started_at},
              {"updated_at", (*place)->updated_at}};
  if (*rollout) {
    out["name"] = (*rollout)->name;
    out["package"] = (*rollout)->package_uid;
    out["rollout_state"] = RolloutStateName((*rollout)->state);
    out["current_stage"] = (*rollout)->current_stage;
  }
  return out;
}

// GET /api/v1/devices/{id} shows the latest reports for a glance (updatehub-admin device show),
// as the history shows them; the dashboard's device page pages through /history.
constexpr std::size_t kShownReports = 10;

Response ShowDevice(ApiContext& context, Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad device id");
  auto device = context.store.GetDevice(*id);
  if (!device) return Response::FromError(device.error());
  if (!*device) return Response::Error(404, "unknown device");
  if (auto denied = DenyProduct(caller, (*device)->product_uid)) return *denied;
  auto reports = context.store.ListReports(*id, kShownReports);
  if (!reports) return Response::FromError(reports.error());
  auto rollout = CurrentRolloutJson(context.store, *id);
  if (!rollout) return Response::FromError(rollout.error());
  json out = ToJson(**device);
  out["rollout"] = std::move(*rollout);
  out["reports"] = json::array();
  for (const auto& report : *reports) out["reports"].push_back(HistoryJson(report));
  return Response::Json(200, out);
}

// GET /api/v1/devices/{id}/history: the device page's timeline, each section newest first.
Response ShowDeviceHistory(ApiContext& context, Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad device id");
  auto query = ParseHistoryQuery(request.query);
  if (!query) return Response::FromError(query.error());
  auto device = context.store.GetDevice(*id);
  if (!device) return Response::FromError(device.error());
  if (!*device) return Response::Error(404, "unknown device");
  if (auto denied = DenyProduct(caller, (*device)->product_uid)) return *denied;
  const std::size_t limit = query->limit;
  json out = {{"device_id", *id}, {"next", json::object()}};
  // A section's next page starts before its last row, when the page is full.
  auto add = [&](const char* name, const char* cursor, const auto& rows, auto view, auto key) {
    json items = json::array();
    for (const auto& row : rows) items.push_back(view(row));
    out[name] = std::move(items);
    out["next"][cursor] = rows.size() == limit ? json(key(rows.back())) : json(nullptr);
  };
  if (query->reports_before) {
    ReportFilter filter;
    filter.device_id = *id;
    filter.before_id = *query->reports_before;
    filter.limit = limit;
    auto reports = context.store.FindReports(filter);
    if (!reports) return Response::FromError(reports.error());
    add(
        "reports", "reports_before", *reports, [](const Report& r) { return HistoryJson(r); },
        [](const Report& r) { return r.id; });
  }
  if (query->versions_before) {
    auto versions = context.store.ListDeviceVersions(*id, *query->versions_before, limit);
    if (!versions) return Response::FromError(versions.error());
    add(
        "versions", "versions_before", *versions, [](const DeviceVersion& v) { return ToJson(v); },
        [](const DeviceVersion& v) { return v.id; });
  }
  if (query->rollouts_before) {
    auto rollouts = context.store.ListDeviceRollouts(*id, *query->rollouts_before, limit);
    if (!rollouts) return Response::FromError(rollouts.error());
    add(
        "rollouts", "rollouts_before", *rollouts, [](const DeviceRollout& r) { return ToJson(r); },
        [](const DeviceRollout& r) { return r.place.rollout_id; });
  }
  return Response::Json(200, out);
}

}  // namespace

namespace {

Response Unauthorized(const Error& error) {
  Response response = Response::Error(401, error.message());
  response.SetHeader("WWW-Authenticate", "Bearer");
  return response;
}

Response Forbidden(Scope scope) {
  return Response::Error(403, "this needs the scope " + std::string(ScopeName(scope)) +
                                  ", which your role or token does not have");
}

}  // namespace

http::Handler Allow(ApiContext& context, std::optional<Scope> scope, CallerHandler handler) {
  return [&context, scope, handler = std::move(handler)](Request& request) {
    auto caller = context.auth.Identify(request.Header("authorization"));
    if (!caller) return Unauthorized(caller.error());
    if (scope && !caller->Has(*scope)) return Forbidden(*scope);
    return handler(request, *caller);
  };
}

std::function<std::optional<Response>(const Request&)> AdmitScope(ApiContext& context,
                                                                  Scope scope) {
  return [&context, scope](const Request& request) -> std::optional<Response> {
    auto caller = context.auth.Identify(request.Header("authorization"));
    if (!caller) return Unauthorized(caller.error());
    if (!caller->Has(scope)) return Forbidden(scope);
    return std::nullopt;
  };
}

std::optional<Response> DenyProduct(const Caller& caller, std::string_view product_uid) {
  if (caller.MayActOn(product_uid)) return std::nullopt;
  return Response::Error(403, "you may not act on product " + std::string(product_uid));
}

std::optional<Response> DenyUnlessProductNamed(const Caller& caller,
                                               const std::optional<std::string>& product) {
  if (!caller.LimitedToProducts()) return std::nullopt;
  if (!product) {
    return Response::Error(403, "you may see only some products: name one with ?product=UID");
  }
  return DenyProduct(caller, *product);
}

http::Handler AllowForProduct(ApiContext& context, Scope scope, http::Handler handler) {
  return Allow(context, scope, [handler = std::move(handler)](Request& r, const Caller& caller) {
    if (auto denied = DenyProduct(caller, r.Param("product"))) return *denied;
    return handler(r);
  });
}

void AddManagementRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/healthz", [&context](Request&) {
    auto products = context.store.ListProducts();
    if (!products) return Response::Error(503, "store unavailable: " + products.error().message());
    return Response::Json(200, {{"status", "ok"}});
  });
  router.Add(Method::kGet, "/metrics", [&context](Request&) {
    const auto overdue_after =
        std::chrono::seconds(context.config.device_poll_seconds) * ServerConfig::kOverduePolls;
    auto fleet = ReadFleetGauges(context.store, overdue_after);
    if (!fleet) return Response::FromError(fleet.error());
    return Response::Text(200, MetricsText(context.metrics, context.quota, *fleet),
                          "text/plain; version=0.0.4");
  });

  router.Add(Method::kPost, "/api/v1/login", [&context](Request& r) { return Login(context, r); });
  router.Add(Method::kPost, "/api/v1/logout",
             Allow(context, std::nullopt, [&context](Request& r, const Caller&) {
               (void)context.auth.Logout(r.Header("authorization"));
               return Response::Json(200, {{"status", "logged out"}});
             }));
  router.Add(Method::kPost, "/api/v1/tokens",
             Allow(context, std::nullopt, [&context](Request& r, const Caller& caller) {
               return CreateToken(context, r, caller);
             }));
  router.Add(Method::kGet, "/api/v1/tokens",
             Allow(context, std::nullopt, [&context](Request& r, const Caller& caller) {
               return ListTokens(context, r, caller);
             }));
  router.Add(Method::kDelete, "/api/v1/tokens/{id}",
             Allow(context, std::nullopt, [&context](Request& r, const Caller& caller) {
               return RevokeToken(context, r, caller);
             }));

  router.Add(Method::kGet, "/api/v1/products",
             Allow(context, Scope::kRead, [&context](Request&, const Caller& caller) {
               auto products = context.store.ListProducts();
               if (!products) return Response::FromError(products.error());
               json items = json::array();
               for (const auto& product : *products) {
                 if (caller.MayActOn(product.uid)) items.push_back(ToJson(product));
               }
               return Response::Json(200, {{"products", items}});
             }));
  router.Add(Method::kPost, "/api/v1/products",
             Allow(context, Scope::kProductsWrite, [&context](Request& r, const Caller& caller) {
               if (caller.LimitedToProducts()) {
                 return Response::Error(403, "users limited to some products cannot create one");
               }
               return CreateProduct(context, r);
             }));
  router.Add(Method::kGet, "/api/v1/products/{product}",
             AllowForProduct(context, Scope::kRead, [&context](Request& r) {
               auto product = context.store.GetProduct(r.Param("product"));
               if (!product) return Response::FromError(product.error());
               if (!*product) return Response::Error(404, "unknown product");
               return Response::Json(200, ToJson(**product));
             }));
  router.Add(Method::kPatch, "/api/v1/products/{product}",
             AllowForProduct(context, Scope::kProductsWrite,
                             [&context](Request& r) { return UpdateProduct(context, r); }));
  router.Add(Method::kPost, "/api/v1/products/{product}/device-token",
             AllowForProduct(context, Scope::kProductsWrite,
                             [&context](Request& r) { return NewDeviceToken(context, r); }));
  router.Add(Method::kDelete, "/api/v1/products/{product}/device-token",
             AllowForProduct(context, Scope::kProductsWrite,
                             [&context](Request& r) { return DropDeviceToken(context, r); }));
  router.Add(Method::kGet, "/api/v1/products/{product}/keys",
             AllowForProduct(context, Scope::kRead, [&context](Request& r) {
               auto keys = context.store.ListKeys(r.Param("product"));
               if (!keys) return Response::FromError(keys.error());
               json items = json::array();
               for (const auto& key : *keys) items.push_back(ToJson(key));
               return Response::Json(200, {{"keys", items}});
             }));
  router.Add(Method::kPost, "/api/v1/products/{product}/keys",
             AllowForProduct(context, Scope::kKeysWrite,
                             [&context](Request& r) { return AddKey(context, r); }));
  router.Add(Method::kDelete, "/api/v1/keys/{id}",
             Allow(context, Scope::kKeysWrite, [&context](Request& r, const Caller& caller) {
               auto id = ParseId(r.Param("id"));
               if (!id) return Response::Error(400, "bad key id");
               auto key = context.store.GetKey(*id);
               if (!key) return Response::FromError(key.error());
               if (!*key) return Response::Error(404, "unknown key");
               if (auto denied = DenyProduct(caller, (*key)->product_uid)) return *denied;
               auto deleted = context.store.DeleteKey(*id);
               if (!deleted) return Response::FromError(deleted.error());
               if (!*deleted) return Response::Error(404, "unknown key");
               return Response::Json(200, {{"deleted", *id}});
             }));

  http::RouteOptions upload;
  upload.max_file_body_bytes = context.config.max_package_bytes;
  upload.body_sink = [&context](const Request&) -> Expected<std::shared_ptr<http::BodySink>> {
    return context.packages.BeginUpload(context.config.data_dir / "tmp");
  };
  // Checked again by Allow once the body is in, since a token can expire or be revoked while a
  // large upload runs.
  upload.admit = AdmitScope(context, Scope::kPackagesWrite);
  router.Add(Method::kPost, "/api/v1/packages",
             Allow(context, Scope::kPackagesWrite,
                   [&context](Request& r, const Caller& caller) {
                     return UploadPackage(context, r, caller);
                   }),
             upload);
  router.Add(Method::kGet, "/api/v1/packages",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               if (auto refused = RefuseUnknownQuery(r, {"product"})) return *refused;
               auto it = r.query.find("product");
               if (it == r.query.end())
                 return Response::Error(400, "'product' query parameter is required");
               if (auto denied = DenyProduct(caller, it->second)) return *denied;
               auto packages = context.store.ListPackages(it->second);
               if (!packages) return Response::FromError(packages.error());
               json items = json::array();
               for (const auto& package : *packages) items.push_back(ToJson(package));
               return Response::Json(200, {{"packages", items}});
             }));
  router.Add(Method::kGet, "/api/v1/packages/{uid}",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               auto package = context.store.GetPackage(r.Param("uid"));
               if (!package) return Response::FromError(package.error());
               if (!*package) return Response::Error(404, "unknown package");
               if (auto denied = DenyProduct(caller, (*package)->product_uid)) return *denied;
               json out = ToJson(**package);
               out["metadata"] = json::parse((*package)->metadata, nullptr, false);
               return Response::Json(200, out);
             }));
  router.Add(Method::kDelete, "/api/v1/packages/{uid}",
             Allow(context, Scope::kPackagesWrite, [&context](Request& r, const Caller& caller) {
               auto package = context.store.GetPackage(r.Param("uid"));
               if (!package) return Response::FromError(package.error());
               if (!*package) return Response::Error(404, "unknown package");
               if (auto denied = DenyProduct(caller, (*package)->product_uid)) return *denied;
               auto deleted = context.packages.Delete(r.Param("uid"));
               if (!deleted) return Response::FromError(deleted.error());
               if (!*deleted) return Response::Error(404, "unknown package");
               return Response::Json(200, {{"deleted", r.Param("uid")}});
             }));

  router.Add(Method::kGet, "/api/v1/devices",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               return ListDevices(context, r, caller);
             }));
  router.Add(Method::kGet, "/api/v1/devices/{id}",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               return ShowDevice(context, r, caller);
             }));
  router.Add(Method::kGet, "/api/v1/devices/{id}/history",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               return ShowDeviceHistory(context, r, caller);
             }));
}

}  // namespace uh::server
