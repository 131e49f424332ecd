#include "server/dashboard.hpp"

#include <array>
#include <utility>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::server {
namespace {

using http::Method;
using http::Request;
using http::Response;

// Only files of the server itself; no inline script or style, no framing by other sites.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

Response WithSecurityHeaders(Response response) {
  response.SetHeader("Content-Security-Policy", kContentSecurityPolicy);
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("Referrer-Policy", "no-referrer");
  response.SetHeader("X-Frame-Options", "DENY");
  return response;
}

Response Redirect(std::string location) {
  Response response = Response::Text(302, "see " + location + "\n");
  response.SetHeader("Location", std::move(location));
  return WithSecurityHeaders(std::move(response));
}

Response Serve(const Request& request, const DashboardFile& file) {
  Response response;
  if (http::IfNoneMatchNames(request.Header("if-none-match"), file.etag)) {
    response.status = 304;
    response.body = std::string();
  } else {
    response.status = 200;
    response.body = file.body;
    response.SetHeader("Content-Type", file.content_type);
  }
  response.SetHeader("ETag", file.etag);
  response.SetHeader("Cache-Control",
                     file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return WithSecurityHeaders(std::move(response));
}

}  // namespace

std::string_view DashboardContentType(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (name.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

Expected<DashboardAssets> DashboardAssets::Load(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Fail(Errc::kNotFound, "no dashboard directory " + dir.string());
  }
  DashboardAssets assets;
  std::uintmax_t total = 0;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  if (ec) return Fail(Errc::kIo, "reading " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Fail(Errc::kIo, "reading " + dir.string() + ": " + ec.message());
    const auto& entry = *it;
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
    if (assets.files_.size() >= kMaxFiles) {
      return Fail(Errc::kTooLarge,
                  "more than " + std::to_string(kMaxFiles) + " files in " + dir.string());
    }
    const std::uintmax_t left = kMaxBytes - total;
    auto body = ReadFileLimited(entry.path(), static_cast<std::size_t>(left));
    if (!body) return std::unexpected(body.error().WithContext("loading the dashboard"));
    total += body->size();
    const std::string name = entry.path().lexically_relative(dir).generic_string();
    DashboardFile file{.content_type = std::string(DashboardContentType(name)),
                       .body = std::move(*body),
                       .etag = "",
                       .immutable = name.starts_with("assets/")};
    file.etag = "\"" + Sha256Hex(file.body).substr(0, 32) + "\"";
    assets.files_.emplace(name, std::move(file));
  }
  if (assets.Find("index.html") == nullptr) {
    return Fail(Errc::kNotFound, "no index.html in the dashboard directory " + dir.string());
  }
  return assets;
}

const DashboardFile* DashboardAssets::Find(std::string_view path) const {
  const auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

void AddDashboardRoutes(http::Router& router, std::shared_ptr<const DashboardAssets> assets,
                        std::string missing_reason) {
  if (!assets) {
    const std::string text =
        "updatehub-server: the web dashboard is off (" + missing_reason +
        "). Build it with the server (scripts/deps.sh, then cmake --build), or point "
        "--dashboard-dir at a built one. The API under /api/v1 works without it.\n";
    router.Add(Method::kGet, "/",
               [text](Request&) { return WithSecurityHeaders(Response::Text(200, text)); });
    for (const char* pattern : {"/ui", "/ui/", "/ui/{path...}"}) {
      router.Add(Method::kGet, pattern,
                 [text](Request&) { return WithSecurityHeaders(Response::Text(404, text)); });
    }
    return;
  }
  router.Add(Method::kGet, "/", [](Request&) { return Redirect("/ui/"); });
  router.Add(Method::kGet, "/ui", [](Request&) { return Redirect("/ui/"); });
  router.Add(Method::kGet, "/ui/",
             [assets](Request& request) { return Serve(request, assets->Index()); });
  router.Add(Method::kGet, "/ui/{path...}", [assets](Request& request) {
    const std::string path = request.Param("path");
    if (const DashboardFile* file = assets->Find(path)) return Serve(request, *file);
    // A missing asset is an error, not a page: index.html in its place would be taken for
    // a script or a style sheet.
    if (path.starts_with("assets/")) {
      return WithSecurityHeaders(Response::Text(404, "no such dashboard file\n"));
    }
    return Serve(request, assets->Index());
  });
}

}  // namespace uh::server
