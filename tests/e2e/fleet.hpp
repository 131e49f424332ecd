#pragma once

// Simulated devices (dist/sim/updatehub-device): each a directory made by `init` and a
// `run` child process that plays its bootloader around a real agent process.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "e2e/child_process.hpp"

namespace uh::e2e {

class SimulatedDevice {
 public:
  // `updatehub-device init DIR ARGS...`; throws std::runtime_error when it fails.
  SimulatedDevice(std::filesystem::path dir, std::string serial,
                  const std::vector<std::string>& init_args);
  ~SimulatedDevice();
  SimulatedDevice(const SimulatedDevice&) = delete;
  SimulatedDevice& operator=(const SimulatedDevice&) = delete;

  // `updatehub-device run DIR` as a child process.
  void PowerOn();
  // SIGTERM (the device stops its agent first); returns how `run` ended.
  std::string PowerOff();
  // Whether `run` still runs (false once it stopped by itself: bricked, agent failing).
  [[nodiscard]] bool Running();
  // Whether the agent of the current boot listens for local API requests.
  [[nodiscard]] bool AgentReady() const;
  // `updatehub-device probe DIR` until the agent takes the request; its output, or an error
  // message starting with "error:".
  [[nodiscard]] std::string Probe();
  // `updatehub-device status DIR`.
  [[nodiscard]] std::string Status() const;

  [[nodiscard]] const std::string& serial() const { return serial_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  // A path on the device: its stand-in under DIR/root ("/dev/mmcblk0p3").
  [[nodiscard]] std::filesystem::path OnDevice(const std::string& path) const;
  // What the boot simulator says: the running slot and version, "" before the first boot.
  [[nodiscard]] std::string Slot() const;
  [[nodiscard]] std::string Version() const;
  [[nodiscard]] std::string Events() const;
  [[nodiscard]] std::string AgentLog() const;
  // A bootloader variable ("" when unset).
  [[nodiscard]] std::string BootVar(const std::string& name) const;
  // Its story for a failure message: status, events, the agent log's last `lines` lines.
  [[nodiscard]] std::string Diagnostics(std::size_t lines = 15) const;

 private:
  std::filesystem::path dir_;
  std::string serial_;
  std::unique_ptr<ChildProcess> run_;
};

struct DeviceSpec {
  std::string serial;
  std::vector<std::string> args;  // init arguments of this device only
};

class Fleet {
 public:
  // Devices in `dir`/SERIAL, each made with `common_args` plus its own.
  Fleet(std::filesystem::path dir, std::vector<std::string> common_args);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Makes the devices, several at a time (init is a script that runs a few dozen programs);
  // throws std::runtime_error when one cannot be made.
  void Add(const std::vector<DeviceSpec>& specs);
  // Powers every device on, then waits until each agent listens (false on timeout).
  [[nodiscard]] bool PowerOnAll();
  // Every device asks the server now (the agents poll hourly), several at a time; the
  // failures, one per line.
  [[nodiscard]] std::string ProbeAll();
  // Powers every device off; the devices that did not stop cleanly, one per line.
  [[nodiscard]] std::string PowerOffAll();
  // The devices whose `run` stopped by themselves, one per line ("" when all run).
  [[nodiscard]] std::string Dead();

  [[nodiscard]] std::size_t size() const { return devices_.size(); }
  [[nodiscard]] SimulatedDevice& operator[](std::size_t i) { return *devices_[i]; }
  [[nodiscard]] auto begin() { return devices_.begin(); }
  [[nodiscard]] auto end() { return devices_.end(); }
  [[nodiscard]] std::string Diagnostics(std::size_t lines = 15) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> common_args_;
  std::vector<std::unique_ptr<SimulatedDevice>> devices_;
};

}  // namespace uh::e2e
