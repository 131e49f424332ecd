// audit: the audit log with its filters, as a table, JSON, or the server's CSV export.

#include "tools/admin/cli.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

struct AuditFlags {
  std::string actor;
  std::string action;
  std::string since;
  std::string until;
  std::int64_t before = 0;
  std::int64_t limit = 100;
  bool csv = false;
};

std::string AuditQuery(const AuditFlags& flags) {
  std::string query = "?limit=" + std::to_string(flags.limit);
  auto add = [&query](const char* key, const std::string& value) {
    if (!value.empty()) query += std::string("&") + key + "=" + UrlEncode(value);
  };
  add("actor", flags.actor);
  add("action", flags.action);
  add("since", flags.since);
  add("until", flags.until);
  if (flags.before > 0) add("before", std::to_string(flags.before));
  if (flags.csv) add("format", "csv");
  return query;
}

std::string AuditTable(const json& reply) {
  Table table({"ID", "AT", "ACTOR", "ADDRESS", "ACTION", "TARGET", "STATUS"});
  for (const auto& row : ListIn(reply, "audit")) {
    table.AddRow({Field(row, "id"), Field(row, "at"), Field(row, "actor"), Field(row, "address"),
                  Field(row, "action"), Field(row, "target"), Field(row, "status")});
  }
  std::string out = table.Render();
  if (reply.is_object() && reply.contains("next_before") && !reply["next_before"].is_null()) {
    out += "(older: --before " + Field(reply, "next_before") + ")\n";
  }
  return out;
}

Expected<void> Audit(const Cli& cli, const AuditFlags& flags) {
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  if (!flags.csv)
    return Output(cli, client->Call("GET", "/api/v1/audit" + AuditQuery(flags)), AuditTable);
  // The CSV export is printed as the server wrote it (a file for a spreadsheet, not a terminal).
  auto reply = client->Send("GET", "/api/v1/audit" + AuditQuery(flags));
  if (!reply) return std::unexpected(reply.error());
  if (reply->status != 200) return std::unexpected(ReplyJson(*reply).error());
  if (!reply->content_type.starts_with("text/csv")) {
    return Fail(Errc::kUnsupported, "this server does not export the audit log as CSV");
  }
  Print(reply->body);
  return {};
}

}  // namespace

void RegisterAuditCommand(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<AuditFlags>();
  auto* audit = app.add_subcommand("audit", "the audit log, newest first (administrators)");
  audit->add_option("--actor", flags->actor, "only this user");
  audit->add_option("--action", flags->action, "only this action, e.g. \"POST /api/v1/packages\"");
  audit->add_option("--since", flags->since, "from this time (UTC, RFC 3339)");
  audit->add_option("--until", flags->until, "up to this time (UTC, RFC 3339)");
  audit->add_option("--before", flags->before, "rows older than this id (paging)");
  audit->add_option("--limit", flags->limit, "rows at most (default 100)")
      ->check(CLI::Range(1, 1000));
  audit->add_flag("--csv", flags->csv, "the server's CSV export");
  OnRun(audit, cli, [&cli, flags] { return Audit(cli, *flags); });
}

}  // namespace uh::admin
