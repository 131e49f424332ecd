#include "server/rollout_api.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/json.hpp"
#include "server/api_util.hpp"
#include "server/management_api.hpp"

namespace uh::server {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

Expected<json> RolloutJson(RolloutService& rollouts, const Rollout& rollout) {
  auto stats = rollouts.Stats(rollout);
  if (!stats) return std::unexpected(stats.error());
  auto hold = rollouts.HoldReasonOf(rollout, *stats);
  if (!hold) return std::unexpected(hold.error());
  json out = ToJson(rollout);
  out["hold_reason"] = *hold ? json(**hold) : json(nullptr);
  out["statistics"] = ToJson(*stats);
  return out;
}

Expected<json> RolloutListJson(RolloutService& rollouts, const std::vector<Rollout>& list) {
  auto progress = rollouts.ProgressOf(list);
  if (!progress) return std::unexpected(progress.error());
  json items = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& [stats, hold] = (*progress)[i];
    json item = ToJson(list[i]);
    item["hold_reason"] = hold ? json(*hold) : json(nullptr);
    item["statistics"] = ToJson(stats);
    items.push_back(std::move(item));
  }
  return items;
}

namespace {

// The creation's own option, not part of the rollout: create a selection that matches no
// device yet, for devices that match it later.
constexpr const char* kWaitForDevices = "wait_for_devices";

// The body's rollout definition, and whether it may match no device now: a body without
// "devices" or "filter" (every device of the product) may, as may one saying
// "wait_for_devices": true.
Expected<std::pair<Rollout, bool>> Definition(json body) {
  bool allow_empty = !body.contains("devices") && !body.contains("filter");
  if (body.contains(kWaitForDevices)) {
    if (!body[kWaitForDevices].is_boolean()) {
      return Fail(Errc::kMalformed, "'wait_for_devices' must be a boolean");
    }
    allow_empty = allow_empty || body[kWaitForDevices].get<bool>();
    body.erase(kWaitForDevices);
  }
  auto definition = RolloutFromJson(body);
  if (!definition) return std::unexpected(definition.error());
  return std::pair{std::move(*definition), allow_empty};
}

Response Create(ApiContext& context, RolloutService& rollouts, Request& request) {
  const std::string product = request.Param("product");
  auto known = context.store.GetProduct(product);
  if (!known) return Response::FromError(known.error());
  if (!*known) return Response::Error(404, "unknown product");
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto definition = Definition(std::move(*body));
  if (!definition) return Response::FromError(definition.error());
  auto created = rollouts.Create(product, std::move(definition->first), definition->second);
  if (!created) return Response::FromError(created.error());
  auto out = RolloutJson(rollouts, *created);
  if (!out) return Response::FromError(out.error());
  // A start_at that has passed starts the rollout at once, on purpose (a script's "now", clock
  // skew): the answer says so rather than refusing.
  if (!created->start_at.empty() && created->state != RolloutState::kScheduled) {
    (*out)["start_at_in_past"] = true;
  }
  return Response::Json(201, *out);
}

// POST /api/v1/products/{product}/rollouts/preview: what a creation with this body would
// select now, creating nothing.
Response Preview(RolloutService& rollouts, Request& request) {
  auto body = JsonObjectBody(request);
  if (!body) return Response::FromError(body.error());
  auto definition = Definition(std::move(*body));
  if (!definition) return Response::FromError(definition.error());
  auto count = rollouts.Preview(request.Param("product"), definition->first);
  if (!count) return Response::FromError(count.error());
  return Response::Json(200, {{"matching_devices", count->matching},
                              {"excluded",
                               {{"unsupported_hardware", count->unsupported_hardware},
                                {"not_accepted", count->not_accepted},
                                {"newer_version", count->newer_version},
                                {"in_other_rollouts", count->in_other_rollouts}}},
                              {"unknown_device_ids", count->unknown_ids}});
}

Response List(RolloutService& rollouts, ApiContext& context, Request& request) {
  bool archived = false;
  if (auto refused = RefuseUnknownQuery(request, {"archived"})) return *refused;
  for (const auto& [key, value] : request.query) {
    if (value != "true" && value != "false") {
      return Response::Error(400, "'archived' must be true or false");
    }
    archived = value == "true";
  }
  auto list = context.store.ListRollouts(request.Param("product"), archived);
  if (!list) return Response::FromError(list.error());
  auto items = RolloutListJson(rollouts, *list);
  if (!items) return Response::FromError(items.error());
  return Response::Json(200, {{"rollouts", std::move(*items)}});
}

Response Show(RolloutService& rollouts, const Rollout& rollout) {
  auto out = RolloutJson(rollouts, rollout);
  if (!out) return Response::FromError(out.error());
  return Response::Json(200, *out);
}

// The rollout's devices, each with its stage, state and error, and who the device is: who
// failed and why. ?state=failed&after=DEVICE_ID&limit=N.
Response ListDevices(ApiContext& context, const Rollout& rollout, Request& request) {
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
  auto members = context.store.ListRolloutMembers(rollout.id, after, limit, state);
  if (!members) return Response::FromError(members.error());
  json items = json::array();
  for (const RolloutMember& member : *members) {
    const RolloutDevice& place = member.place;
    const json identity = json::parse(member.identity, nullptr, false);
    items.push_back({{"device_id", place.device_id},
                     {"identity", identity.is_discarded() ? json(member.identity) : identity},
                     {"hardware", member.hardware},
                     {"version", member.version},
                     {"last_seen", member.last_seen},
                     {"stage", place.stage},
                     {"state", DeviceStateName(place.state)},
                     {"error_message", place.error_message},
                     {"retries", place.retries},
                     {"started_at", place.started_at},
                     {"updated_at", place.updated_at}});
  }
  json out = {{"devices", items}};
  if (members->size() == limit) out["next_after"] = members->back().place.device_id;
  return Response::Json(200, out);
}

// The start of a progress point's minute ("2026-06-01T10:00") in RFC 3339.
std::string MinuteStart(const std::string& minute) {
  return minute.size() == 16 ? minute + ":00Z" : minute;
}

// The points with their running totals, which start from `earlier` (updated, failed).
json ProgressJson(std::int64_t rollout_id, const std::vector<RolloutProgressPoint>& points,
                  std::pair<std::int64_t, std::int64_t> earlier) {
  auto [updated, failed] = earlier;
  json items = json::array();
  for (const RolloutProgressPoint& point : points) {
    updated += point.updated;
    failed += point.failed;
    items.push_back({{"at", MinuteStart(point.minute)},
                     {"updated", point.updated},
                     {"failed", point.failed},
                     {"updated_total", updated},
                     {"failed_total", failed}});
  }
  return {{"rollout_id", rollout_id},
          {"earlier", {{"updated", earlier.first}, {"failed", earlier.second}}},
          {"points", std::move(items)}};
}

// GET /api/v1/rollouts/{id}/progress?limit=N: the minutes in which devices ended (updated or
// failed), oldest first, each with running totals, for a chart of progress over time. The
// totals start from "earlier", the devices that ended before the first minute listed (when
// there are more than `limit` minutes), so that the last point's totals are the rollout's.
Response Progress(RolloutService& rollouts, ApiContext& context, const Rollout& rollout,
                  Request& request) {
  auto limit = static_cast<std::size_t>(kMaxPageLimit);
  if (auto refused = RefuseUnknownQuery(request, {"limit"})) return *refused;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    auto parsed = ParseLimit(it->second);
    if (!parsed) return Response::Error(400, "'limit' must be 1 to 1000");
    limit = *parsed;
  }
  auto points = context.store.RolloutProgress(rollout.id, limit);
  if (!points) return Response::FromError(points.error());
  std::pair<std::int64_t, std::int64_t> earlier{0, 0};
  if (points->size() >= limit) {  // older minutes may be left out: the rest of the counts
    auto stats = rollouts.Stats(rollout);
    if (!stats) return Response::FromError(stats.error());
    earlier = {stats->Count(DeviceState::kUpdated), stats->Count(DeviceState::kFailed)};
    for (const RolloutProgressPoint& point : *points) {
      earlier.first -= point.updated;
      earlier.second -= point.failed;
    }
    // Not below zero when a device ended between the two reads.
    earlier = {std::max<std::int64_t>(earlier.first, 0), std::max<std::int64_t>(earlier.second, 0)};
  }
  return Response::Json(200, ProgressJson(rollout.id, *points, earlier));
}

