#include "server/audit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.hpp"
#include "core/time.hpp"
#include "server/api_context.hpp"
#include "server/api_util.hpp"
#include "server/auth.hpp"
#include "server/json_views.hpp"
#include "server/management_api.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::size_t kPage = 1000;

// Routes whose request or answer carries a secret (a password, a token): their bodies are never
// recorded, only that the call happened.
constexpr std::array<std::string_view, 7> kSecretBodies = {
    "/api/v1/tokens",
    "/api/v1/users",
    "/api/v1/users/me/password",
    "/api/v1/products/{product}/device-token",
    "/api/v1/login",
    "/api/v1/products/{product}/devices",  // a pre-provisioned device's secret
    "/api/v1/devices/{id}/token"};

bool HoldsSecrets(std::string_view pattern) {
  return std::ranges::find(kSecretBodies, pattern) != kSecretBodies.end();
}

// A JSON body as JSON, when it is a small JSON object; nullopt otherwise.
std::optional<json> SmallJson(std::string_view body) {
  if (body.empty() || body.size() > 16 * 1024) return std::nullopt;
  auto parsed = ParseJson(body);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  return std::move(*parsed);
}

std::string TargetOf(const Request& request, const json& answer) {
  for (const char* name : {"id", "uid", "product"}) {
    if (auto found = request.params.find(name); found != request.params.end()) {
      return found->second;
    }
  }
  for (const char* name : {"uid", "id"}) {
    if (answer.is_object() && answer.contains(name)) {
      const auto& value = answer[name];
      return value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return {};
}

// What a change acts on, as it was before the change, for the routes where that matters (a
// setting changed, a role given, something deleted, a rollout controlled); null otherwise.
json Before(ApiContext& context, std::string_view pattern, const Request& request) {
  const auto id = ParseId(request.Param("id"));
  if (pattern == "/api/v1/products/{product}" ||
      pattern.starts_with("/api/v1/products/{product}/device-token")) {
    auto product = context.store.GetProduct(request.Param("product"));
    if (product && *product) return ToJson(**product);
  } else if (pattern == "/api/v1/keys/{id}" && id) {
    auto key = context.store.GetKey(*id);
    if (key && *key) return ToJson(**key);
  } else if (pattern == "/api/v1/users/{id}" && id) {
    auto user = context.store.GetUser(*id);
    if (user && *user) {
      return {{"name", (*user)->name}, {"role", (*user)->role}, {"products", (*user)->products}};
    }
  } else if (pattern == "/api/v1/packages/{uid}") {
    auto package = context.store.GetPackage(request.Param("uid"));
    if (package && *package) {
      return {{"product", (*package)->product_uid},
              {"version", (*package)->version},
              {"key_id", (*package)->key_id}};
    }
  } else if (pattern.starts_with("/api/v1/rollouts/{id}") && id) {
    auto rollout = context.store.GetRollout(*id);
    if (rollout && *rollout) {
      return {{"state", RolloutStateName((*rollout)->state)},
              {"current_stage", (*rollout)->current_stage},
              {"reason", (*rollout)->reason}};
    }
  } else if (pattern.starts_with("/api/v1/devices/{id}") && id) {
    auto device = context.store.GetDevice(*id);
    if (device && *device) return ToJson(**device);
  }
  return nullptr;
}

// A CSV cell, quoted. A cell a spreadsheet would read as a formula (starting with = + - @, or
// a tab or carriage return) gets a leading ' so that it stays text: the log holds what
// clients sent, and an export is opened by people.
std::string CsvField(const std::string& text) {
  std::string out = "\"";
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) {
    out += '\'';
  }
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

json EntryJson(const AuditEntry& entry) {
  return {{"id", entry.id},           {"at", entry.at},         {"actor", entry.actor},
          {"user_id", entry.user_id}, {"token", entry.token},   {"address", entry.address},
          {"action", entry.action},   {"target", entry.target}, {"status", entry.status},
          {"detail", entry.detail},   {"hash", entry.hash}};
}

constexpr std::string_view kCsvHeader =
    "id,at,actor,user_id,token,address,action,target,status,detail,hash\r\n";

std::string CsvLine(const AuditEntry& row) {
  return std::to_string(row.id) + "," + CsvField(row.at) + "," + CsvField(row.actor) + "," +
         std::to_string(row.user_id) + "," + CsvField(row.token) + "," + CsvField(row.address) +
         "," + CsvField(row.action) + "," + CsvField(row.target) + "," +
         std::to_string(row.status) + "," + CsvField(row.detail) + "," + CsvField(row.hash) +
         "\r\n";
}

// "attachment; filename=..." naming the export after its time, e.g. audit-20261207T101500Z.csv.
std::string Attachment(const std::string& extension) {
  std::string stamp = FormatTime(std::chrono::system_clock::now());
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
  return "attachment; filename=\"audit-" + stamp + "." + extension + "\"";
}

// The filters and format of GET /api/v1/audit and /api/v1/audit/export; an error message for
// a 400, or "" with `filter` and `format` set.
std::string ParseAuditQuery(const Request& request, bool paged, AuditFilter& filter,
                            std::string& format) {
  for (const auto& [key, value] : request.query) {
    if (key == "actor") {
      filter.actor = value;
    } else if (key == "action") {
      filter.action = value;
    } else if (key == "since") {
      filter.since = value;
    } else if (key == "until") {
      filter.until = value;
    } else if (std::string error;
               paged && ApplyPagingParam(key, value, "an audit row", filter.before_id, filter.limit,
                                         error)) {
      if (!error.empty()) return error;
    } else if (key == "format") {
      if (value != "jsonl" && value != "csv" && (!paged || value != "json")) {
        return paged ? "'format' is json, jsonl or csv" : "'format' is csv or jsonl";
      }
      format = value;
    } else {
      return "unknown query parameter '" + key + "' (actor, action, since, until, " +
             (paged ? "before, limit, format)" : "format)");
    }
  }
  return {};
}

// GET /api/v1/audit/export: every row the filters select, newest first, read from the store a
// page at a time into a temporary file that is sent and removed: a large log is never in
// memory at once.
Response ExportAudit(ApiContext& context, const Request& request) {
  AuditFilter filter;
  std::string format = "csv";
  if (auto error = ParseAuditQuery(request, false, filter, format); !error.empty()) {
    return Response::Error(400, error);
  }
  const auto dir = context.config.data_dir / "tmp";  // emptied at every start
  std::string path = (dir / "uh-export-XXXXXX").string();
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return Response::FromError(Error(Errc::kIo, "creating " + path));
  ::close(fd);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::filesystem::remove(path);
    return Response::FromError(Error(Errc::kIo, "opening " + path));
  }
  if (format == "csv") out << kCsvHeader;
  std::uint64_t size = format == "csv" ? kCsvHeader.size() : 0;
  filter.limit = kPage;
  for (;;) {
    auto rows = context.store.FindAudit(filter);
    if (!rows) {
      std::filesystem::remove(path);
      return Response::FromError(rows.error());
    }
    for (const auto& row : *rows) {
      const std::string line = format == "csv" ? CsvLine(row) : DumpJson(EntryJson(row)) + "\n";
      out << line;
      size += line.size();
    }
    if (rows->size() < kPage) break;
    filter.before_id = rows->back().id;  // newer rows appended meanwhile are not in this export
  }
  out.close();
  if (!out) {
    std::filesystem::remove(path);
    return Response::FromError(Error(Errc::kNoSpace, "writing the audit export " + path));
  }
  Response response;
  response.body =
      http::FileBody{.path = path, .offset = 0, .length = size, .remove_when_open = true};
  response.SetHeader("Content-Type",
                     format == "csv" ? "text/csv; charset=utf-8" : "application/jsonl");
  response.SetHeader("Content-Disposition", Attachment(format));
  return response;
}

Response ListAudit(ApiContext& context, const Request& request) {
  AuditFilter filter;
  std::string format = "json";
  if (auto error = ParseAuditQuery(request, true, filter, format); !error.empty()) {
    return Response::Error(400, error);
  }
  auto rows = context.store.FindAudit(filter);
  if (!rows) return Response::FromError(rows.error());
  if (format == "jsonl") {
    std::string out;
    for (const auto& row : *rows) out += DumpJson(EntryJson(row)) + "\n";
    return Response::Text(200, std::move(out), "application/jsonl");
  }
  if (format == "csv") {
    std::string out(kCsvHeader);
    for (const auto& row : *rows) out += CsvLine(row);
    auto response = Response::Text(200, std::move(out), "text/csv; charset=utf-8");
    response.SetHeader("Content-Disposition", Attachment("csv"));
    return response;
  }
  json items = json::array();
  for (const auto& row : *rows) items.push_back(EntryJson(row));
  json out = {{"audit", items}};
  if (rows->size() == filter.limit) out["next_before"] = rows->back().id;
  return Response::Json(200, out);
}

}  // namespace

