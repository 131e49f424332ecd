// Logging in against a guesser: a password policy, names unique regardless of case, a throttle
// per user name and per address, and answers that take as long for unknown names.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "server/auth.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using http::testing::FetchResult;
using nlohmann::json;
using ::testing::HasSubstr;

FetchResult LogIn(ServerFixture& server, const std::string& name, const std::string& password) {
  return Fetch(server.Url("/api/v1/login"),
               {.method = "POST", .body = json{{"username", name}, {"password", password}}.dump()});
}

TEST(PasswordPolicy, RefusesWeakPasswordsAndSaysWhy) {
  EXPECT_TRUE(CheckPasswordPolicy("ops", "tulip engine 41"));
  EXPECT_TRUE(CheckPasswordPolicy("ops", "correct horse battery"));
  const std::pair<const char*, const char*> refused[] = {
      {"short12", "8 characters"},
      {"12345678", "common"},
      {"PassWord1", "common"},
      {"qwerty123", "common"},
      {"zzzzzzzzzz", "repeated or a plain run"},
      {"abcdefghij", "repeated or a plain run"},
      {"9876543210", "repeated or a plain run"},
      {"operator", "user name"},  // the name "operator" itself
      {"my-operator-2024", "user name"},
  };
  for (const auto& [password, reason] : refused) {
    auto checked = CheckPasswordPolicy("Operator", password);
    ASSERT_FALSE(checked) << password;
    EXPECT_EQ(checked.error().code(), Errc::kInvalidArgument);
    EXPECT_THAT(checked.error().message(), HasSubstr(reason)) << password;
  }
  EXPECT_FALSE(CheckPasswordPolicy("ops", std::string(1025, 'x') + "y"));
}

TEST(LoginThrottleTest, WaitsDoubleAfterTheFreeFailuresAndEndWithSuccess) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'000'000'000));
  LoginThrottle throttle([&] { return now; });
  for (unsigned i = 0; i < LoginThrottle::kFreeUserFailures; ++i) {
    EXPECT_EQ(throttle.Wait("admin", "a"), std::chrono::seconds(0)) << i;
    throttle.Failed("admin", "a");
  }
  EXPECT_EQ(throttle.Wait("Admin", "b"), std::chrono::seconds(2));
  now += std::chrono::seconds(1);
  EXPECT_EQ(throttle.Wait("admin", "b"), std::chrono::seconds(1));
  now += std::chrono::seconds(1);
  EXPECT_EQ(throttle.Wait("admin", "b"), std::chrono::seconds(0));
  throttle.Failed("admin", "b");
  EXPECT_EQ(throttle.Wait("admin", "c"), std::chrono::seconds(4));
  now += std::chrono::seconds(4);
  throttle.Succeeded("ADMIN");
  EXPECT_EQ(throttle.Wait("admin", "c"), std::chrono::seconds(0));
  // Fifteen minutes at most.
  for (int i = 0; i < 40; ++i) throttle.Failed("root", "d");
  EXPECT_EQ(throttle.Wait("root", "e"), std::chrono::seconds(900));
  // An hour later the count starts again.
  now += std::chrono::hours(2);
  throttle.Failed("root", "e");
  EXPECT_EQ(throttle.Wait("root", "f"), std::chrono::seconds(0));
}

TEST(ServerLogin, UserNamesAreUniqueRegardlessOfCaseAndPasswordsFollowThePolicy) {
  ServerFixture server;
  auto created =
      server.Api("POST", "/api/v1/users", {{"username", "Ops"}, {"password", "tulip engine 41"}});
  ASSERT_EQ(created.status, 201) << created.body;
  for (const char* name : {"ops", "OPS", "ADMIN", "Admin"}) {
    auto again =
        server.Api("POST", "/api/v1/users", {{"username", name}, {"password", "tulip engine 43"}});
    EXPECT_EQ(again.status, 409) << name << ": " << again.body;
  }
  for (const char* password : {"12345678", "password", "aaaaaaaaaa", "reviewer-2026"}) {
    auto weak =
        server.Api("POST", "/api/v1/users", {{"username", "reviewer"}, {"password", password}});
    EXPECT_EQ(weak.status, 400) << password << ": " << weak.body;
  }
  auto token = json::parse(LogIn(server, "Ops", "tulip engine 41").body)["token"];
  auto changed = Fetch(
      server.Url("/api/v1/users/me/password"),
      {.method = "PUT",
       .headers = {"Authorization: Bearer " + token.get<std::string>()},
       .body = json{{"current_password", "tulip engine 41"}, {"new_password", "12345678"}}.dump()});
  EXPECT_EQ(changed.status, 400) << changed.body;
}

TEST(ServerLogin, FailuresForANameMakeItWaitEvenWithTheRightPassword) {
  ServerFixture server;
  const auto start = std::chrono::system_clock::now();
  server.SetNow(start);
  for (unsigned i = 0; i < LoginThrottle::kFreeUserFailures; ++i) {
    EXPECT_EQ(LogIn(server, "admin", "wrong password " + std::to_string(i)).status, 401) << i;
  }
  auto throttled = LogIn(server, "admin", kAdminPassword);
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_EQ(throttled.headers["retry-after"], "2");
  // The name in another case is the same name.
  EXPECT_EQ(LogIn(server, "ADMIN", kAdminPassword).status, 429);
  server.SetNow(start + std::chrono::seconds(3));
  // One more failure doubles the wait.
  EXPECT_EQ(LogIn(server, "admin", "wrong password again").status, 401);
  auto doubled = LogIn(server, "admin", kAdminPassword);
  EXPECT_EQ(doubled.status, 429);
  EXPECT_EQ(doubled.headers["retry-after"], "4");
  server.SetNow(start + std::chrono::seconds(8));
  EXPECT_EQ(LogIn(server, "admin", kAdminPassword).status, 200);
  // A success starts the name's count again.
  EXPECT_EQ(LogIn(server, "admin", "wrong password 9").status, 401);
  EXPECT_EQ(LogIn(server, "admin", kAdminPassword).status, 200);
}

TEST(ServerLogin, FailuresFromAnAddressMakeItWaitForEveryName) {
  ServerFixture server;
  server.SetNow(std::chrono::system_clock::now());
  for (unsigned i = 0; i < LoginThrottle::kFreeAddressFailures; ++i) {
    // A different name each time: the per-name count never trips.
    EXPECT_EQ(LogIn(server, "guess" + std::to_string(i), "tulip engine 41").status, 401) << i;
  }
  auto throttled = LogIn(server, "admin", kAdminPassword);
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_FALSE(throttled.headers["retry-after"].empty());
}

TEST(ServerLogin, AnUnknownNameTakesAsLongAsAWrongPassword) {
  ServerFixture server;
  auto fastest = [&](const std::string& name) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 4; ++i) {
      const auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(
          LogIn(server, name + (name == "admin" ? "" : std::to_string(i)), "tulip engine 4").status,
          401);
      best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    return best;
  };
  const auto known = fastest("admin");
  const auto unknown = fastest("nobody");
  // A password hash check takes tens of milliseconds, a lookup that finds nothing well under one:
  // without the decoy check the unknown name would answer about a hundred times faster.
  EXPECT_GT(unknown * 10, known * 3)
      << "known " << std::chrono::duration<double, std::milli>(known).count() << " ms, unknown "
      << std::chrono::duration<double, std::milli>(unknown).count() << " ms";
}

}  // namespace
}  // namespace uh::server::testing
