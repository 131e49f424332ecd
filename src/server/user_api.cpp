#include "server/user_api.hpp"

#include "core/hash.hpp"
#include "server/api_util.hpp"
#include "server/json_views.hpp"
#include "server/management_api.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

json UserJson(const User& user) {
  return {{"id", user.id},
          {"name", user.name},
          {"role", user.role},
          {"admin", user.IsAdmin()},
          {"products", user.products},
          {"scopes", ScopeNames(RoleScopes(user.role))},
          {"created_at", user.created_at}};
}

// "role" (or the older "admin": true/false) and "products" of a user body; the defaults are
// what `fallback` holds.
Expected<User> RoleFromBody(const json& body, User fallback) {
  if (body.contains("role")) {
    if (!body["role"].is_string()) return Fail(Errc::kInvalidArgument, "'role' must be a string");
    fallback.role = body["role"].get<std::string>();
  } else if (body.contains("admin")) {
    if (!body["admin"].is_boolean()) {
      return Fail(Errc::kInvalidArgument, "'admin' must be a boolean");
    }
    fallback.role = body["admin"].get<bool>() ? "admin" : "release-manager";
  }
  if (body.contains("products")) {
    const json& list = body["products"];
    if (!list.is_array()) {
      return Fail(Errc::kInvalidArgument, "'products' must be an array of product uids");
    }
    fallback.products.clear();
    for (const auto& item : list) {
      if (!item.is_string() || !IsLowerHexSha256(item.get<std::string>())) {
        return Fail(Errc::kInvalidArgument, "'products' must be an array of product uids");
      }
      fallback.products.push_back(item.get<std::string>());
    }
  }
  return fallback;
}

Response CreateUser(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto name = StringMember(*body, "username", true);
  if (!name) return Response::FromError(name.error());
  auto password = StringMember(*body, "password", true);
  if (!password) return Response::FromError(password.error());
  auto role = RoleFromBody(*body, User{});
  if (!role) return Response::FromError(role.error());
  auto user = context.auth.CreateUser(*name, *password, role->role, role->products);
  if (!user) return Response::FromError(user.error());
  return Response::Json(201, UserJson(*user));
}

// PATCH /api/v1/users/{id} {"role", "products"}: takes effect on the user's next request.
Response UpdateUser(ApiContext& context, Request& request) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad user id");
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "role" && key != "products") {
      return Response::Error(400, "'" + key + "' cannot be changed here (role, products)");
    }
  }
  auto user = context.store.GetUser(*id);
  if (!user) return Response::FromError(user.error());
  if (!*user) return Response::Error(404, "unknown user");
  auto wanted = RoleFromBody(*body, **user);
  if (!wanted) return Response::FromError(wanted.error());
  auto changed = context.auth.SetRole(*id, wanted->role, wanted->products);
  if (!changed) return Response::FromError(changed.error());
  return Response::Json(200, UserJson(*changed));
}

Response ChangePassword(ApiContext& context, Request& request, std::int64_t user_id) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto current = StringMember(*body, "current_password", true);
  if (!current) return Response::FromError(current.error());
  auto replacement = StringMember(*body, "new_password", true);
  if (!replacement) return Response::FromError(replacement.error());
  auto token = context.auth.ChangePassword(user_id, *current, *replacement);
  if (!token) return Response::FromError(token.error());
  return Response::Json(200, {{"token", *token}});
}

Response DeleteUser(ApiContext& context, Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad user id");
  if (*id == caller.user.id) return Response::Error(400, "you cannot delete yourself");
  auto deleted = context.store.DeleteUser(*id);
  if (!deleted) return Response::FromError(deleted.error());
  if (!*deleted) return Response::Error(404, "unknown user");
  return Response::Json(200, {{"deleted", *id}});
}

Response ListReports(ApiContext& context, Request& request, const Caller& caller) {
  ReportFilter filter;
  for (const auto& [key, value] : request.query) {
    if (key == "device") {
      auto id = ParseId(value);
      if (!id) return Response::Error(400, "'device' must be a device id");
      filter.device_id = *id;
    } else if (key == "package") {
      filter.package_uid = value;
    } else if (key == "status") {
      filter.status = value;
    } else if (std::string error;
               ApplyPagingParam(key, value, "a report", filter.before_id, filter.limit, error)) {
      if (!error.empty()) return Response::Error(400, error);
    } else {
      return Response::Error(400, "unknown query parameter '" + key + "'");
    }
  }
  // A user limited to some products sees the reports of one device of theirs at a time.
  if (caller.LimitedToProducts()) {
    if (!filter.device_id) {
      return Response::Error(403, "you may see only some products: name a device with ?device=ID");
    }
    auto device = context.store.GetDevice(*filter.device_id);
    if (!device) return Response::FromError(device.error());
    if (!*device) return Response::Error(404, "unknown device");
    if (auto denied = DenyProduct(caller, (*device)->product_uid)) return *denied;
  }
  auto reports = context.store.FindReports(filter);
  if (!reports) return Response::FromError(reports.error());
  json items = json::array();
  for (const auto& report : *reports) items.push_back(ToJson(report));
  json out = {{"reports", items}};
  if (reports->size() == filter.limit) out["next_before"] = reports->back().id;
  return Response::Json(200, out);
}

}  // namespace

void AddUserRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/api/v1/users",
             Allow(context, Scope::kUsersWrite, [&context](Request&, const Caller&) {
               auto users = context.store.ListUsers();
               if (!users) return Response::FromError(users.error());
               json items = json::array();
               for (const auto& user : *users) items.push_back(UserJson(user));
               return Response::Json(200, {{"users", items}});
             }));
  router.Add(Method::kPost, "/api/v1/users",
             Allow(context, Scope::kUsersWrite,
                   [&context](Request& r, const Caller&) { return CreateUser(context, r); }));
  router.Add(Method::kPatch, "/api/v1/users/{id}",
             Allow(context, Scope::kUsersWrite,
                   [&context](Request& r, const Caller&) { return UpdateUser(context, r); }));
  router.Add(Method::kDelete, "/api/v1/users/{id}",
             Allow(context, Scope::kUsersWrite, [&context](Request& r, const Caller& caller) {
               return DeleteUser(context, r, caller);
             }));
  router.Add(Method::kGet, "/api/v1/users/me",
             Allow(context, std::nullopt, [](Request&, const Caller& caller) {
               json out = UserJson(caller.user);
               out["token_scopes"] = ScopeNames(caller.scopes);
               return Response::Json(200, out);
             }));
  router.Add(Method::kPut, "/api/v1/users/me/password",
             Allow(context, std::nullopt, [&context](Request& r, const Caller& caller) {
               return ChangePassword(context, r, caller.user.id);
             }));
  router.Add(Method::kGet, "/api/v1/reports",
             Allow(context, Scope::kRead, [&context](Request& r, const Caller& caller) {
               return ListReports(context, r, caller);
             }));
}

}  // namespace uh::server