Expected<AuditEntry> AuditLog::Record(AuditEntry entry) {
  auto stored = store_.AppendAudit(entry);
  if (!stored) {
    spdlog::error("audit: could not record {} by '{}' from {}: {}", entry.action, entry.actor,
                  entry.address, stored.error().message());
    return stored;
  }
  spdlog::info("audit #{}: {} {} by '{}' ({}) from {}: {}", stored->id, stored->action,
               stored->target, stored->actor, stored->token.empty() ? "no token" : stored->token,
               stored->address, stored->status);
  return stored;
}

Expected<AuditLog::Verdict> AuditLog::Verify() {
  Verdict verdict;
  std::int64_t last_id = 0;
  std::string last_hash;
  for (;;) {
    auto rows = store_.ListAuditAfter(last_id, kPage);
    if (!rows) return std::unexpected(rows.error());
    for (const auto& row : *rows) {
      std::string reason;
      if (row.id != last_id + 1) {
        reason = "row " + std::to_string(last_id + 1) + " is missing";
      } else if (row.prev_hash != last_hash) {
        reason = "its prev_hash is not the hash of the row before";
      } else if (AuditEntryHash(row) != row.hash) {
        reason = "its fields do not match its hash (edited)";
      }
      if (!reason.empty()) {
        verdict.first_bad_id = row.id;
        verdict.reason = reason;
        return verdict;
      }
      ++verdict.rows;
      last_id = row.id;
      last_hash = row.hash;
    }
    if (rows->size() < kPage) return verdict;
  }
}

