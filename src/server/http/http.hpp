#pragma once

// The server's HTTP vocabulary, independent of the library that speaks HTTP: requests as
// handlers see them, responses as handlers build them, and a router from method + path
// pattern to handler. Handlers are thin: parse, call a plain function, map the result.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace uh::server::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
inline constexpr std::size_t kMethodCount = 8;  // for tables indexed by Method
[[nodiscard]] std::string_view MethodName(Method method);

struct Route;

// Where a request body goes as it arrives, on routes that take large bodies apart themselves
// (RouteOptions::body_sink) instead of having them stored whole first.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The body's next bytes. An error ends the request: its answer is Response::FromError of it,
  // and the connection closes.
  [[nodiscard]] virtual Expected<void> Write(std::span<const std::byte> bytes) = 0;
};

struct Request {
  Method method = Method::kGet;
  std::string target;                          // as received: path and query
  std::string path;                            // percent-decoded path, without the query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // names lowercased
  std::map<std::string, std::string> params;   // captured by the route pattern ({name})
  std::string body;                            // routes with an in-memory body
  std::filesystem::path body_file;             // routes that stream their body to a temporary file;
                                               // the file is removed after the handler returns
  std::shared_ptr<BodySink> body_sink;         // routes with a body sink: the whole body went
                                               // through it; dropped after the handler returns
  std::string remote_address;
  std::chrono::steady_clock::time_point received{};  // when its head was read (logs, metrics)
  bool tls = false;                                  // arrived over TLS
  // The client certificate chain sent in the TLS handshake, DER, the client's own first; empty
  // without one. Not verified by the handshake: device authentication checks it per product.
  std::vector<std::string> peer_certificates;
  // The route that matched, once routed; null for requests answered before (malformed, rate
  // limited) and for unknown paths. Metrics name requests by its pattern, never by the path.
  const Route* route = nullptr;

  // The header's value, or "" when absent; `name` in any case.
  [[nodiscard]] std::string Header(std::string_view name) const;
  [[nodiscard]] std::string Param(std::string_view name) const;
};

// A byte range of a file, sent without loading it into memory.
struct FileBody {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // A file written for this answer alone (an export): removed as soon as it is open for
  // sending (or at once when nothing is sent), so that it never outlives the answer.
  bool remove_when_open = false;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::variant<std::string, FileBody> body;

  [[nodiscard]] static Response Json(int status, const nlohmann::json& value);
  [[nodiscard]] static Response Text(int status, std::string text,
                                     std::string content_type = "text/plain; charset=utf-8");
  // {"error": message} with the given status.
  [[nodiscard]] static Response Error(int status, std::string_view message);
  // Maps an Error to a status (kMalformed 400, kNotFound 404, kSignature 422, ...).
  [[nodiscard]] static Response FromError(const uh::Error& error);

  Response& SetHeader(std::string name, std::string value);
  [[nodiscard]] std::optional<std::string> FindHeader(std::string_view name) const;
};

using Handler = std::function<Response(Request&)>;

struct RouteOptions {
  // Largest body accepted in memory (Request::body); larger bodies get 413.
  std::size_t max_body_bytes = 64 * 1024;
  // When set, the body is streamed to a temporary file (Request::body_file) instead, up to
  // `max_file_body_bytes`.
  bool body_to_file = false;
  std::uint64_t max_file_body_bytes = 0;
  // Runs on the request's head (method, path, params, headers) before any of its body is read;
  // an answer it returns is sent instead, and the body is never read or stored. This is where
  // authentication goes on routes with large bodies, so that a refused upload costs no disk.
  std::function<std::optional<Response>(const Request&)> admit{};
  // When set (instead of body_to_file), called once `admit` let the request in: the body, up to
  // `max_file_body_bytes`, is handed as it arrives to the sink it returns (Request::body_sink).
  // An error it returns is the answer, and the body is not read.
  std::function<Expected<std::shared_ptr<BodySink>>(const Request&)> body_sink{};
};

struct Route {
  Method method;
  std::string pattern;  // e.g. "/products/{product}/packages/{package}/objects/{object}"
  Handler handler;
  RouteOptions options;
  std::size_t id = 0;  // its position in its router, for tables kept per route (metrics)
};

class Router {
 public:
  void Add(Method method, std::string pattern, Handler handler, RouteOptions options = {});
  // Replaces each route's handler with what `wrap` returns for it (it gets the route with its
  // current handler), e.g. to record every change in the audit log.
  void WrapEach(const std::function<Handler(const Route&)>& wrap);

