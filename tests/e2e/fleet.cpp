#include "e2e/fleet.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "e2e/e2e_support.hpp"
#include "support/test_support.hpp"

namespace uh::e2e {
namespace {

// Runs work(0) ... work(n - 1) on a few threads: most of what devices do is starting
// programs and waiting for them. Returns the messages of the exceptions thrown.
std::string InParallel(std::size_t n, const std::function<void(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::string errors;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::min<std::size_t>(n, 6); ++t) {
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) {
        try {
          work(i);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          errors += std::string(e.what()) + "\n";
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return errors;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

SimulatedDevice::SimulatedDevice(std::filesystem::path dir, std::string serial,
                                 const std::vector<std::string>& init_args)
    : dir_(std::move(dir)), serial_(std::move(serial)) {
  std::vector<std::string> argv = {DeviceSimulator().string(), "init", dir_.string(), "--serial",
                                   serial_};
  argv.insert(argv.end(), init_args.begin(), init_args.end());
  const auto result = uh::testing::Run(argv);
  if (result.status != 0) {
    throw std::runtime_error("updatehub-device init " + serial_ + " failed: " + result.err);
  }
}

SimulatedDevice::~SimulatedDevice() { PowerOff(); }

void SimulatedDevice::PowerOn() {
  if (run_ && run_->Running()) return;
  run_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{DeviceSimulator().string(), "run", dir_.string()}, dir_ / "run.log",
      std::vector<std::string>{"UPDATEHUB_AGENT=" + AgentBinary().string()});
}

std::string SimulatedDevice::PowerOff() {
  if (!run_) return "never powered on";
  // The device gives its agent 10 s to stop before it kills it.
  return run_->Terminate(std::chrono::seconds(15) + Limit(5));
}

bool SimulatedDevice::Running() { return run_ && run_->Running(); }

bool SimulatedDevice::AgentReady() const {
  return std::filesystem::exists(dir_ / "run" / "api-port");
}

std::string SimulatedDevice::Probe() {
  uh::testing::RunResult result;
  const bool taken = WaitUntil(
      [&] {
        result = uh::testing::Run({DeviceSimulator().string(), "probe", dir_.string()});
        return result.status == 0;
      },
      Limit(20), std::chrono::milliseconds(250));
  if (!taken) return "error: " + serial_ + ": " + Trimmed(result.err + result.out);
  return Trimmed(result.out);
}

std::string SimulatedDevice::Status() const {
  const auto result = uh::testing::Run({DeviceSimulator().string(), "status", dir_.string()});
  return Trimmed(result.out + result.err);
}

std::filesystem::path SimulatedDevice::OnDevice(const std::string& path) const {
  return dir_ / "root" / std::filesystem::path(path).relative_path();
}

std::string SimulatedDevice::Slot() const { return Trimmed(ReadIfExists(dir_ / "run" / "slot")); }

std::string SimulatedDevice::Version() const {
  return Trimmed(ReadIfExists(dir_ / "run" / "version"));
}

std::string SimulatedDevice::Events() const { return ReadIfExists(dir_ / "events.log"); }

std::string SimulatedDevice::AgentLog() const { return ReadIfExists(dir_ / "agent.log"); }

std::string SimulatedDevice::BootVar(const std::string& name) const {
  std::istringstream lines(ReadIfExists(dir_ / "bootenv"));
  std::string line;
  std::string value;
  while (std::getline(lines, line)) {
    if (line.starts_with(name + "=")) value = line.substr(name.size() + 1);
  }
  return value;
}

std::string SimulatedDevice::Diagnostics(std::size_t lines) const {
  std::ostringstream out;
  out << "--- device " << serial_ << " (" << dir_.string() << "): " << Status() << "\n"
      << "events.log:\n"
      << Events() << "agent.log (last " << lines << " lines):\n"
      << Tail(dir_ / "agent.log", lines) << "\n";
  const auto run_log = Tail(dir_ / "run.log", 5);
  if (!run_log.empty()) out << "run.log:\n" << run_log << "\n";
  return out.str();
}

Fleet::Fleet(std::filesystem::path dir, std::vector<std::string> common_args)
    : dir_(std::move(dir)), common_args_(std::move(common_args)) {
  std::filesystem::create_directories(dir_);
}

Fleet::~Fleet() { (void)PowerOffAll(); }

void Fleet::Add(const std::vector<DeviceSpec>& specs) {
  std::vector<std::unique_ptr<SimulatedDevice>> made(specs.size());
  const auto errors = InParallel(specs.size(), [&](std::size_t i) {
    auto init_args = common_args_;
    init_args.insert(init_args.end(), specs[i].args.begin(), specs[i].args.end());
    made[i] = std::make_unique<SimulatedDevice>(dir_ / specs[i].serial, specs[i].serial, init_args);
  });
  for (auto& device : made) {
    if (device) devices_.push_back(std::move(device));
  }
  if (!errors.empty()) throw std::runtime_error(errors);
}

bool Fleet::PowerOnAll() {
  for (auto& device : devices_) device->PowerOn();
  return WaitUntil(
      [&] {
        for (const auto& device : devices_) {
          if (!device->AgentReady()) return false;
        }
        return true;
      },
      Limit(30));
}

std::string Fleet::ProbeAll() {
  std::vector<std::string> answers(devices_.size());
  const auto errors =
      InParallel(devices_.size(), [&](std::size_t i) { answers[i] = devices_[i]->Probe(); });
  std::string failures = errors;
  for (const auto& answer : answers) {
    if (answer.starts_with("error:")) failures += answer + "\n";
  }
  return failures;
}

std::string Fleet::PowerOffAll() {
  // All at once: each waits for its agent to stop.
  std::vector<std::thread> stopping;
  std::vector<std::string> endings(devices_.size());
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    stopping.emplace_back([&, i] { endings[i] = devices_[i]->PowerOff(); });
  }
  for (auto& thread : stopping) thread.join();
  std::string unclean;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (endings[i] != "exited with status 0" && endings[i] != "never powered on") {
      unclean += devices_[i]->serial() + ": " + endings[i] + "\n";
    }
  }
  return unclean;
}

std::string Fleet::Dead() {
  std::string dead;
  for (auto& device : devices_) {
    if (!device->Running()) dead += device->serial() + " stopped running\n";
  }
  return dead;
}

std::string Fleet::Diagnostics(std::size_t lines) const {
  std::string out;
  for (const auto& device : devices_) out += device->Diagnostics(lines);
  return out;
}

}  // namespace uh::e2e
