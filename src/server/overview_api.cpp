#include "server/overview_api.hpp"

#include "core/time.hpp"
#include "server/api_util.hpp"
#include "server/management_api.hpp"
#include "server/rollout_api.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::size_t kDefaultFailures = 10;
constexpr std::size_t kMaxFailures = 100;

json Groups(const GroupCounts& groups, const char* name) {
  json out = json::array();
  for (const auto& [value, count] : groups) out.push_back({{name, value}, {"count", count}});
  return out;
}

json FailureJson(const DeviceFailure& failure) {
  const json identity = json::parse(failure.identity, nullptr, false);
  return {{"device_id", failure.report.device_id},
          {"product", failure.product_uid},
          {"identity", identity.is_discarded() ? json(failure.identity) : identity},
          {"hardware", failure.hardware},
          {"version", failure.version},
          {"package", failure.report.package_uid},
          {"previous_state", failure.report.previous_state},
          {"error_message", failure.report.error_message},
          {"at", failure.report.created_at}};
}

Response Overview(ApiContext& context, RolloutService& rollouts, Request& request,
                  const Caller& caller) {
  std::optional<std::string> product;
  std::size_t failures = kDefaultFailures;
  if (auto refused = RefuseUnknownQuery(request, {"product", "failures"})) return *refused;
  if (auto it = request.query.find("product"); it != request.query.end()) product = it->second;
  if (auto it = request.query.find("failures"); it != request.query.end()) {
    auto limit = ParseLimit(it->second);
    if (!limit || *limit > kMaxFailures) {
      return Response::Error(400, "'failures' must be 1 to " + std::to_string(kMaxFailures));
    }
    failures = *limit;
  }
  if (auto denied = DenyUnlessProductNamed(caller, product)) return *denied;
  if (product) {
    auto known = context.store.GetProduct(*product);
    if (!known) return Response::FromError(known.error());
    if (!*known) return Response::Error(404, "unknown product");
  }

  const auto now = rollouts.CurrentTime();
  const auto poll = std::chrono::seconds(context.config.device_poll_seconds);
  const auto overdue_after = poll * ServerConfig::kOverduePolls;
  const OverviewTimes times{.hour_ago = FormatTime(now - std::chrono::hours(1)),
                            .day_ago = FormatTime(now - std::chrono::hours(24)),
                            .overdue_before = FormatTime(now - overdue_after)};
  auto devices = context.store.GetDeviceOverview(product, times);
  if (!devices) return Response::FromError(devices.error());
  auto latest = context.store.LatestFailures(product, failures);
  if (!latest) return Response::FromError(latest.error());
  auto active = context.store.ListRollouts(product.value_or(""), false);
  if (!active) return Response::FromError(active.error());

  std::erase_if(*active,
                [&](const Rollout& rollout) { return !caller.MayActOn(rollout.product_uid); });
  auto rollout_items = RolloutListJson(rollouts, *active);
  if (!rollout_items) return Response::FromError(rollout_items.error());
  json failure_items = json::array();
  for (const auto& failure : *latest) failure_items.push_back(FailureJson(failure));
  return Response::Json(200, {{"product", product ? json(*product) : json(nullptr)},
                              {"devices",
                               {{"total", devices->total},
                                {"by_version", Groups(devices->by_version, "version")},
                                {"by_hardware", Groups(devices->by_hardware, "hardware")},
                                {"by_rollout_state", Groups(devices->by_rollout_state, "state")},
                                {"last_seen",
                                 {{"last_hour", devices->seen_since_hour},
                                  {"last_day", devices->seen_since_day},
                                  {"overdue", devices->overdue},
                                  {"overdue_after_seconds", overdue_after.count()}}}}},
                              {"rollouts", std::move(*rollout_items)},
                              {"latest_failures", failure_items}});
}

}  // namespace

void AddOverviewRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts) {
  router.Add(Method::kGet, "/api/v1/overview",
             Allow(context, Scope::kRead, [&context, &rollouts](Request& r, const Caller& caller) {
               return Overview(context, rollouts, r, caller);
             }));
}

}  // namespace uh::server
