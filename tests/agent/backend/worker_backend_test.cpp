// WorkerBackend with the real updatehub-worker: each call's answer and error are the
// LocalBackend's; and with stand-in workers (shell scripts): a worker that logs, lies, crashes,
// hangs or outlives the daemon.

#include "agent/backend/worker_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "agent/backend/local_backend.hpp"
#include "agent/backend/worker_protocol.hpp"
#include "core/hash.hpp"
#include "package/package_reader.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::unique_ptr<UpdateBackend> Worker() {
  return MakeWorkerBackend({.program = UH_WORKER_PROGRAM});
}

// A stand-in worker: a shell script.
std::unique_ptr<UpdateBackend> FakeWorker(const uh::testing::TempDir& dir, const std::string& body,
                                          std::chrono::milliseconds stop_grace = 5s) {
  const auto path = dir / "fake-worker";
  uh::testing::WriteFile(path, "#!/bin/sh\n" + body + "\n");
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return MakeWorkerBackend({.program = path, .stop_grace = stop_grace});
}

std::vector<int> Workers() { return uh::testing::ChildProcesses(::getpid(), "updatehub-worke"); }

bool Gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::string Signature() {
  auto reader = package::PackageReader::Open(uh::testing::TestPackagesDir() / "signed.uhupkg");
  EXPECT_TRUE(reader);
  return reader->signature();
}

TEST(WorkerBackend, ChecksSignaturesAndHashesLikeTheLocalBackend) {
  const auto key = uh::testing::TestPackagesDir() / "key.pub";
  const std::string metadata =
      uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json");
  auto worker = Worker();
  auto local = MakeLocalBackend();

  EXPECT_TRUE(worker->VerifySignature(key, metadata, Signature()));
  auto bad = worker->VerifySignature(key, metadata + " ", Signature());
  ASSERT_FALSE(bad);
  auto bad_local = local->VerifySignature(key, metadata + " ", Signature());
  ASSERT_FALSE(bad_local);
  EXPECT_EQ(bad.error().code(), Errc::kSignature);
  EXPECT_EQ(bad.error().message(), bad_local.error().message());
  auto no_key = worker->VerifySignature("/nonexistent/key.pub", metadata, Signature());
  ASSERT_FALSE(no_key);
  EXPECT_THAT(no_key.error().message(), HasSubstr("key.pub"));

  auto uid = worker->PackageUid(metadata);
  ASSERT_TRUE(uid) << uid.error().message();
  EXPECT_EQ(*uid, Sha256Hex(metadata));
}

// The worker itself: a request it cannot read is answered with an error, and the next one is
// still served; it exits at the end of its input.
TEST(WorkerBackend, TheWorkerAnswersEachLineAndGoesOnAfterABadOne) {
  const auto run = uh::testing::Run(
      {"sh", "-c",
       "printf 'garbage\\n[1]\\n{\"op\": \"package-uid\", \"args\": {\"metadata\": "
       "\"{}\"}}\\n' | " UH_WORKER_PROGRAM});
  EXPECT_EQ(run.status, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<nlohmann::json> answers;
  for (std::string line; std::getline(lines, line);) {
    answers.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(answers.size(), 3u) << run.out;
  EXPECT_THAT(answers[0].dump(), HasSubstr("{op, args} expected"));
  EXPECT_THAT(answers[1].dump(), HasSubstr("{op, args} expected"));
  EXPECT_EQ(answers[2], nlohmann::json({{"ok", Sha256Hex("{}")}}));
}

// Every operation of the op table is served by the real worker: sent with no arguments, each is
// refused as a malformed request, never as an unknown operation.
TEST(WorkerBackend, TheWorkerServesEveryOperationOfTheTable) {
  std::string input;
  for (const auto& info : worker::kOps) {
    input += nlohmann::json({{"op", info.name}, {"args", nlohmann::json::object()}}).dump() + "\n";
  }
  input += R"({"op": "no-such-op", "args": {}})"
           "\n";
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "requests", input);
  const auto run = uh::testing::Run(
      {"sh", "-c", std::string(UH_WORKER_PROGRAM) + " < " + (dir / "requests").string()});
  EXPECT_EQ(run.status, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<nlohmann::json> answers;
  for (std::string line; std::getline(lines, line);) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.contains("log")) continue;
    answers.push_back(std::move(parsed));
  }
  ASSERT_EQ(answers.size(), worker::kOps.size() + 1) << run.out;
  for (std::size_t i = 0; i < worker::kOps.size(); ++i) {
    SCOPED_TRACE(worker::kOps[i].name);
    ASSERT_TRUE(answers[i].contains("error")) << answers[i].dump();
    EXPECT_EQ(answers[i]["error"]["code"], static_cast<int>(Errc::kMalformed)) << answers[i].dump();
  }
  EXPECT_THAT(answers.back().dump(), HasSubstr("unknown operation no-such-op"));
}

