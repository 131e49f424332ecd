// The real updatehub-server binary: SIGHUP reloads its TLS certificate (a broken one is logged
// and the current one kept), and weak TLS settings stop it at start with a clear message.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/http/tls_test_client.hpp"
#include "support/test_support.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A port that was free a moment ago (the binary is told a port, it cannot report one back).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// The server in a child process, its output in `log`; killed if the test did not stop it.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool Signal(int signal) const { return ::kill(pid_, signal) == 0; }
  bool Running() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // The exit status after SIGTERM; -1 if it did not exit normally.
  int Stop() {
    int status = 0;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

std::string Fingerprint(std::uint16_t port) { return TlsClient(port, {}).fingerprint(); }

TEST(TlsSighupTest, ReloadsTheCertificateAndKeepsItWhenTheNewOneIsBroken) {
  uh::testing::TempDir dir;
  const auto cert = dir / "cert.pem";
  const auto key = dir / "key.pem";
  const auto log = dir / "server.log";
  ASSERT_EQ(MakeCertificate(cert, key, /*rsa=*/false), "");
  const std::string first = CertificateFingerprint(cert);
  const std::uint16_t port = FreePort();
  ServerProcess server({UH_SERVER_BINARY, "--listen", "127.0.0.1:" + std::to_string(port),
                        "--data-dir", (dir / "data").string(), "--tls-cert", cert.string(),
                        "--tls-key", key.string(), "--threads", "2"},
                       log);
  ASSERT_TRUE(uh::testing::WaitUntil([&] { return Fingerprint(port) == first; }, 30s, 100ms))
      << uh::testing::ReadFile(log);

  ASSERT_EQ(MakeCertificate(cert, key, /*rsa=*/true), "");
  const std::string second = CertificateFingerprint(cert);
  ASSERT_TRUE(server.Signal(SIGHUP));
  EXPECT_TRUE(uh::testing::WaitUntil([&] { return Fingerprint(port) == second; }, 10s, 50ms))
      << uh::testing::ReadFile(log);

  uh::testing::WriteFile(cert, "not a certificate");
  ASSERT_TRUE(server.Signal(SIGHUP));
  EXPECT_TRUE(uh::testing::WaitUntil(
      [&] {
        return uh::testing::ReadFile(log).find("keeping the current one") != std::string::npos;
      },
      10s, 50ms))
      << uh::testing::ReadFile(log);
  EXPECT_TRUE(server.Running());
  EXPECT_EQ(Fingerprint(port), second);
  EXPECT_EQ(server.Stop(), 0) << uh::testing::ReadFile(log);
}

TEST(TlsSighupTest, WeakOrBadCiphersStopTheStart) {
  uh::testing::TempDir dir;
  const auto cert = dir / "cert.pem";
  const auto key = dir / "key.pem";
  ASSERT_EQ(MakeCertificate(cert, key, /*rsa=*/true), "");
  for (const auto& [ciphers, message] : std::vector<std::pair<std::string, std::string>>{
           {"AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256", "not forward-secret AEAD"},
           {"NOT-A-CIPHER", "TLS ciphers 'NOT-A-CIPHER'"}}) {
    // `timeout`: a server that accepted the list would serve until stopped.
    const auto result = uh::testing::Run({"timeout", "10", UH_SERVER_BINARY, "--listen",
                                          "127.0.0.1:" + std::to_string(FreePort()), "--data-dir",
                                          (dir / "data").string(), "--tls-cert", cert.string(),
                                          "--tls-key", key.string(), "--tls-ciphers", ciphers});
    EXPECT_EQ(result.status, 1) << ciphers;
    EXPECT_THAT(result.out + result.err, HasSubstr(message)) << ciphers;
  }
}

}  // namespace
}  // namespace uh::server::http::testing
