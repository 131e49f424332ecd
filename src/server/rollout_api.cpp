#include "server/rollout_api.hpp"

#include "core/json.hpp"
#include "server/api_util.hpp"
#include "server/management_api.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

Response Create(ApiContext& context, RolloutService& rollouts, Request& request) {
  const std::string product = request.Param("product");
  auto known = context.store.GetProduct(product);
  if (!known) return Response::FromError(known.error());
  if (!*known) return Response::Error(404, "unknown product");
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto definition = RolloutFromJson(*body);
  if (!definition) return Response::FromError(definition.error());
  auto created = rollouts.Create(product, std::move(*definition));
  if (!created) return Response::FromError(created.error());
  return Response::Json(201, ToJson(*created));
}

Response Show(ApiContext& context, RolloutService& rollouts, Request& request) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad rollout id");
  auto rollout = context.store.GetRollout(*id);
  if (!rollout) return Response::FromError(rollout.error());
  if (!*rollout) return Response::Error(404, "unknown rollout");
  auto stats = rollouts.Stats(*id);
  if (!stats) return Response::FromError(stats.error());
  json out = ToJson(**rollout);
  out["statistics"] = ToJson(*stats);
  return Response::Json(200, out);
}

// The rollout's devices, each with its stage, state and error: who failed and why.
// ?state=failed&after=DEVICE_ID&limit=N.
Response ListDevices(ApiContext& context, Request& request) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad rollout id");
  std::optional<DeviceState> state;
  std::int64_t after = 0;
  std::size_t limit = 100;
  for (const auto& [key, value] : request.query) {
    if (key == "state") {
      state = ParseDeviceState(value);
      if (!state) {
        return Response::Error(400,
                               "'state' must be pending, downloading, installing, "
                               "rebooting, updated or failed");
      }
    } else if (key == "after") {
      auto device = ParseId(value);
      if (!device) return Response::Error(400, "'after' must be a device id");
      after = *device;
    } else if (key == "limit") {
      auto parsed = ParseLimit(value);
      if (!parsed) return Response::Error(400, "'limit' must be 1 to 1000");
      limit = *parsed;
    } else {
      return Response::Error(400, "unknown query parameter '" + key + "'");
    }
  }
  auto rollout = context.store.GetRollout(*id);
  if (!rollout) return Response::FromError(rollout.error());
  if (!*rollout) return Response::Error(404, "unknown rollout");
  auto members = context.store.ListRolloutDevices(*id, after, limit, state);
  if (!members) return Response::FromError(members.error());
  json items = json::array();
  for (const RolloutDevice& member : *members) {
    items.push_back({{"device_id", member.device_id},
                     {"stage", member.stage},
                     {"state", DeviceStateName(member.state)},
                     {"error_message", member.error_message},
                     {"started_at", member.started_at},
                     {"updated_at", member.updated_at}});
  }
  json out = {{"devices", items}};
  if (members->size() == limit) out["next_after"] = members->back().device_id;
  return Response::Json(200, out);
}

Response Control(RolloutService& rollouts, Request& request) {
  auto id = ParseId(request.Param("id"));
  if (!id) return Response::Error(400, "bad rollout id");
  auto body = JsonObjectBody(request, true);
  if (!body) return Response::FromError(body.error());
  auto rollout = rollouts.Control(*id, request.Param("action"), *body);
  if (!rollout) return Response::FromError(rollout.error());
  return Response::Json(200, ToJson(*rollout));
}

}  // namespace

void AddRolloutRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts) {
  // Routes naming a rollout: its product is looked up first (404 for an unknown rollout).
  auto for_rollout = [&context](Scope scope, auto inner) {
    return Allow(context, scope, [&context, inner](Request& r, const Caller& caller) {
      auto id = ParseId(r.Param("id"));
      if (!id) return Response::Error(400, "bad rollout id");
      auto rollout = context.store.GetRollout(*id);
      if (!rollout) return Response::FromError(rollout.error());
      if (!*rollout) return Response::Error(404, "unknown rollout");
      if (auto denied = DenyProduct(caller, (*rollout)->product_uid)) return *denied;
      return inner(r);
    });
  };
  router.Add(Method::kPost, "/api/v1/products/{product}/rollouts",
             AllowForProduct(context, Scope::kRolloutsWrite,
                             [&](Request& r) { return Create(context, rollouts, r); }));
  router.Add(Method::kGet, "/api/v1/products/{product}/rollouts",
             AllowForProduct(context, Scope::kRead, [&](Request& r) {
               const bool archived = r.query.contains("archived") && r.query["archived"] == "true";
               auto list = context.store.ListRollouts(r.Param("product"), archived);
               if (!list) return Response::FromError(list.error());
               json items = json::array();
               for (const auto& rollout : *list) items.push_back(ToJson(rollout));
               return Response::Json(200, {{"rollouts", items}});
             }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}",
             for_rollout(Scope::kRead, [&](Request& r) { return Show(context, rollouts, r); }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}/statistics",
             for_rollout(Scope::kRead, [&](Request& r) {
               auto id = ParseId(r.Param("id"));
               if (!id) return Response::Error(400, "bad rollout id");
               auto stats = rollouts.Stats(*id);
               if (!stats) return Response::FromError(stats.error());
               return Response::Json(200, ToJson(*stats));
             }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}/devices",
             for_rollout(Scope::kRead, [&](Request& r) { return ListDevices(context, r); }));
  router.Add(Method::kPost, "/api/v1/rollouts/{id}/{action}",
             for_rollout(Scope::kRolloutsWrite, [&](Request& r) { return Control(rollouts, r); }));
}

}  // namespace uh::server
