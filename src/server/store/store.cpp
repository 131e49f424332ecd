// OpenStore: picks the backend from the URL's scheme.

#include "server/store/store.hpp"

#include <cctype>
#include <string_view>

#include "core/hash.hpp"
#include "core/json.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"

namespace uh::server {
namespace {

// "scheme://..." per RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
bool HasScheme(std::string_view url) {
  const auto end = url.find("://");
  if (end == std::string_view::npos || end == 0) return false;
  if (std::isalpha(static_cast<unsigned char>(url[0])) == 0) return false;
  for (const char c : url.substr(0, end)) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string AuditEntryHash(const AuditEntry& entry) {
  // Sorted keys, no spaces beyond the canonical form: the same fields always give the same text.
  const nlohmann::json fields = {{"id", entry.id},         {"at", entry.at},
                                 {"actor", entry.actor},   {"user_id", entry.user_id},
                                 {"token", entry.token},   {"address", entry.address},
                                 {"action", entry.action}, {"target", entry.target},
                                 {"status", entry.status}, {"detail", entry.detail}};
  return Sha256Hex(entry.prev_hash + "\n" + PythonJsonDumps(fields));
}

Expected<std::unique_ptr<Store>> OpenStore(const std::string& url,
                                           const OpenStoreOptions& options) {
  std::string_view path = url;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    if (options.pool_size == 0) {
      return Fail(Errc::kInvalidArgument, "the database pool size must be at least 1");
    }
    auto store = PostgresStore::Open(url, options.pool_size);
    if (!store) return std::unexpected(std::move(store.error()));
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (url.starts_with("sqlite://")) {
    path.remove_prefix(std::string_view("sqlite://").size());
  } else if (url.starts_with("sqlite:")) {
    path.remove_prefix(std::string_view("sqlite:").size());
  } else if (HasScheme(url)) {
    return Fail(Errc::kInvalidArgument,
                "unsupported store URL \"" + url + "\": use sqlite:PATH or postgresql://...");
  }
  if (path.empty()) return Fail(Errc::kInvalidArgument, "store URL \"" + url + "\" has no path");
  // Each pooled connection would get a database of its own.
  if (path == ":memory:" || path.starts_with("file:")) {
    return Fail(Errc::kInvalidArgument, "store URL \"" + url + "\": the store needs a file path");
  }
  auto store = SqliteStore::Open(std::filesystem::path(path));
  if (!store) return std::unexpected(std::move(store.error()));
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace uh::server
