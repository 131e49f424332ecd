#include "sim/fleet.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <cstdio>

#include "protocol/bodies.hpp"
#include "protocol/names.hpp"
#include "protocol/replies.hpp"
#include "sim/beast_client.hpp"
#include "sim/object_transfer.hpp"
#include "sim/random.hpp"

namespace uh::sim {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

Expected<std::unique_ptr<HttpClient>> MakeBeastClient(asio::io_context& io,
                                                      const FleetOptions& options,
                                                      const std::string& server) {
  auto address = ParseServerUrl(server);
  if (!address) return std::unexpected(address.error());
  BeastClientOptions client;
  client.address = *address;
  client.connections = options.connections;
  client.timeout = options.request_timeout;
  client.user_agent = protocol::UserAgent(UH_SIM_AGENT_VERSION);
  client.product_token = options.product_token;
  auto made = BeastHttpClient::Create(io, std::move(client));
  if (!made) return std::unexpected(made.error());
  return std::unique_ptr<HttpClient>(std::move(*made));
}

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

Expected<std::unique_ptr<Fleet>> Fleet::Create(FleetOptions options, ClientFactory factory) {
  UH_TRY(ValidateOptions(options));
  std::unique_ptr<Fleet> fleet(new Fleet(std::move(options)));
  auto start = fleet->versions_.Intern(fleet->options_.version);
  if (!start) return std::unexpected(start.error());
  fleet->start_version_ = *start;
  if (fleet->options_.until_version) {
    auto goal = fleet->versions_.Intern(*fleet->options_.until_version);
    if (!goal) return std::unexpected(goal.error());
    fleet->goal_version_ = *goal;
    fleet->summary_.goal_version = fleet->options_.until_version;
  }
  for (const auto& server : fleet->options_.servers) {
    auto client = (factory ? factory : MakeBeastClient)(fleet->io_, fleet->options_, server);
    if (!client) return std::unexpected(client.error());
    fleet->clients_.push_back(std::move(*client));
  }
  return fleet;
}

Fleet::Fleet(FleetOptions options)
    : options_(std::move(options)),
      duration_timer_(io_),
      timeout_timer_(io_),
      progress_timer_(io_) {
  offers_ = std::make_unique<OfferBook>(
      DeviceProfile{options_.product_uid, options_.hardware, options_.public_key}, versions_);
  model_ =
      std::make_unique<DeviceModel>(ModelSettings{.poll_interval = options_.poll_interval,
                                                  .jitter = options_.jitter,
                                                  .retry_base = options_.retry_base,
                                                  .interrupt_rate = options_.interrupt_rate,
                                                  .transfer_attempts = options_.transfer_attempts},
                                    *offers_);
  scheduler_ =
      std::make_unique<Scheduler>(io_, [this](std::uint32_t index) { Handle(index, Woke{}); });
}

Fleet::~Fleet() {
  // Handlers still queued (a Stop after the run) refer to the clients: drop them first.
  clients_.clear();
}

std::string Fleet::Serial(std::uint32_t index) const {
  return options_.serial_prefix + "-" + std::to_string(index);
}

Summary Fleet::Run() {
  if (std::exchange(ran_, true)) return summary_;
  const auto plan = PlanFailures(options_.seed, options_.devices, options_.failure_rate);
  devices_.resize(options_.devices);
  for (std::uint32_t i = 0; i < options_.devices; ++i) {
    DeviceState& device = devices_[i];
    device.index = i;
    device.random = DeviceSeed(options_.seed, i);
    device.version = start_version_;
    device.planned = plan[i];
    device.server = static_cast<std::uint16_t>(i % clients_.size());
    Count(StandingOf(device), +1);
  }
  started_ = Clock::now();
  last_progress_ = started_;
  if (options_.duration) {
    duration_timer_.expires_after(*options_.duration);
    duration_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Finish(EndReason::kDuration);
    });
  }
  if (options_.timeout) {
    timeout_timer_.expires_after(*options_.timeout);
    timeout_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Finish(EndReason::kTimeout);
    });
  }
  if (options_.handle_signals) {
    signals_.emplace(io_, SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Finish(EndReason::kStopped);
    });
  }
  ArmProgress();
  for (std::uint32_t i = 0; i < options_.devices && !finished_; ++i) Handle(i, Started{});
  io_.run();
  if (!finished_)
    Finish(EndReason::kStopped);  // ran out of work (cannot happen while devices wait)
  summary_.elapsed_seconds = Seconds(ended_ - started_);
  summary_.probes = probes_;
  summary_.reports = reports_;
  summary_.object_bytes = object_bytes_;
  summary_.http_errors = http_errors_;
  summary_.failovers = failovers_;
  CountDevices(devices_, start_version_, goal_version_, summary_);
  return summary_;
}

