#pragma once

// The web dashboard (the bundle built from web/): its files are read into memory once, at
// start, and served under /ui/ with strict security headers. No request touches the file
// system, so no path can reach outside the bundle. Any /ui/ path that is no file gets
// index.html, for the dashboard's client-side routes; `/` redirects to /ui/.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "server/http/http.hpp"

namespace uh::server {

struct DashboardFile {
  std::string content_type;
  std::string body;
  std::string etag;        // a quoted strong validator: the sha256 of the body, shortened
  bool immutable = false;  // under assets/: the name holds a hash of the content
};

class DashboardAssets {
 public:
  // Every regular file under `dir` (symbolic links are not followed). kNotFound when `dir` does
  // not exist or holds no index.html; kTooLarge past kMaxFiles or kMaxBytes.
  [[nodiscard]] static Expected<DashboardAssets> Load(const std::filesystem::path& dir);

  // `path` relative to the bundle's root, '/' separated ("assets/index-1a2b.js"); null when
  // there is no such file.
  [[nodiscard]] const DashboardFile* Find(std::string_view path) const;
  [[nodiscard]] const DashboardFile& Index() const { return *Find("index.html"); }
  [[nodiscard]] std::size_t size() const { return files_.size(); }

  static constexpr std::size_t kMaxFiles = 1000;
  static constexpr std::uintmax_t kMaxBytes = 64u << 20;

 private:
  std::map<std::string, DashboardFile, std::less<>> files_;
};

// The Content-Type for a file name, by its extension (application/octet-stream when unknown).
[[nodiscard]] std::string_view DashboardContentType(std::string_view name);

// GET / and /ui/...: the dashboard when `assets` holds one; otherwise / says the dashboard is
// off (and where it was looked for) and /ui/... answers 404. The API is unaffected either way.
void AddDashboardRoutes(http::Router& router, std::shared_ptr<const DashboardAssets> assets,
                        std::string missing_reason);

}  // namespace uh::server
