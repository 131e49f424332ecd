// Routing: method + decoded path to a route. A route's pattern is split into segments that are
// literal, a capture of one segment ({name}) or, last, a capture of the rest ({name...}).
// When several patterns match, the most literal one wins (compared segment by segment), so
// "/products/new" beats "/products/{id}" whatever the order they were added in.

#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "server/http/http.hpp"

namespace uh::server::http {
namespace {

std::vector<std::string_view> SplitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);  // the leading '/'
  for (;;) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

std::optional<std::vector<Router::Segment>> Router::ParsePattern(std::string_view pattern) {
  using Kind = Segment::Kind;
  if (!pattern.starts_with('/')) return std::nullopt;
  std::vector<Segment> out;
  const auto parts = SplitSegments(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (!part.starts_with('{')) {
      if (part.find_first_of("{}") != std::string_view::npos) return std::nullopt;
      out.push_back({Kind::kLiteral, std::string(part)});
      continue;
    }
    if (!part.ends_with('}')) return std::nullopt;
    part = part.substr(1, part.size() - 2);
    Kind kind = Kind::kCapture;
    if (part.ends_with("...")) {
      if (i + 1 != parts.size()) return std::nullopt;  // {name...} only at the end
      kind = Kind::kRest;
      part.remove_suffix(3);
    }
    if (part.empty() || part.find_first_of("{}") != std::string_view::npos) return std::nullopt;
    out.push_back({kind, std::string(part)});
  }
  return out;
}

namespace {

// Captures never take "." or "..": a handler joining a capture to a directory must not be
// walked out of it (the server already refuses such paths; this keeps the router safe alone).
bool Capturable(std::string_view segment) {
  return !segment.empty() && segment != "." && segment != "..";
}

}  // namespace

// On a match, fills `params` and returns the kinds of the segments used, for ranking.
std::optional<std::vector<Router::Segment::Kind>> Router::MatchPattern(
    const std::vector<Segment>& pattern, const std::vector<std::string_view>& segments,
    std::map<std::string, std::string>& params) {
  using Kind = Segment::Kind;
  std::vector<Kind> rank;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const Segment& want = pattern[i];
    rank.push_back(want.kind);
    if (want.kind == Kind::kRest) {
      if (i >= segments.size()) return std::nullopt;
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        if (!Capturable(segments[j])) return std::nullopt;
        if (j > i) rest.push_back('/');
        rest.append(segments[j]);
      }
      params[want.text] = std::move(rest);
      return rank;
    }
    if (i >= segments.size()) return std::nullopt;
    if (want.kind == Kind::kLiteral) {
      if (segments[i] != want.text) return std::nullopt;
    } else {
      if (!Capturable(segments[i])) return std::nullopt;
      params[want.text] = std::string(segments[i]);
    }
  }
  if (pattern.size() != segments.size()) return std::nullopt;
  return rank;
}

void Router::WrapEach(const std::function<Handler(const Route&)>& wrap) {
  for (Route& route : routes_) route.handler = wrap(route);
}

void Router::Add(Method method, std::string pattern, Handler handler, RouteOptions options) {
  // Patterns are written by programmers at start-up: a bad one is a bug to stop on at once.
  auto segments = ParsePattern(pattern);
  if (!segments) throw std::invalid_argument("invalid route pattern: " + pattern);
  segments_.push_back(std::move(*segments));
  routes_.push_back(
      Route{method, std::move(pattern), std::move(handler), std::move(options), routes_.size()});
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match best;
  if (!path.starts_with('/')) return best;
  const auto segments = SplitSegments(path);
  std::vector<Segment::Kind> best_rank;
  bool path_exists = false;
  const auto search = [&](Method wanted) {
    for (std::size_t i = 0; i < routes_.size(); ++i) {
      const Route& route = routes_[i];
      std::map<std::string, std::string> params;
      const auto rank = MatchPattern(segments_[i], segments, params);
      if (!rank) continue;
      path_exists = true;
      if (route.method != wanted) continue;
      if (best.route == nullptr || *rank < best_rank) {
        best.route = &route;
        best.params = std::move(params);
        best_rank = *rank;
      }
    }
  };
  search(method);
  if (best.route == nullptr && method == Method::kHead) search(Method::kGet);
  if (best.route != nullptr) {
    best.status = 200;
  } else {
    best.status = path_exists ? 405 : 404;
  }
  return best;
}

}  // namespace uh::server::http