// POST /api/v1/rollouts/{id}/retry, body {"devices": [ids]} or nothing (every failed device).
Response Retry(RolloutService& rollouts, const Rollout& rollout, Request& request) {
  auto body = JsonObjectBody(request, true);
  if (!body) return Response::FromError(body.error());
  std::vector<std::int64_t> devices;
  for (const auto& [key, value] : body->items()) {
    if (key != "devices") return Response::Error(400, "unknown field '" + key + "' (devices)");
    if (!value.is_array()) return Response::Error(400, "'devices' must be a list of device ids");
    for (const auto& id : value) {
      if (!id.is_number_integer() || id.get<std::int64_t>() <= 0) {
        return Response::Error(400, "'devices' must be a list of device ids");
      }
      devices.push_back(id.get<std::int64_t>());
    }
  }
  auto retried = rollouts.Retry(rollout.id, devices);
  if (!retried) return Response::FromError(retried.error());
  auto out = RolloutJson(rollouts, retried->rollout);
  if (!out) return Response::FromError(out.error());
  (*out)["retried_devices"] = retried->device_ids;
  return Response::Json(200, *out);
}

Response Control(RolloutService& rollouts, const Rollout& rollout, Request& request,
                 const Caller& caller) {
  auto body = JsonObjectBody(request, true);
  if (!body) return Response::FromError(body.error());
  auto changed = rollouts.Control(rollout.id, request.Param("action"), *body, caller.user.name);
  if (!changed) return Response::FromError(changed.error());
  return Show(rollouts, *changed);
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
      return inner(r, caller, **rollout);
    });
  };
  router.Add(Method::kPost, "/api/v1/products/{product}/rollouts",
             AllowForProduct(context, Scope::kRolloutsWrite,
                             [&](Request& r) { return Create(context, rollouts, r); }));
  router.Add(
      Method::kPost, "/api/v1/products/{product}/rollouts/preview",
      AllowForProduct(context, Scope::kRead, [&](Request& r) { return Preview(rollouts, r); }));
  router.Add(Method::kGet, "/api/v1/products/{product}/rollouts",
             AllowForProduct(context, Scope::kRead,
                             [&](Request& r) { return List(rollouts, context, r); }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}",
             for_rollout(Scope::kRead, [&](Request&, const Caller&, const Rollout& rollout) {
               return Show(rollouts, rollout);
             }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}/statistics",
             for_rollout(Scope::kRead, [&](Request&, const Caller&, const Rollout& rollout) {
               auto stats = rollouts.Stats(rollout);
               if (!stats) return Response::FromError(stats.error());
               return Response::Json(200, ToJson(*stats));
             }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}/progress",
             for_rollout(Scope::kRead, [&](Request& r, const Caller&, const Rollout& rollout) {
               return Progress(rollouts, context, rollout, r);
             }));
  router.Add(Method::kGet, "/api/v1/rollouts/{id}/devices",
             for_rollout(Scope::kRead, [&](Request& r, const Caller&, const Rollout& rollout) {
               return ListDevices(context, rollout, r);
             }));
  router.Add(
      Method::kPost, "/api/v1/rollouts/{id}/retry",
      for_rollout(Scope::kRolloutsWrite, [&](Request& r, const Caller&, const Rollout& rollout) {
        return Retry(rollouts, rollout, r);
      }));
  router.Add(Method::kPost, "/api/v1/rollouts/{id}/{action}",
             for_rollout(Scope::kRolloutsWrite,
                         [&](Request& r, const Caller& caller, const Rollout& rollout) {
                           return Control(rollouts, rollout, r, caller);
                         }));
}

}  // namespace uh::server
