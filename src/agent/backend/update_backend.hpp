#pragma once

// The heavy work of an update, behind one interface: talking to the server (libcurl, TLS),
// checking signatures and hashes (OpenSSL), reading packages and installing objects (libarchive,
// flash tools). The daemon decides what to do and when; a backend does it.
//
// Two backends: LocalBackend (local_backend.hpp) does the work in the calling process;
// WorkerBackend (worker_backend.hpp) runs them in an `updatehub-worker` process that lives for
// one update, so that the daemon, which waits idle most of its life, never loads those libraries
// and stays small (docs/benchmarks.md, agent footprint). Both give the same answers and errors.
//
// Every call blocks until done; calls are taken one at a time. `abort`, where taken, may be set
// from another thread: the call then stops as soon as it can with Errc::kCancelled.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/client/client.hpp"
#include "agent/install/installer.hpp"
#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

// A package file taken apart: its objects were written to the directory given, each named by
// its sha256.
struct UnpackedPackage {
  std::string metadata;   // the exact bytes
  std::string signature;  // base64; empty when unsigned
  std::string package_uid;
};

class UpdateBackend {
 public:
  virtual ~UpdateBackend() = default;

  // No call is coming soon (the daemon is about to wait, or to reboot): let go of what is kept
  // between calls (a worker process, server connections). The next call takes them again.
  virtual void Release() {}

  // The server (client.hpp, Client; `server` names the server and how to reach it).
  [[nodiscard]] virtual Expected<ProbeResult> Probe(const ClientOptions& server,
                                                    const nlohmann::json& device_fields,
                                                    int retries) = 0;
  [[nodiscard]] virtual Expected<void> Report(const ClientOptions& server,
                                              const nlohmann::json& device_fields,
                                              const ReportRequest& report) = 0;
  [[nodiscard]] virtual Expected<void> DownloadObject(const ClientOptions& server,
                                                      const ObjectDownload& download,
                                                      const std::atomic<bool>& abort) = 0;
  [[nodiscard]] virtual Expected<void> DownloadUrl(const ClientOptions& server,
                                                   const std::string& url,
                                                   const std::filesystem::path& dest,
                                                   const std::atomic<bool>& abort,
                                                   std::uint64_t max_size) = 0;

  // Packages: the package uid, sha256 of the metadata's bytes.
  [[nodiscard]] virtual Expected<std::string> PackageUid(const std::string& metadata) = 0;
  // kSignature when `signature` (base64) is not the key's over `metadata`; the key's
  // own errors otherwise.
  [[nodiscard]] virtual Expected<void> VerifySignature(const std::filesystem::path& public_key,
                                                       const std::string& metadata,
                                                       const std::string& signature) = 0;
  // Reads a .uhupkg and writes every object of it to `dir` (checking its free space first).
  [[nodiscard]] virtual Expected<UnpackedPackage> UnpackPackage(
      const std::filesystem::path& file, const std::filesystem::path& dir) = 0;
  // A package read in place (update.stream_objects): its metadata and signature, its objects
  // left in it.
  [[nodiscard]] virtual Expected<UnpackedPackage> ReadPackage(
      const std::filesystem::path& file) = 0;
  // One object of a package written to `dest` (atomically, checking the free space first), with
  // its size and sha256 checked.
  [[nodiscard]] virtual Expected<void> ExtractObject(const std::filesystem::path& file,
                                                     const package::Object& object,
                                                     const std::filesystem::path& dest) = 0;
  // `file` has exactly the object's size and sha256.
  [[nodiscard]] virtual Expected<void> VerifyObjectFile(const std::filesystem::path& file,
                                                        const package::Object& object) = 0;

  // Installing (installer.hpp). The context's `cancelled` callback is not carried to a worker.
  [[nodiscard]] virtual Expected<void> CheckRequirements(const package::Object& object,
                                                         const InstallContext& ctx) = 0;
  [[nodiscard]] virtual Expected<bool> AlreadyInstalled(const package::Object& object,
                                                        const InstallContext& ctx) = 0;
  [[nodiscard]] virtual Expected<void> Install(const package::Object& object,
                                               const InstallContext& ctx) = 0;
  // A piped install (piped_install.hpp): `object` downloaded straight into its installer.
  // ctx.object_fd is the backend's own.
  [[nodiscard]] virtual Expected<void> StreamInstall(const ClientOptions& server,
                                                     const ObjectDownload& download,
                                                     const package::Object& object,
                                                     const InstallContext& ctx,
                                                     const std::atomic<bool>& abort) = 0;
  // The same from a package file: `object` read from `file` straight into its installer.
  [[nodiscard]] virtual Expected<void> InstallFromPackage(const std::filesystem::path& file,
                                                          const package::Object& object,
                                                          const InstallContext& ctx,
                                                          const std::atomic<bool>& abort) = 0;
  [[nodiscard]] virtual Expected<void> VerifyStreamed(const package::Object& object,
                                                      const StreamTarget& target,
                                                      const InstallContext& ctx) = 0;
};

}  // namespace uh::agent