void Fleet::Stop() {
  asio::post(io_, [this] { Finish(EndReason::kStopped); });
}

void Fleet::Finish(EndReason reason) {
  if (finished_ || !ran_) return;
  finished_ = true;
  ended_ = Clock::now();
  summary_.end = reason;
  scheduler_->Clear();
  duration_timer_.cancel();
  timeout_timer_.cancel();
  progress_timer_.cancel();
  if (signals_) signals_->cancel();
  // Requests in flight end with kCancelled and are ignored; then io_.run() returns.
  for (auto& client : clients_) client->Shutdown();
  if (options_.progress.count() > 0) PrintProgress();
}

Fleet::Standing Fleet::StandingOf(const DeviceState& device) const {
  Standing standing;
  standing.phase = PhaseOf(device.step);
  standing.outcome = OutcomeOf(device, start_version_);
  standing.probed = device.probed;
  standing.at_goal = goal_version_ && AtGoal(device, *goal_version_);
  return standing;
}

void Fleet::Count(const Standing& standing, int sign) {
  // Single writer (the fleet's thread); relaxed atomics let Snapshot read from elsewhere.
  const auto add = [sign](std::atomic<std::uint32_t>& counter, bool yes) {
    if (yes) counter.fetch_add(static_cast<std::uint32_t>(sign), std::memory_order_relaxed);
  };
  add(phases_[static_cast<std::size_t>(standing.phase)], true);
  add(probed_, standing.probed);
  add(updated_, standing.outcome == Outcome::kUpdated);
  add(updating_, standing.outcome == Outcome::kUpdating);
  add(failed_, standing.outcome == Outcome::kFailed);
  add(at_goal_, standing.at_goal);
  // The goal: every device at the goal version (and the server told), or failed.
  if (standing.outcome == Outcome::kFailed || standing.at_goal) {
    done_ += static_cast<std::uint32_t>(sign);
  }
}

void Fleet::Handle(std::uint32_t index, const Event& event) {
  DeviceState& device = devices_[index];
  Count(StandingOf(device), -1);
  const Action action = model_->Next(device, event);
  Count(StandingOf(device), +1);
  if (finished_) return;
  if (goal_version_ && done_ == devices_.size()) return Finish(EndReason::kGoal);
  Execute(index, action);
}

void Fleet::Execute(std::uint32_t index, const Action& action) {
  if (const auto* wait = std::get_if<Wait>(&action)) {
    scheduler_->At(Clock::now() + wait->delay, index);
  } else if (std::holds_alternative<Probe>(action)) {
    SendProbe(index);
  } else if (const auto* report = std::get_if<Report>(&action)) {
    SendReport(index, *report);
  } else {
    SendDownload(index, std::get<Download>(action));
  }
}

nlohmann::json Fleet::DeviceFields(const DeviceState& device) const {
  return {{"product-uid", options_.product_uid},
          {"version", versions_.Name(device.version)},
          {"hardware", options_.hardware},
          {"device-identity", {{"serial", Serial(device.index)}}},
          {"device-attributes", nlohmann::json::object()}};
}

void Fleet::HttpError(DeviceState& device, const Error& error) {
  http_errors_.fetch_add(1, std::memory_order_relaxed);
  ++device.errors;
  if (error.code() == Errc::kTimeout) ++summary_.timeouts;
}