// One worker process takes every call until the backend is released; then it is gone (reaped,
// not a zombie), and the next call starts another.
TEST(WorkerBackend, OneWorkerServesTheCallsUntilReleased) {
  const std::string metadata =
      uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json");
  auto worker = Worker();
  ASSERT_TRUE(Workers().empty());
  ASSERT_TRUE(worker->PackageUid(metadata));
  const auto first = Workers();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(
      worker->VerifySignature(uh::testing::TestPackagesDir() / "key.pub", metadata, Signature()));
  EXPECT_FALSE(worker->VerifySignature("/nonexistent/key.pub", metadata, Signature()));
  ASSERT_TRUE(worker->PackageUid(metadata));
  EXPECT_EQ(Workers(), first);

  worker->Release();
  EXPECT_TRUE(Workers().empty());
  EXPECT_TRUE(Gone(first[0]));
  ASSERT_TRUE(worker->PackageUid(metadata));
  const auto second = Workers();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second, first);
  worker.reset();  // the backend's end takes its worker too
  EXPECT_TRUE(Gone(second[0]));
}

// The same with a stand-in worker that answers with its pid; one that does not exit when told
// is killed after the grace.
TEST(WorkerBackend, AReleasedWorkerThatStaysIsKilled) {
  uh::testing::TempDir dir;
  auto fake = FakeWorker(dir, R"(trap '' TERM
while read -r line; do echo "{\"ok\": \"$$\"}"; done
exec sleep 60)",
                         300ms);
  auto first = fake->PackageUid("{}");
  auto again = fake->PackageUid("{}");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(*first, *again);
  const auto start = std::chrono::steady_clock::now();
  fake->Release();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(Gone(std::stoi(*first)));
  auto other = fake->PackageUid("{}");
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
}

TEST(WorkerBackend, UnpacksAPackageAndVerifiesAndInstallsItsObjects) {
  uh::testing::TempDir dir;
  auto worker = Worker();
  auto unpacked =
      worker->UnpackPackage(uh::testing::TestPackagesDir() / "signed.uhupkg", dir.path());
  ASSERT_TRUE(unpacked) << unpacked.error().message();
  auto reader = package::PackageReader::Open(uh::testing::TestPackagesDir() / "signed.uhupkg");
  ASSERT_TRUE(reader);
  EXPECT_EQ(unpacked->metadata, reader->metadata_bytes());
  EXPECT_EQ(unpacked->signature, reader->signature());
  EXPECT_EQ(unpacked->package_uid, reader->uid());

  const package::Object* raw = nullptr;
  for (const auto* object : reader->metadata().DistinctObjects()) {
    EXPECT_TRUE(worker->VerifyObjectFile(dir / object->sha256sum, *object)) << object->filename;
    if (object->mode == package::Mode::kRaw) raw = object;
  }
  ASSERT_NE(raw, nullptr);

  // A raw object into a stand-in partition under a target root.
  InstallContext ctx;
  ctx.object_file = dir / raw->sha256sum;
  ctx.target_root = dir / "root";
  ctx.work_dir = dir / "work";
  const auto device = ctx.target_root / std::filesystem::path(*raw->target).relative_path();
  std::filesystem::create_directories(device.parent_path());
  uh::testing::WriteFile(device, std::string(1 << 20, '\0'));
  ASSERT_TRUE(worker->CheckRequirements(*raw, ctx));
  auto already = worker->AlreadyInstalled(*raw, ctx);
  ASSERT_TRUE(already);
  EXPECT_FALSE(*already);
  auto installed = worker->Install(*raw, ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(uh::testing::ReadFile(device).substr(0, raw->size),
            uh::testing::ReadFile(dir / raw->sha256sum));

  // A damaged object file: the worker's error, with its code.
  std::string bytes = uh::testing::ReadFile(dir / raw->sha256sum);
  bytes[0] ^= 1;
  uh::testing::WriteFile(dir / raw->sha256sum, bytes);
  auto damaged = worker->VerifyObjectFile(dir / raw->sha256sum, *raw);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code(), Errc::kIntegrity);
  // A missing target.
  std::filesystem::remove(device);
  auto missing = worker->CheckRequirements(*raw, ctx);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr(*raw->target));
}

