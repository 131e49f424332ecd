#include "server/openapi.hpp"

namespace uh::server {

extern const char* const kOpenApiYaml;  // generated from openapi.yaml at build time

void AddOpenApiRoute(http::Router& router) {
  router.Add(http::Method::kGet, "/api/v1/openapi.yaml", [](http::Request&) {
    return http::Response::Text(200, kOpenApiYaml, "application/yaml");
  });
}

}  // namespace uh::server
