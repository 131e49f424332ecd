#include "server/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>

#include "core/time.hpp"
#include "server/device_quota.hpp"

namespace uh::server {
namespace {

constexpr std::array<std::string_view, kProbeOutcomeCount> kProbeOutcomeNames = {
    "offered", "nothing", "waiting", "refused", "error"};

std::string FormatSampleValue(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

// The text format's "# HELP" and "# TYPE" lines of one metric family.
void WriteFamilyHeader(std::ostream& out, std::string_view name, std::string_view type,
                       std::string_view help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// `labels` is already escaped, "" or `a="b",c="d"`.
void WriteHistogramSeries(std::ostream& out, std::string_view name, const std::string& labels,
                          const LatencyHistogram& histogram) {
  const auto counts = histogram.Read();
  const std::string prefix = labels.empty() ? std::string() : labels + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += counts[i];
    out << name << "_bucket{" << prefix << "le=\"" << kLatencyBucketLabels[i] << "\"} "
        << cumulative << '\n';
  }
  cumulative += counts.back();
  out << name << "_bucket{" << prefix << "le=\"+Inf\"} " << cumulative << '\n';
  const std::string braces = labels.empty() ? std::string() : "{" + labels + "}";
  out << name << "_sum" << braces << ' ' << FormatSampleValue(histogram.SumSeconds()) << '\n';
  out << name << "_count" << braces << ' ' << cumulative << '\n';
}

void WriteHttpMetrics(std::ostream& out, const HttpMetrics& http) {
  const auto& routes = http.routes();
  auto each_series = [&](auto&& visit) {
    for (std::size_t route = 0; route < routes.size(); ++route) {
      for (std::size_t m = 0; m < http::kMethodCount; ++m) {
        const auto method = static_cast<http::Method>(m);
        const RequestSeries& series = http.Series(route, method);
        if (series.Statuses().empty()) continue;  // never asked: no series
        visit("route=\"" + EscapeLabelValue(routes[route]) + "\",method=\"" +
                  std::string(http::MethodName(method)) + "\"",
              series);
      }
    }
  };
  WriteFamilyHeader(out, "updatehub_http_requests_total", "counter",
                    "HTTP requests answered, by route pattern, method and status.");
  each_series([&](const std::string& labels, const RequestSeries& series) {
    for (const auto& [status, count] : series.Statuses()) {
      out << "updatehub_http_requests_total{" << labels << ",status=\""
          << (status == 0 ? std::string("other") : std::to_string(status)) << "\"} " << count
          << '\n';
    }
  });
  WriteFamilyHeader(out, "updatehub_http_request_duration_seconds", "histogram",
                    "From a request's head read to its answer's last byte written.");
  each_series([&](const std::string& labels, const RequestSeries& series) {
    WriteHistogramSeries(out, "updatehub_http_request_duration_seconds", labels, series.latency());
  });
}

void WriteStoreMetrics(std::ostream& out) {
  const std::pair<std::string_view, const StoreMetrics*> backends[] = {
      {"sqlite", &SqliteStoreMetrics()}, {"postgresql", &PostgresStoreMetrics()}};
  WriteFamilyHeader(out, "updatehub_store_transaction_duration_seconds", "histogram",
                    "Store transactions as their callers wait for them, retries included.");
  for (const auto& [backend, metrics] : backends) {
    const std::string labels = "backend=\"" + std::string(backend) + "\",kind=";
    WriteHistogramSeries(out, "updatehub_store_transaction_duration_seconds", labels + "\"read\"",
                         metrics->read);
    WriteHistogramSeries(out, "updatehub_store_transaction_duration_seconds", labels + "\"write\"",
                         metrics->write);
  }
  WriteFamilyHeader(out, "updatehub_store_retries_total", "counter",
                    "Transactions run again: serialization conflicts, connections lost.");
  for (const auto& [backend, metrics] : backends) {
    out << "updatehub_store_retries_total{backend=\"" << backend << "\"} "
        << metrics->retries.load(std::memory_order_relaxed) << '\n';
  }
}

void WriteFleetGauges(std::ostream& out, const std::vector<ProductGauges>& fleet) {
  WriteFamilyHeader(out, "updatehub_rollouts", "gauge", "Rollouts by product and state.");
  for (const auto& product : fleet) {
    const std::string uid = EscapeLabelValue(product.product_uid);
    for (std::size_t i = 0; i < kRolloutStates.size(); ++i) {
      out << "updatehub_rollouts{product=\"" << uid << "\",state=\""
          << RolloutStateName(kRolloutStates[i]) << "\"} " << product.rollouts[i] << '\n';
    }
  }
  WriteFamilyHeader(out, "updatehub_devices", "gauge", "Devices by product.");
  for (const auto& product : fleet) {
    out << "updatehub_devices{product=\"" << EscapeLabelValue(product.product_uid) << "\"} "
        << product.devices << '\n';
  }
  WriteFamilyHeader(out, "updatehub_devices_overdue", "gauge",
                    "Devices not seen for three poll intervals, by product.");
  for (const auto& product : fleet) {
    out << "updatehub_devices_overdue{product=\"" << EscapeLabelValue(product.product_uid) << "\"} "
        << product.overdue << '\n';
  }
  WriteFamilyHeader(out, "updatehub_devices_by_rollout_state", "gauge",
                    "Devices by product and state in the rollout holding them (none: no rollout).");
  for (const auto& product : fleet) {
    for (const auto& [state, count] : product.devices_by_rollout_state) {
      out << "updatehub_devices_by_rollout_state{product=\""
          << EscapeLabelValue(product.product_uid) << "\",state=\"" << EscapeLabelValue(state)
          << "\"} " << count << '\n';
    }
  }
}

// /proc/self/stat's fields after the command name, from field 3 (state) on.
std::vector<std::string> ProcSelfStatFields() {
  std::ifstream file("/proc/self/stat");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream rest(text.substr(paren + 1));
  return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

std::optional<double> BootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string key;
  double value = 0;
  while (file >> key) {
    if (key == "btime" && file >> value) return value;
    file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

// The process family of metric names client libraries export, from /proc (Linux); a value
// that cannot be read is left out.
void WriteProcessMetrics(std::ostream& out) {
  const auto fields = ProcSelfStatFields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto field = [&](std::size_t number) -> std::optional<double> {  // as proc(5) numbers them
    if (number < 3 || number - 3 >= fields.size() || ticks <= 0) return std::nullopt;
    double value = 0;
    const std::string& text = fields[number - 3];
    if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc()) {
      return std::nullopt;
    }
    return value;
  };
  auto gauge = [&](std::string_view name, std::string_view type, std::string_view help,
                   std::optional<double> value) {
    if (!value) return;
    WriteFamilyHeader(out, name, type, help);
    out << name << ' ' << FormatSampleValue(*value) << '\n';
  };
  const auto utime = field(14);
  const auto stime = field(15);
  gauge("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.",
        utime && stime ? std::optional((*utime + *stime) / ticks) : std::nullopt);
  const auto rss_pages = field(24);
  gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        rss_pages ? std::optional(*rss_pages * static_cast<double>(::sysconf(_SC_PAGESIZE)))
                  : std::nullopt);
  const auto started = field(22);
  const auto boot = BootTimeSeconds();
  gauge("process_start_time_seconds", "gauge", "Start time of the process, in Unix seconds.",
        started && boot ? std::optional(*boot + *started / ticks) : std::nullopt);
  std::error_code ec;
  double open = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++open;
  }
  gauge("process_open_fds", "gauge", "Open file descriptors.",
        ec ? std::nullopt : std::optional(open));
  rlimit limit{};
  gauge("process_max_fds", "gauge", "The limit of open file descriptors.",
        ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
            ? std::optional(static_cast<double>(limit.rlim_cur))
            : std::nullopt);
}

}  // namespace

std::string_view ProbeOutcomeName(ProbeOutcome outcome) {
  return kProbeOutcomeNames[static_cast<std::size_t>(outcome)];
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void RequestSeries::Record(int status, std::chrono::steady_clock::duration elapsed) noexcept {
  latency_.Observe(elapsed);
  for (Slot& slot : slots_) {
    int seen = slot.status.load(std::memory_order_acquire);
    if (seen == 0 && slot.status.compare_exchange_strong(seen, status)) seen = status;
    if (seen == status) {
      slot.count.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  other_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<RequestSeries::StatusCount> RequestSeries::Statuses() const {
  std::vector<StatusCount> out;
  for (const Slot& slot : slots_) {
    const int status = slot.status.load(std::memory_order_acquire);
    if (status == 0) break;  // slots are claimed in order
    out.push_back({status, slot.count.load(std::memory_order_relaxed)});
  }
  std::ranges::sort(out, {}, &StatusCount::status);
  if (const auto other = other_.load(std::memory_order_relaxed); other > 0) {
    out.push_back({0, other});
  }
  return out;
}

void HttpMetrics::RegisterRoutes(const http::Router& router) {
  routes_.clear();
  for (const http::Route& route : router.routes()) routes_.push_back(route.pattern);
  routes_.emplace_back(kUnmatched);
  series_ = std::make_unique<RequestSeries[]>(routes_.size() * http::kMethodCount);
}

void HttpMetrics::Record(const http::Request& request, int status,
                         std::chrono::steady_clock::duration elapsed) noexcept {
  std::size_t route = routes_.size() - 1;  // unmatched
  if (request.route != nullptr && request.route->id + 1 < routes_.size()) {
    route = request.route->id;
  }
  series_[route * http::kMethodCount + static_cast<std::size_t>(request.method)].Record(status,
                                                                                        elapsed);
}

const RequestSeries& HttpMetrics::Series(std::size_t route, http::Method method) const {
  return series_[route * http::kMethodCount + static_cast<std::size_t>(method)];
}

void Metrics::CountProbe(ProbeOutcome outcome) noexcept {
  probes[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountReport(std::string_view status) noexcept {
  const auto known = std::ranges::find(kReportStatuses, status);
  reports[static_cast<std::size_t>(known - kReportStatuses.begin())].fetch_add(
      1, std::memory_order_relaxed);
}

Expected<std::vector<ProductGauges>> ReadFleetGauges(Store& store,
                                                     std::chrono::seconds overdue_after) {
  auto products = store.ListProducts();
  if (!products) return std::unexpected(std::move(products.error()));
  auto rollouts = store.ListRollouts("", true);
  if (!rollouts) return std::unexpected(std::move(rollouts.error()));
  const auto now = std::chrono::system_clock::now();
  const OverviewTimes times{.hour_ago = FormatTime(now - std::chrono::hours(1)),
                            .day_ago = FormatTime(now - std::chrono::hours(24)),
                            .overdue_before = FormatTime(now - overdue_after)};
  std::vector<ProductGauges> out;
  for (const Product& product : *products) {
    ProductGauges gauges{.product_uid = product.uid};
    for (const Rollout& rollout : *rollouts) {
      if (rollout.product_uid != product.uid) continue;
      const auto state = std::ranges::find(kRolloutStates, rollout.state);
      if (state != kRolloutStates.end()) ++gauges.rollouts[state - kRolloutStates.begin()];
    }
    auto devices = store.GetDeviceOverview(product.uid, times);
    if (!devices) return std::unexpected(std::move(devices.error()));
    gauges.devices = devices->total;
    gauges.overdue = devices->overdue;
    gauges.devices_by_rollout_state = std::move(devices->by_rollout_state);
    out.push_back(std::move(gauges));
  }
  return out;
}

std::string MetricsText(const Metrics& metrics, const DeviceQuota& quota,
                        const std::vector<ProductGauges>& fleet) {
  std::ostringstream out;
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    WriteFamilyHeader(out, name, "counter", help);
    out << name << ' ' << value << '\n';
  };
  WriteFamilyHeader(out, "updatehub_build_info", "gauge",
                    "Always 1: the server's release and the store backend it uses, as labels.");
  out << "updatehub_build_info{version=\"" << EscapeLabelValue(metrics.build.version)
      << "\",store=\"" << EscapeLabelValue(metrics.build.store) << "\"} 1\n";
  WriteFamilyHeader(out, "updatehub_timed_work_leader", "gauge",
                    "1 while this server does the rollouts' timed work (scheduled starts, soak "
                    "times) for every server sharing the database; 0 while another does.");
  out << "updatehub_timed_work_leader " << metrics.timed_work_leader.load() << '\n';
  WriteHttpMetrics(out, metrics.http);
  std::uint64_t errors_5xx = 0;
  for (std::size_t route = 0; route < metrics.http.routes().size(); ++route) {
    for (std::size_t m = 0; m < http::kMethodCount; ++m) {
      for (const auto& [status, count] :
           metrics.http.Series(route, static_cast<http::Method>(m)).Statuses()) {
        if (status >= 500) errors_5xx += count;
      }
    }
  }
  // Kept for the dashboards written before the labels: the status label says the same.
  counter("updatehub_http_errors_5xx_total", "HTTP requests answered with 5xx.", errors_5xx);

  WriteFamilyHeader(out, "updatehub_probes_total", "counter", "Device probes, by outcome.");
  for (std::size_t i = 0; i < kProbeOutcomeCount; ++i) {
    out << "updatehub_probes_total{outcome=\"" << kProbeOutcomeNames[i] << "\"} "
        << metrics.probes[i].load(std::memory_order_relaxed) << '\n';
  }
  // Kept as it was before the outcome label: updatehub_probes_total{outcome="offered"}.
  counter("updatehub_probes_offered_total", "Probes answered with a package.",
          metrics.probes[static_cast<std::size_t>(ProbeOutcome::kOffered)]);
  WriteFamilyHeader(out, "updatehub_reports_total", "counter",
                    "Device reports recorded, by status.");
  for (std::size_t i = 0; i < metrics.reports.size(); ++i) {
    out << "updatehub_reports_total{status=\""
        << (i < kReportStatuses.size() ? kReportStatuses[i] : "other") << "\"} "
        << metrics.reports[i].load(std::memory_order_relaxed) << '\n';
  }
  counter("updatehub_download_bytes_total", "Object bytes sent to devices.",
          metrics.download_bytes);
  counter("updatehub_packages_uploaded_total", "Packages accepted.", metrics.packages_uploaded);
  counter("updatehub_http_refused_connections_total",
          "Connections refused: too many in all or from one address.", metrics.refused_connections);
  counter("updatehub_http_refused_requests_total",
          "Requests refused (429): over their address's request rate.", metrics.refused_requests);
  WriteFamilyHeader(out, "updatehub_quota_refused_total", "counter",
                    "Device requests refused (429) by their quota.");
  out << "updatehub_quota_refused_total{kind=\"reports\"} " << quota.refused_reports() << '\n'
      << "updatehub_quota_refused_total{kind=\"devices\"} " << quota.refused_devices() << '\n';
  WriteStoreMetrics(out);
  WriteFleetGauges(out, fleet);
  WriteProcessMetrics(out);
  return out.str();
}

}  // namespace uh::server