TEST(WorkerBackend, AServerThatCannotBeReachedIsTheClientsError) {
  auto probed = Worker()->Probe(ClientOptions{.server_url = "ftp://example.com"},
                                nlohmann::json::object(), 0);
  ASSERT_FALSE(probed);
  EXPECT_EQ(probed.error().code(), Errc::kInvalidArgument);
}

// An abort (the local API's, or the daemon stopping) reaches a download in the worker.
TEST(WorkerBackend, AnAbortStopsADownloadInTheWorker) {
  // A server that takes the connection and never answers.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/p";

  uh::testing::TempDir dir;
  std::atomic<bool> abort{false};
  std::thread aborter([&] {
    std::this_thread::sleep_for(500ms);
    abort = true;
  });
  auto worker = Worker();
  const auto start = std::chrono::steady_clock::now();
  auto fetched =
      worker->DownloadUrl(ClientOptions{.server_url = url}, url, dir / "p.uhupkg", abort, 1 << 20);
  const auto took = std::chrono::steady_clock::now() - start;
  aborter.join();
  ::close(listener);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), Errc::kCancelled) << fetched.error().message();
  EXPECT_LT(took, 10s);
  EXPECT_FALSE(std::filesystem::exists(dir / "p.uhupkg"));
  // The aborted worker is gone; the next call gets a new one.
  EXPECT_TRUE(Workers().empty());
  auto uid = worker->PackageUid("{}");
  ASSERT_TRUE(uid) << uid.error().message();
  EXPECT_EQ(*uid, Sha256Hex("{}"));
}

TEST(WorkerBackend, TheWorkersLogLinesAreLoggedByTheDaemon) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  uh::testing::TempDir dir;
  auto fake = FakeWorker(dir, R"(head -n 1 > /dev/null
echo '{"log": "warning", "msg": "from the worker"}'
echo '{"ok": "abc"}')");
  auto uid = fake->PackageUid("{}");
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(uid) << uid.error().message();
  EXPECT_EQ(*uid, "abc");
  const auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("from the worker"));
  EXPECT_THAT(lines[0], HasSubstr("warning"));
}

TEST(WorkerBackend, AWorkerThatBreaksIsAnErrorNotAHangOrACrash) {
  uh::testing::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"head -n 1 > /dev/null; echo 'not json'", "not JSON"},
      {"head -n 1 > /dev/null; exit 3", "exited with status 3 without an answer"},
      {"head -n 1 > /dev/null; kill -9 $$", "was killed by signal 9"},
      {"head -n 1 > /dev/null; printf '{\"ok\": '", "cut off"},
      {"head -n 1 > /dev/null; echo '{\"ok\": 5}'", "package-uid"},
      {"head -n 1 > /dev/null; echo '{\"error\": {\"code\": 99, \"message\": \"x\"}}'",
       "unknown code"},
      {"exit 0", "without an answer"},  // does not even read its request
      // Closes its output but lives on: killed after the grace, not waited for.
      {"head -n 1 > /dev/null; exec sleep 60 >&-", "killed by signal 9"},
  };
  for (const auto& [body, expected] : cases) {
    auto uid = FakeWorker(dir, body, 300ms)->PackageUid(std::string(256 * 1024, 'x'));
    ASSERT_FALSE(uid) << body;
    EXPECT_THAT(uid.error().message(), HasSubstr(expected)) << body;
  }
  auto missing = MakeWorkerBackend({.program = dir / "nonexistent"})->PackageUid("{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
}

// A power cut takes the daemon and its worker together: the worker must not go on writing when
// the daemon is killed.
TEST(WorkerBackend, TheWorkerDiesWithTheDaemon) {
  uh::testing::TempDir dir;
  const auto pid_file = dir / "worker.pid";
  const std::string body = "echo $$ > " + pid_file.string() + ".tmp; mv " + pid_file.string() +
                           ".tmp " + pid_file.string() + "; exec sleep 60";
  auto fake = FakeWorker(dir, body);
  const pid_t daemon = ::fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    (void)fake->PackageUid("{}");
    ::_exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(pid_file) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(std::filesystem::exists(pid_file));
  const pid_t worker = std::stoi(uh::testing::ReadFile(pid_file));
  ::kill(daemon, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(daemon, &status, 0), daemon);
  // Gone, or a zombie waiting for init to reap it.
  const auto alive = [worker] {
    std::ifstream stat("/proc/" + std::to_string(worker) + "/stat");
    std::string pid, name, state;
    return (stat >> pid >> name >> state) && state != "Z";
  };
  const auto limit = std::chrono::steady_clock::now() + 5s;
  while (alive() && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(alive()) << "the worker " << worker << " outlived the daemon";
  if (alive()) ::kill(worker, SIGKILL);
}

}  // namespace
}  // namespace uh::agent