void Fleet::Send(std::uint32_t index, HttpRequest request, HttpCallback done, bool resend,
                 std::size_t tries) {
  const std::uint16_t server = devices_[index].server;
  std::optional<HttpRequest> again;
  if (resend && tries + 1 < clients_.size()) again = request;
  clients_[server]->Send(
      std::move(request), [this, index, server, tries, again = std::move(again),
                           done = std::move(done)](Expected<HttpResponse> answer) mutable {
        if (!answer && !finished_ && clients_.size() > 1 && IsConnectionFailure(answer.error())) {
          DeviceState& device = devices_[index];
          if (device.server == server) {
            device.server = static_cast<std::uint16_t>((server + 1) % clients_.size());
            failovers_.fetch_add(1, std::memory_order_relaxed);
          }
          if (again) {
            HttpError(device, answer.error());
            return Send(index, std::move(*again), std::move(done), true, tries + 1);
          }
        }
        done(std::move(answer));
      });
}

std::size_t Fleet::Queued() const {
  std::size_t queued = 0;
  for (const auto& client : clients_) queued += client->queued();
  return queued;
}

void Fleet::SendProbe(std::uint32_t index) {
  const DeviceState& device = devices_[index];
  HttpRequest request;
  request.post = true;
  request.target = protocol::kProbePath;
  request.api_retries = device.probe_retries;
  auto body = protocol::ProbeBody(DeviceFields(device));
  if (body) request.body = std::move(*body);
  Send(
      index, std::move(request),
      [this, index](Expected<HttpResponse> answer) { OnProbeAnswered(index, std::move(answer)); },
      false);
}

void Fleet::OnProbeAnswered(std::uint32_t index, Expected<HttpResponse> answer) {
  if (finished_) return;
  DeviceState& device = devices_[index];
  probes_.fetch_add(1, std::memory_order_relaxed);
  const auto failed = [&](const Error& error) {
    ++summary_.probe_errors;
    HttpError(device, error);
    Handle(index, ProbeAnswer{.kind = ProbeAnswer::Kind::kFailed});
  };
  if (!answer) return failed(answer.error());
  summary_.probe_latency.Record(answer->elapsed);
  summary_.queue_wait.Record(answer->queued);
  const auto header = [&](std::string_view name) -> std::optional<std::string> {
    const auto value = answer->Header(name);
    return value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
  };
  auto result =
      protocol::InterpretProbeReply(answer->status, header(protocol::kExtraPollHeader),
                                    header(protocol::kSignatureHeader), std::move(answer->body));
  if (!result) return failed(result.error());
  if (const auto* extra = std::get_if<protocol::ExtraPoll>(&*result)) {
    return Handle(index, ProbeAnswer{.kind = ProbeAnswer::Kind::kExtraPoll,
                                     .extra_poll = std::chrono::seconds(extra->seconds)});
  }
  if (std::holds_alternative<protocol::NoUpdate>(*result)) {
    return Handle(index, ProbeAnswer{.kind = ProbeAnswer::Kind::kNoUpdate});
  }
  const auto& update = std::get<protocol::UpdateOffer>(*result);
  auto offer = offers_->Intern(update.metadata, update.signature);
  if (!offer) return failed(offer.error());
  ++summary_.offers;
  Handle(index, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = *offer});
}

void Fleet::SendReport(std::uint32_t index, const Report& report) {
  const DeviceState& device = devices_[index];
  protocol::ReportRequest fields;
  fields.status = report.status;
  fields.package_uid = offers_->at(device.offer).package_uid;
  if (report.status == "error") {
    fields.previous_state = report.previous_state;
    fields.error_message = report.error_message;
    fields.current_log = "simulated device " + Serial(index) + ": " + report.error_message + "\n";
  }
  HttpRequest request;
  request.post = true;
  request.target = protocol::kReportPath;
  auto body = protocol::ReportBody(DeviceFields(device), fields);
  if (body) request.body = std::move(*body);
  const auto sent = [this, index](Expected<HttpResponse> answer) {
    if (finished_) return;
    reports_.fetch_add(1, std::memory_order_relaxed);
    DeviceState& sender = devices_[index];
    if (!answer) {
      ++summary_.report_errors;
      HttpError(sender, answer.error());
    } else {
      summary_.report_latency.Record(answer->elapsed);
      summary_.queue_wait.Record(answer->queued);
      if (answer->status / 100 != 2) {
        // Agents ignore the answer, but a refusal is worth counting.
        ++summary_.report_errors;
        HttpError(sender, protocol::StatusError(answer->status, answer->body));
      }
    }
    Handle(index, ReportSent{});
  };
  Send(index, std::move(request), sent, true);
}