  struct Match {
    const Route* route = nullptr;  // null when nothing matches
    std::map<std::string, std::string> params;
    int status = 404;  // 404 no such path, 405 path exists for other methods
  };
  // Segments match literally or capture one whole non-empty segment ({name}); a trailing
  // "{name...}" captures the rest of the path. HEAD falls back to a GET route.
  [[nodiscard]] Match Find(Method method, std::string_view path) const;
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  // A pattern's segment, parsed once when the route is added (not at every request).
  struct Segment {
    enum class Kind { kLiteral, kCapture, kRest } kind;  // most to least specific
    std::string text;                                    // the literal, or the capture's name
  };
  static std::optional<std::vector<Segment>> ParsePattern(std::string_view pattern);
  static std::optional<std::vector<Segment::Kind>> MatchPattern(
      const std::vector<Segment>& pattern, const std::vector<std::string_view>& segments,
      std::map<std::string, std::string>& params);

  std::vector<Route> routes_;
  std::vector<std::vector<Segment>> segments_;  // of each route, in the same order
};

// What the server's TLS context is built from (MakeTlsContext in tls_context.hpp). Only TLS 1.2
// and 1.3; only forward-secret AEAD suites: a cipher list that enables anything else is refused.
struct TlsOptions {
  std::filesystem::path certificate;  // PEM chain
  std::filesystem::path private_key;  // PEM
  std::string ciphers{};       // TLS 1.2, OpenSSL cipher-list syntax; empty: kDefaultTlsCiphers
  std::string ciphersuites{};  // TLS 1.3, OpenSSL ciphersuites syntax; empty: OpenSSL's default
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;                // 0: any free port (see HttpServer::port)
  unsigned threads = 0;                     // 0: one per core
  std::chrono::seconds header_timeout{10};  // to receive a request's headers
  std::chrono::seconds body_timeout{300};   // to receive a body (uploads are large)
  std::chrono::seconds idle_timeout{60};    // keep-alive connection with no request
  std::chrono::seconds write_timeout{300};  // to send a response
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 10000;
  // Per client address, so that one host cannot take what all share (a fleet behind one NAT is
  // one address: raise these for it). Over the connection cap a connection gets a 429 and is
  // closed unread; over the request rate a request gets 429 with Retry-After. 0: no limit.
  std::size_t max_connections_per_address = 256;
  double requests_per_second_per_address = 200;
  double request_burst_per_address = 400;
  std::size_t max_tracked_addresses = 65536;  // rate-limit state kept for this many addresses
  std::filesystem::path temp_dir;             // where streamed bodies go; must exist
  std::optional<TlsOptions> tls;
  // Called after each response with method, target, status and bytes sent (metrics, logs),
  // once its last byte was handed to the socket, or sending it failed.
  std::function<void(const Request&, int status, std::uint64_t bytes)> on_response;
  // Called for each connection or request refused by the per-address limits (metrics).
  enum class Refusal { kConnection, kRequest };
  std::function<void(Refusal)> on_refused;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds, listens and starts the worker threads; returns once the server accepts connections.
  [[nodiscard]] static Expected<std::unique_ptr<HttpServer>> Start(
      ServerOptions options, std::shared_ptr<const Router> router);

  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // Reads the certificate and key again (same files, same cipher settings) for connections
  // accepted from now on; open connections keep theirs. On error the current ones stay. A
  // plain-HTTP server has nothing to reload and succeeds.
  [[nodiscard]] virtual Expected<void> ReloadTls() = 0;
  // Stops accepting, lets in-flight requests finish (up to `grace`), closes idle connections
  // and joins the threads. Safe to call twice.
  virtual void Stop(std::chrono::seconds grace = std::chrono::seconds(10)) = 0;
};

// A file (or its requested byte range) as the response: honours Range "bytes=A-B", "bytes=A-"
// and "bytes=-N" with 206 and Content-Range, answers 416 (with "Content-Range: bytes */SIZE")
// when unsatisfiable, ignores multi-range requests (200, whole file), sets Accept-Ranges,
// Content-Type and, for HEAD, no body. 404 when the file does not exist.
[[nodiscard]] Response FileResponse(const Request& request, const std::filesystem::path& path,
                                    std::string content_type = "application/octet-stream");

// Whether an If-None-Match value (a list of entity tags, or "*") names `etag`. The comparison
// is the weak one RFC 9110 prescribes for If-None-Match: "W/" prefixes are ignored.
[[nodiscard]] bool IfNoneMatchNames(std::string_view if_none_match, std::string_view etag);

// Conditional GET, applied by the server to every answer after its handler: a 200 with a JSON
// body to a GET or HEAD gets an ETag (a hash of the body) and "Cache-Control: private,
// no-cache", and becomes 304 Not Modified, without a body, when the request's If-None-Match
// names that ETag. Other answers (other methods, other statuses, files) are left alone.
void Revalidate(const Request& request, Response& response);

// Percent-decodes a URL component; fails on malformed escapes and on decoded NUL bytes.
[[nodiscard]] Expected<std::string> PercentDecode(std::string_view text);

}  // namespace uh::server::http
