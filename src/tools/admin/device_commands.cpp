// devices: search (the filters of GET /api/v1/devices, with its total and keyset paging) and
// show one device with its rollout and 10 latest reports.

#include "tools/admin/cli.hpp"
#include "tools/admin/rollout_spec.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

struct DeviceFlags {
  std::string product;
  std::string hardware;
  std::string version;
  std::vector<std::string> identity;
  std::vector<std::string> attributes;
  std::string seen_before;
  std::string seen_after;
  std::string rollout_state;
  std::int64_t limit = 100;
  std::int64_t after = 0;
  bool all = false;
  std::int64_t id = 0;
};

// The query string of the search, without paging.
Expected<std::string> SearchQuery(const DeviceFlags& flags) {
  std::string query;
  auto add = [&query](const std::string& key, const std::string& value) {
    if (!value.empty())
      query += (query.empty() ? "?" : "&") + UrlEncode(key) + "=" + UrlEncode(value);
  };
  add("product", flags.product);
  add("hardware", flags.hardware);
  add("version", flags.version);
  for (const auto& [flag, prefix, items] :
       {std::tuple{"--identity", "identity.", &flags.identity},
        std::tuple{"--attribute", "attributes.", &flags.attributes}}) {
    for (const auto& text : *items) {
      auto pair = ParseKeyValue(text, flag);
      if (!pair) return std::unexpected(pair.error());
      add(prefix + pair->first, pair->second);
    }
  }
  add("seen_before", flags.seen_before);
  add("seen_after", flags.seen_after);
  add("rollout_state", flags.rollout_state);
  return query;
}

std::string DeviceTable(const json& reply) {
  Table table({"ID", "IDENTITY", "HARDWARE", "VERSION", "LAST SEEN", "AUTH", "PRODUCT"});
  for (const auto& device : ListIn(reply, "devices")) {
    table.AddRow({Field(device, "id"), Field(device, "identity"), Field(device, "hardware"),
                  Field(device, "version"), Field(device, "last_seen"), Field(device, "auth_state"),
                  Field(device, "product").substr(0, 12)});
  }
  const std::size_t shown = ListIn(reply, "devices").size();
  std::string out =
      table.Render() + std::to_string(shown) + " of " + Field(reply, "total") + " devices";
  if (reply.is_object() && reply.contains("next_after")) {
    out += " (next page: --after " + Field(reply, "next_after") + ", or --all)";
  }
  return out + "\n";
}

Expected<void> Search(const Cli& cli, const DeviceFlags& flags) {
  auto query = SearchQuery(flags);
  if (!query) return std::unexpected(query.error());
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  const std::string base = "/api/v1/devices" + *query + (query->empty() ? "?" : "&") +
                           "limit=" + std::to_string(flags.all ? 1000 : flags.limit);
  std::int64_t after = flags.after;
  json all = {{"devices", json::array()}, {"total", 0}};
  while (true) {
    auto page = client->Call("GET", base + (after > 0 ? "&after=" + std::to_string(after) : ""));
    if (!page) return std::unexpected(page.error());
    if (!flags.all) return Output(cli, page, DeviceTable);
    for (const auto& device : ListIn(*page, "devices")) all["devices"].push_back(device);
    if (page->is_object() && page->contains("total")) all["total"] = (*page)["total"];
    const bool more = page->is_object() && page->contains("next_after") &&
                      (*page)["next_after"].is_number_integer() &&
                      (*page)["next_after"].get<std::int64_t>() > after &&
                      !ListIn(*page, "devices").empty();
    if (!more) break;
    after = (*page)["next_after"].get<std::int64_t>();
  }
  return Output(cli, all, DeviceTable);
}

std::string DeviceView(const json& device) {
  std::string out = KeyValues({{"id", Field(device, "id")},
                               {"product", Field(device, "product")},
                               {"identity", Field(device, "identity")},
                               {"attributes", Field(device, "attributes")},
                               {"hardware", Field(device, "hardware")},
                               {"version", Field(device, "version")},
                               {"auth", Field(device, "auth_state")},
                               {"last seen", Field(device, "last_seen")},
                               {"created", Field(device, "created_at")}});
  const json rollout =
      device.is_object() && device.contains("rollout") ? device["rollout"] : json();
  if (rollout.is_object()) {
    out += "\nrollout " + Field(rollout, "id") + " (" + Field(rollout, "name") + ", " +
           Field(rollout, "rollout_state") + "): " + Field(rollout, "state");
    if (Field(rollout, "error_message") != "-") out += ": " + Field(rollout, "error_message");
    out += "\n";
  } else {
    out += "\nin no rollout\n";
  }
  Table reports({"REPORT", "AT", "STATUS", "PREVIOUS", "ERROR"});
  for (const auto& report : ListIn(device, "reports")) {
    reports.AddRow({Field(report, "id"), Field(report, "created_at"), Field(report, "status"),
                    Field(report, "previous_state"), Field(report, "error_message")});
  }
  if (!reports.empty()) out += "\n" + reports.Render();
  return out;
}

}  // namespace

void RegisterDeviceCommands(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<DeviceFlags>();
  auto* devices = app.add_subcommand("devices",
                                     "search devices (all filters must hold); "
                                     "`devices show ID` for one");
  devices->alias("device");
  devices->add_option("-p,--product", flags->product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT");
  devices->add_option("--hardware", flags->hardware, "hardware");
  devices->add_option("--version", flags->version, "current version");
  devices->add_option("--identity", flags->identity, "KEY=VALUE of the identity (repeatable)");
  devices->add_option("--attribute", flags->attributes, "KEY=VALUE of the attributes (repeatable)");
  devices->add_option("--seen-before", flags->seen_before, "last seen before (UTC, RFC 3339)");
  devices->add_option("--seen-after", flags->seen_after, "last seen at or after (UTC, RFC 3339)");
  devices->add_option("--rollout-state", flags->rollout_state, "state in its rollout now")
      ->check(CLI::IsMember(
          {"pending", "downloading", "installing", "rebooting", "updated", "failed", "none"}));
  devices->add_option("--limit", flags->limit, "devices per page (default 100)")
      ->check(CLI::Range(1, 1000));
  devices->add_option("--after", flags->after, "the page after this device id");
  devices->add_flag("--all", flags->all, "every page");

  auto* show = devices->add_subcommand("show", "a device with its rollout and 10 latest reports");
  show->add_option("id", flags->id, "device id")->required();
  OnRun(show, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "GET", "/api/v1/devices/" + std::to_string(flags->id)),
                  DeviceView);
  });
  // The search runs when no `show` did (CLI11 runs a subcommand's callback before its parent's).
  devices->callback([&cli, flags, show] {
    if (!show->parsed()) RunCommand(cli, [&cli, flags] { return Search(cli, *flags); });
  });
}

}  // namespace uh::admin
