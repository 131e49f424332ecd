#include "server/user_api.hpp"

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
  return {
      {"id", user.id}, {"name", user.name}, {"admin", user.admin}, {"created_at", user.created_at}};
}

Response CreateUser(ApiContext& context, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto name = StringMember(*body, "username", true);
  if (!name) return Response::FromError(name.error());
  auto password = StringMember(*body, "password", true);
  if (!password) return Response::FromError(password.error());
  bool admin = false;
  if (body->contains("admin")) {
    if (!(*body)["admin"].is_boolean()) return Response::Error(400, "'admin' must be a boolean");
    admin = (*body)["admin"].get<bool>();
  }
  auto user = context.auth.CreateUser(*name, *password, admin);
  if (!user) return Response::FromError(user.error());
  return Response::Json(201, UserJson(*user));
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

Response DeleteUser(ApiContext& context, Request& request, std::int64_t caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad user id");
  if (*id == caller) return Response::Error(400, "you cannot delete yourself");
  auto deleted = context.store.DeleteUser(*id);
  if (!deleted) return Response::FromError(deleted.error());
  if (!*deleted) return Response::Error(404, "unknown user");
  return Response::Json(200, {{"deleted", *id}});
}

Response ListReports(ApiContext& context, Request& request) {
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
  router.Add(Method::kGet, "/api/v1/users", AdminOnly(context, [&context](Request&, std::int64_t) {
               auto users = context.store.ListUsers();
               if (!users) return Response::FromError(users.error());
               json items = json::array();
               for (const auto& user : *users) items.push_back(UserJson(user));
               return Response::Json(200, {{"users", items}});
             }));
  router.Add(
      Method::kPost, "/api/v1/users",
      AdminOnly(context, [&context](Request& r, std::int64_t) { return CreateUser(context, r); }));
  router.Add(Method::kDelete, "/api/v1/users/{id}",
             AdminOnly(context, [&context](Request& r, std::int64_t caller) {
               return DeleteUser(context, r, caller);
             }));
  router.Add(Method::kGet, "/api/v1/users/me",
             RequireUser(context, [&context](Request&, std::int64_t user_id) {
               auto user = context.store.GetUser(user_id);
               if (!user) return Response::FromError(user.error());
               if (!*user) return Response::Error(404, "unknown user");
               return Response::Json(200, UserJson(**user));
             }));
  router.Add(Method::kPut, "/api/v1/users/me/password",
             RequireUser(context, [&context](Request& r, std::int64_t user_id) {
               return ChangePassword(context, r, user_id);
             }));
  router.Add(Method::kGet, "/api/v1/reports",
             RequireUser(context,
                         [&context](Request& r, std::int64_t) { return ListReports(context, r); }));
}

}  // namespace uh::server