// POST routes that change nothing (their body is a question): not audited, as reads are not.
constexpr std::array<std::string_view, 1> kReadOnlyPosts = {
    "/api/v1/products/{product}/rollouts/preview"};

void AuditChanges(http::Router& router, ApiContext& context) {
  router.WrapEach([&context](const http::Route& route) -> http::Handler {
    if (route.method == Method::kGet || route.method == Method::kHead ||
        !route.pattern.starts_with("/api/v1/") || route.pattern == "/api/v1/login" ||
        std::ranges::find(kReadOnlyPosts, route.pattern) != kReadOnlyPosts.end()) {
      return route.handler;
    }
    const std::string action = std::string(MethodName(route.method)) + " " + route.pattern;
    const bool secret = HoldsSecrets(route.pattern);
    return [&context, action, secret, pattern = route.pattern,
            inner = route.handler](Request& request) {
      auto caller = context.auth.Identify(request.Header("authorization"));
      if (!caller) return inner(request);  // refused with 401: nobody to record
      json before = Before(context, pattern, request);
      Response response = inner(request);
      AuditEntry entry;
      entry.user_id = caller->user.id;
      entry.actor = caller->user.name;
      entry.token = caller->token_label;
      entry.address = request.remote_address;
      entry.action = action;
      entry.status = response.status;
      json detail = {{"params", request.params}};
      if (!before.is_null()) detail["before"] = std::move(before);
      json answer;
      if (!secret) {
        if (auto body = SmallJson(request.body)) detail["request"] = std::move(*body);
        if (const auto* text = std::get_if<std::string>(&response.body)) {
          if (auto parsed = SmallJson(*text)) answer = std::move(*parsed);
        }
        if (!answer.is_null()) detail["response"] = answer;
      }
      entry.target = TargetOf(request, answer);
      entry.detail = DumpJson(detail);
      (void)context.audit.Record(std::move(entry));
      return response;
    };
  });
}

void AddAuditRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/api/v1/audit",
             Allow(context, Scope::kAuditRead, [&context](Request& request, const Caller&) {
               return ListAudit(context, request);
             }));
  router.Add(Method::kGet, "/api/v1/audit/export",
             Allow(context, Scope::kAuditRead, [&context](Request& request, const Caller&) {
               return ExportAudit(context, request);
             }));
  router.Add(Method::kGet, "/api/v1/audit/verify",
             Allow(context, Scope::kAuditRead, [&context](Request&, const Caller&) {
               auto verdict = context.audit.Verify();
               if (!verdict) return Response::FromError(verdict.error());
               json out = {{"ok", !verdict->first_bad_id}, {"rows", verdict->rows}};
               if (verdict->first_bad_id) {
                 out["first_bad_id"] = *verdict->first_bad_id;
                 out["reason"] = verdict->reason;
               }
               return Response::Json(200, out);
             }));
}

}  // namespace uh::server