void Fleet::SendDownload(std::uint32_t index, const Download& download) {
  struct Transfer {
    ObjectReceiver receiver;
    std::optional<Error> refused;
  };
  auto transfer = std::make_shared<Transfer>(
      Transfer{ObjectReceiver(devices_[index], *download.object), std::nullopt});
  HttpRequest request;
  request.target = download.object->target;
  if (download.offset > 0) request.range_start = download.offset;
  request.on_head = [transfer](const HttpResponse& head) {
    auto ok = transfer->receiver.OnHead(head);
    if (!ok) transfer->refused = std::move(ok.error());
    return ok.has_value();
  };
  request.on_body = [transfer](std::string_view data) {
    auto more = transfer->receiver.OnBody(data);
    if (!more) {
      transfer->refused = std::move(more.error());
      return false;
    }
    return *more;
  };
  const auto ended = [this, index, transfer](Expected<HttpResponse> answer) {
    object_bytes_.fetch_add(transfer->receiver.accepted(), std::memory_order_relaxed);
    if (finished_) return;
    ++summary_.downloads;
    DeviceState& device = devices_[index];
    using Kind = TransferEnded::Kind;
    const auto failed = [&](Kind kind, const Error& error) {
      ++summary_.download_errors;
      HttpError(device, error);
      Handle(index, TransferEnded{.kind = kind, .error = error.message()});
    };
    if (transfer->refused) return failed(Kind::kRefused, *transfer->refused);
    if (!answer) return failed(Kind::kTransportError, answer.error());
    summary_.queue_wait.Record(answer->queued);
    if (transfer->receiver.cut()) {
      ++summary_.cuts;
      return Handle(index, TransferEnded{.kind = Kind::kCut, .error = ""});
    }
    if (auto complete = transfer->receiver.Finish(); !complete) {
      return failed(Kind::kRefused, complete.error());
    }
    summary_.download_latency.Record(answer->elapsed);
    Handle(index, TransferEnded{.kind = Kind::kComplete, .error = ""});
  };
  Send(index, std::move(request), ended, false);
}

void Fleet::ArmProgress() {
  if (options_.progress.count() <= 0 || finished_) return;
  progress_timer_.expires_after(options_.progress);
  progress_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_) return;
    PrintProgress();
    ArmProgress();
  });
}

void Fleet::PrintProgress() {
  const auto now = Clock::now();
  const FleetSnapshot live = Snapshot();
  const double window = Seconds(now - last_progress_);
  const double rate =
      window > 0 ? static_cast<double>(live.probes - last_progress_probes_) / window : 0.0;
  last_progress_ = now;
  last_progress_probes_ = live.probes;
  std::string phases;
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    phases += fmt::format("{}{} {}", i == 0 ? "" : ", ", PhaseName(static_cast<Phase>(i)),
                          live.phases[i]);
  }
  std::string line = fmt::format(
      "[{:7.1f} s] {} | updated {}, updating {}, failed {} | {:.0f} probes/s, {:.1f} MiB, "
      "{} errors, "
      "{} queued",
      Seconds(now - started_), phases, live.updated, live.updating, live.failed, rate,
      static_cast<double>(live.object_bytes) / (1024.0 * 1024.0), live.http_errors, Queued());
  if (clients_.size() > 1) line += fmt::format(", {} failovers", live.failovers);
  std::fprintf(stderr, "%s\n", line.c_str());
}

FleetSnapshot Fleet::Snapshot() const {
  FleetSnapshot out;
  for (std::size_t i = 0; i < kPhaseCount; ++i) out.phases[i] = phases_[i].load();
  out.probed = probed_;
  out.updated = updated_;
  out.updating = updating_;
  out.failed = failed_;
  out.at_goal = at_goal_;
  out.probes = probes_;
  out.reports = reports_;
  out.object_bytes = object_bytes_;
  out.http_errors = http_errors_;
  out.failovers = failovers_;
  return out;
}

}  // namespace uh::sim
