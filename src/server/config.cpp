#include "server/config.hpp"

#include <toml++/toml.h>

#include <charconv>

namespace uh::server {

std::string ServerConfig::DatabaseUrl() const {
  if (!database.empty()) return database;
  return "sqlite:" + (data_dir / "updatehub.db").string();
}

std::string_view ServerConfig::StoreBackend() const {
  const std::string url = DatabaseUrl();
  return url.starts_with("postgres://") || url.starts_with("postgresql://") ? "postgresql"
                                                                            : "sqlite";
}

std::filesystem::path ServerConfig::ObjectsDir() const {
  return objects_dir.empty() ? data_dir / "objects" : objects_dir;
}

Expected<std::pair<std::string, std::uint16_t>> ServerConfig::ListenAddress() const {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Fail(Errc::kInvalidArgument, "listen address '" + listen + "' has no :PORT");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  const std::string port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Fail(Errc::kInvalidArgument, "listen address '" + listen + "' has a bad port");
  }
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

Expected<ServerConfig> LoadServerConfig(const std::filesystem::path& path) {
  ServerConfig config;
  toml::table table;
  try {
    table = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    return Fail(Errc::kInvalidArgument, path.string() + ":" +
                                            std::to_string(e.source().begin.line) + ": " +
                                            std::string(e.description()));
  }
  auto fail = [&](const toml::node& node, const std::string& key, const std::string& message) {
    return Fail(Errc::kInvalidArgument, path.string() + ":" +
                                            std::to_string(node.source().begin.line) + ": '" + key +
                                            "' " + message);
  };
  for (const auto& [raw_key, node] : table) {
    const std::string key(raw_key.str());
    auto text = [&](auto& out) -> Expected<void> {
      if (!node.is_string()) return fail(node, key, "must be a string");
      out = node.as_string()->get();
      return {};
    };
    auto integer = [&](unsigned& out, std::int64_t min, std::int64_t max) -> Expected<void> {
      if (!node.is_integer() || node.as_integer()->get() < min || node.as_integer()->get() > max) {
        return fail(
            node, key,
            "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      }
      out = static_cast<unsigned>(node.as_integer()->get());
      return {};
    };
    if (key == "listen") {
      UH_TRY(text(config.listen));
    } else if (key == "data_dir") {
      std::string dir;
      UH_TRY(text(dir));
      config.data_dir = dir;
    } else if (key == "objects_dir") {
      std::string dir;
      UH_TRY(text(dir));
      config.objects_dir = dir;
    } else if (key == "dashboard_dir") {
      std::string dir;
      UH_TRY(text(dir));
      config.dashboard_dir = dir;
    } else if (key == "database") {
      UH_TRY(text(config.database));
    } else if (key == "database_pool_size") {
      UH_TRY(integer(config.database_pool_size, 1, ServerConfig::kMaxDatabasePoolSize));
    } else if (key == "log_level") {
      UH_TRY(text(config.log_level));
    } else if (key == "log_format") {
      UH_TRY(text(config.log_format));
      if (config.log_format != "text" && config.log_format != "json") {
        return fail(node, key, "must be \"text\" or \"json\"");
      }
    } else if (key == "access_log") {
      if (!node.is_boolean()) return fail(node, key, "must be true or false");
      config.access_log = node.as_boolean()->get();
    } else if (key == "threads") {
      UH_TRY(integer(config.threads, 0, 256));
    } else if (key == "max_connections_per_address") {
      UH_TRY(integer(config.max_connections_per_address, 0, 1000000));
    } else if (key == "requests_per_second_per_address") {
      UH_TRY(integer(config.requests_per_second_per_address, 0, 1000000));
    } else if (key == "request_burst_per_address") {
      UH_TRY(integer(config.request_burst_per_address, 1, 10000000));
    } else if (key == "reports_per_device_per_minute") {
      UH_TRY(integer(config.reports_per_device_per_minute, 0, 1000000));
    } else if (key == "new_devices_per_product_per_minute") {
      UH_TRY(integer(config.new_devices_per_product_per_minute, 0, 100000000));
    } else if (key == "max_package_bytes") {
      if (!node.is_integer() || node.as_integer()->get() <= 0) {
        return fail(node, key, "must be a positive integer");
      }
      config.max_package_bytes = static_cast<std::uint64_t>(node.as_integer()->get());
    } else if (key == "waiting_poll_seconds") {
      UH_TRY(integer(config.waiting_poll_seconds, 0, 86400));
    } else if (key == "device_poll_seconds") {
      UH_TRY(integer(config.device_poll_seconds, 60, 30 * 86400));
    } else if (key == "tls") {
      if (!node.is_table()) return fail(node, key, "must be a table");
      for (const auto& [tls_key, tls_node] : *node.as_table()) {
        const std::string name = "tls." + std::string(tls_key.str());
        if (!tls_node.is_string()) return fail(tls_node, name, "must be a string");
        if (tls_key.str() == "certificate") {
          config.tls_certificate = tls_node.as_string()->get();
        } else if (tls_key.str() == "private_key") {
          config.tls_private_key = tls_node.as_string()->get();
        } else if (tls_key.str() == "ciphers") {
          config.tls_ciphers = tls_node.as_string()->get();
        } else if (tls_key.str() == "ciphersuites") {
          config.tls_ciphersuites = tls_node.as_string()->get();
        } else {
          return fail(tls_node, name,
                      "is not a known key (certificate, private_key, ciphers, ciphersuites)");
        }
      }
    } else {
      return fail(
          node, key,
          "is not a known key (listen, data_dir, objects_dir, dashboard_dir, database, "
          "database_pool_size, log_level, log_format, "
          "access_log, threads, max_package_bytes, waiting_poll_seconds, device_poll_seconds, "
          "max_connections_per_address, requests_per_second_per_address, "
          "request_burst_per_address, reports_per_device_per_minute, "
          "new_devices_per_product_per_minute, tls)");
    }
  }
  return config;
}

}  // namespace uh::server
