// Devices prove who they are (docs/device-authentication.md): reports only about offered
// packages in every mode, per-device secrets with pre-provisioning and enrolment, the migration
// of product-token products, and client certificates checked against each product's CA.

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "server/auth.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/migrations.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using http::testing::FetchOptions;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kProductPath = std::string("/api/v1/products/") + kConformanceProduct;
const std::string kSecretA(64, 'a');
const std::string kSecretB(64, 'b');

// The device protocol headers, with the device's own secret when given.
FetchOptions DeviceRequest(const json& body, const std::string& secret) {
  FetchOptions options;
  options.method = "POST";
  options.headers = {"Content-Type: application/json",
                     "Api-Content-Type: application/vnd.updatehub-v1+json"};
  if (!secret.empty()) options.headers.push_back("UH-Device-Token: " + secret);
  options.body = body.dump();
  return options;
}

json ReportBody(json device, const std::string& status, const std::string& package_uid) {
  device["status"] = status;
  device["package-uid"] = package_uid;
  return device;
}

class DeviceAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  }

  FetchResult Probe(const json& device, const std::string& secret) {
    return Fetch(server_.Url("/upgrades"), DeviceRequest(device, secret));
  }
  FetchResult Report(const json& device, const std::string& status, const std::string& secret,
                     const std::string& package_uid = kUid) {
    return Fetch(server_.Url("/report"),
                 DeviceRequest(ReportBody(device, status, package_uid), secret));
  }
  FetchResult Download(const std::string& secret) {
    FetchOptions options;
    if (!secret.empty()) options.headers = {"UH-Device-Token: " + secret};
    return Fetch(server_.Url(std::string("/products/") + kConformanceProduct + "/packages/" + kUid +
                             "/objects/" + kRootfs),
                 options);
  }
  FetchResult Patch(const json& settings) { return server_.Api("PATCH", kProductPath, settings); }
  std::int64_t StartRollout() {
    auto created =
        server_.Api("POST", kProductPath + "/rollouts", {{"package", kUid}, {"stages", {100}}});
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body)["id"].get<std::int64_t>();
  }
  json Statistics(std::int64_t rollout) {
    return json::parse(
        server_.Api("GET", "/api/v1/rollouts/" + std::to_string(rollout) + "/statistics").body);
  }
  // The device id of a device created by a probe.
  std::int64_t DeviceId(const std::string& serial) {
    auto devices = json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"];
    for (const auto& device : devices) {
      if (device["identity"]["serial"] == serial) return device["id"].get<std::int64_t>();
    }
    return 0;
  }

  ServerFixture server_;
};

TEST_F(DeviceAuthTest, AReportWithoutAnOfferIsRefusedAndChangesNothing) {
  const json offered = ServerFixture::DeviceBody("offered", "0.9");
  const json waiting = ServerFixture::DeviceBody("waiting", "0.9");
  ASSERT_EQ(server_.Probe(offered).status, 404);
  ASSERT_EQ(server_.Probe(waiting).status, 404);
  // No rollout yet: nobody was offered anything.
  auto early = server_.Report(offered, "downloading", kUid);
  EXPECT_EQ(early.status, 409);
  EXPECT_THAT(early.body, HasSubstr("not offered"));

  const std::int64_t rollout = StartRollout();
  ASSERT_EQ(server_.Probe(offered).status, 200);
  const json before = Statistics(rollout);
  // Selected but never offered, or offered another package: refused, statistics untouched.
  EXPECT_EQ(server_.Report(waiting, "error", kUid, "made up").status, 409);
  EXPECT_EQ(server_.Report(waiting, "updated", kUid).status, 409);
  EXPECT_EQ(server_.Report(offered, "error", std::string(64, 'e'), "made up").status, 409);
  EXPECT_EQ(Statistics(rollout), before);
  auto reports = json::parse(server_.Api("GET", "/api/v1/reports").body)["reports"];
  EXPECT_EQ(reports.size(), 0u);
  // The offered device reports as before.
  EXPECT_EQ(server_.Report(offered, "downloading", kUid).status, 200);
  EXPECT_NE(Statistics(rollout), before);
}

TEST_F(DeviceAuthTest, AnInventedDeviceCannotReport) {
  StartRollout();
  auto invented = server_.Report(ServerFixture::DeviceBody("ghost", "0.9"), "updated", kUid);
  EXPECT_EQ(invented.status, 409);
  EXPECT_THAT(invented.body, HasSubstr("unknown device"));
  // ...and is not recorded either.
  EXPECT_EQ(json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"].size(), 0u);
}

TEST_F(DeviceAuthTest, SettingsAreValidatedAndShownWithoutSecrets) {
  auto shown = json::parse(server_.Api("GET", kProductPath).body);
  EXPECT_EQ(shown["device_auth"], "none");
  EXPECT_EQ(shown["enrolment"], "off");
  EXPECT_EQ(Patch({{"device_auth", "password"}}).status, 400);
  EXPECT_EQ(Patch({{"device_auth", 1}}).status, 400);
  EXPECT_EQ(Patch({{"enrolment", "sometimes"}}).status, 400);
  EXPECT_EQ(Patch({{"device_auth", "mtls"}}).status, 400);  // no client CA
  EXPECT_EQ(Patch({{"device_auth", "mtls"}, {"client_ca", "not a pem"}}).status, 400);
  auto product_token = Patch({{"device_auth", "product-token"}});
  EXPECT_EQ(product_token.status, 409);
  EXPECT_THAT(product_token.body, HasSubstr("device-token"));
  // A refused PATCH changes nothing, not even its valid parts.
  EXPECT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "never"}}).status, 400);
  EXPECT_EQ(json::parse(server_.Api("GET", kProductPath).body)["device_auth"], "none");

  auto set = Patch({{"device_auth", "device-token"}, {"enrolment", "manual"}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["device_auth"], "device-token");
  EXPECT_EQ(json::parse(set.body)["enrolment"], "manual");
  // A product token switches a product from none to product-token, and back when dropped.
  ASSERT_EQ(Patch({{"device_auth", "none"}}).status, 200);
  ASSERT_EQ(server_.Api("POST", kProductPath + "/device-token").status, 201);
  EXPECT_EQ(json::parse(server_.Api("GET", kProductPath).body)["device_auth"], "product-token");
  ASSERT_EQ(server_.Api("DELETE", kProductPath + "/device-token").status, 200);
  EXPECT_EQ(json::parse(server_.Api("GET", kProductPath).body)["device_auth"], "none");
}

TEST_F(DeviceAuthTest, PreProvisionedDeviceTokenWorksAndAWrongOneIs401) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}}).status, 200);
  const json device = ServerFixture::DeviceBody("pre1", "0.9");
  auto created =
      server_.Api("POST", kProductPath + "/devices", {{"identity", device["device-identity"]}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string secret = json::parse(created.body)["token"];
  EXPECT_EQ(secret.size(), 64u);
  const auto id = json::parse(created.body)["id"].get<std::int64_t>();
  EXPECT_EQ(
      server_.Api("POST", kProductPath + "/devices", {{"identity", device["device-identity"]}})
          .status,
      409);
  EXPECT_EQ(server_.Api("POST", kProductPath + "/devices", {{"identity", json::object()}}).status,
            400);

  EXPECT_EQ(Probe(device, "").status, 401);
  EXPECT_EQ(Probe(device, kSecretA).status, 401);
  EXPECT_EQ(Probe(device, secret).status, 404);  // known and proved: no update yet
  // An unknown device, enrolment being off.
  EXPECT_EQ(Probe(ServerFixture::DeviceBody("stranger", "0.9"), kSecretA).status, 401);

  const std::string shown = server_.Api("GET", "/api/v1/devices/" + std::to_string(id)).body;
  EXPECT_EQ(json::parse(shown)["auth_state"], "accepted");
  EXPECT_THAT(shown, Not(HasSubstr(TokenHash(secret))));
  EXPECT_THAT(shown, Not(HasSubstr(secret)));

  StartRollout();
  EXPECT_EQ(Download(secret).status, 403);  // not offered yet
  ASSERT_EQ(Probe(device, secret).status, 200);
  EXPECT_EQ(Download(secret).status, 200);
  EXPECT_EQ(Download(kSecretA).status, 401);
  EXPECT_EQ(Download("").status, 401);
  EXPECT_EQ(Report(device, "downloading", "").status, 401);
  EXPECT_EQ(Report(device, "downloading", secret).status, 200);

  // A new secret replaces the old one at once.
  auto rotated = server_.Api("POST", "/api/v1/devices/" + std::to_string(id) + "/token");
  ASSERT_EQ(rotated.status, 201) << rotated.body;
  const std::string renewed = json::parse(rotated.body)["token"];
  EXPECT_EQ(Probe(device, secret).status, 401);
  EXPECT_EQ(Probe(device, renewed).status, 200);
  // The audit log records both calls, never the secrets they answered.
  const std::string audit = server_.Api("GET", "/api/v1/audit?limit=1000").body;
  EXPECT_THAT(audit, HasSubstr("/api/v1/devices/{id}/token"));
  EXPECT_THAT(audit, Not(HasSubstr(secret)));
  EXPECT_THAT(audit, Not(HasSubstr(renewed)));
}

TEST_F(DeviceAuthTest, ASpoofedReportIsRefused) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "auto"}}).status, 200);
  const json victim = ServerFixture::DeviceBody("victim", "0.9");
  const json attacker = ServerFixture::DeviceBody("attacker", "0.9");
  ASSERT_EQ(Probe(victim, kSecretA).status, 404);
  ASSERT_EQ(Probe(attacker, kSecretB).status, 404);
  const std::int64_t rollout = StartRollout();
  ASSERT_EQ(Probe(victim, kSecretA).status, 200);
  const json before = Statistics(rollout);
  // The attacker, with its own valid secret, in the victim's name.
  EXPECT_EQ(Report(victim, "error", kSecretB).status, 401);
  EXPECT_EQ(Report(victim, "updated", "").status, 401);
  // Nor can anyone take over the victim by enrolling it again with another secret.
  EXPECT_EQ(Probe(victim, kSecretB).status, 401);
  EXPECT_EQ(Statistics(rollout), before);
  EXPECT_EQ(Report(victim, "downloading", kSecretA).status, 200);
}

TEST_F(DeviceAuthTest, ManualEnrolmentWaitsForAcceptance) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "manual"}}).status, 200);
  const json device = ServerFixture::DeviceBody("new1", "0.9");
  EXPECT_EQ(Probe(device, "short").status, 401);  // a secret is 64 lowercase hex digits
  auto pending = Probe(device, kSecretA);
  EXPECT_EQ(pending.status, 403);
  EXPECT_EQ(json::parse(pending.body)["error"], "device pending acceptance");
  EXPECT_EQ(Probe(device, kSecretA).status, 403);
  EXPECT_EQ(Probe(device, kSecretB).status, 401);  // the stored secret is never replaced
  const std::int64_t id = DeviceId("new1");
  ASSERT_NE(id, 0);
  const std::string path = "/api/v1/devices/" + std::to_string(id);
  EXPECT_EQ(json::parse(server_.Api("GET", path).body)["auth_state"], "pending");

  auto accepted = server_.Api("POST", path + "/accept");
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body)["auth_state"], "accepted");
  EXPECT_EQ(Probe(device, kSecretA).status, 404);
  StartRollout();
  EXPECT_EQ(Probe(device, kSecretA).status, 200);
  EXPECT_EQ(server_.Api("POST", "/api/v1/devices/999999/accept").status, 404);
}

// A rollout created while a device waits for acceptance leaves it out (it would hold the stage
// back); accepted, it joins at its next probe.
TEST_F(DeviceAuthTest, APendingDeviceIsInNoRolloutUntilAccepted) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "manual"}}).status, 200);
  const json device = ServerFixture::DeviceBody("later1", "0.9");
  ASSERT_EQ(Probe(device, kSecretA).status, 403);
  const std::int64_t rollout = StartRollout();
  auto members = json::parse(
      server_.Api("GET", "/api/v1/rollouts/" + std::to_string(rollout) + "/devices").body);
  EXPECT_TRUE(members["devices"].empty()) << members.dump();
  EXPECT_EQ(Statistics(rollout)["total"], 0) << Statistics(rollout).dump();
  const std::string path = "/api/v1/devices/" + std::to_string(DeviceId("later1"));
  ASSERT_EQ(server_.Api("POST", path + "/accept").status, 200);
  EXPECT_EQ(Probe(device, kSecretA).status, 200);
  members = json::parse(
      server_.Api("GET", "/api/v1/rollouts/" + std::to_string(rollout) + "/devices").body);
  EXPECT_EQ(members["devices"].size(), 1u) << members.dump();
}

TEST_F(DeviceAuthTest, AutoEnrolmentAcceptsAtOnce) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "auto"}}).status, 200);
  const json device = ServerFixture::DeviceBody("auto1", "0.9");
  EXPECT_EQ(Probe(device, "").status, 401);  // enrolment needs the device's secret
  EXPECT_EQ(Probe(device, kSecretA).status, 404);
  EXPECT_EQ(Probe(device, kSecretA).status, 404);
  EXPECT_EQ(Probe(device, "").status, 401);
  EXPECT_EQ(json::parse(server_.Api("GET", "/api/v1/devices/" + std::to_string(DeviceId("auto1")))
                            .body)["auth_state"],
            "accepted");
}

TEST_F(DeviceAuthTest, ARejectedDeviceIsRefusedUntilAccepted) {
  ASSERT_EQ(Patch({{"device_auth", "device-token"}, {"enrolment", "manual"}}).status, 200);
  const json device = ServerFixture::DeviceBody("bad1", "0.9");
  ASSERT_EQ(Probe(device, kSecretA).status, 403);
  const std::string path = "/api/v1/devices/" + std::to_string(DeviceId("bad1"));
  ASSERT_EQ(server_.Api("POST", path + "/reject").status, 200);
  for (int i = 0; i < 2; ++i) {
    auto refused = Probe(device, kSecretA);
    EXPECT_EQ(refused.status, 403);
    EXPECT_THAT(refused.body, HasSubstr("rejected"));
  }
  ASSERT_EQ(server_.Api("POST", path + "/accept").status, 200);
  EXPECT_EQ(Probe(device, kSecretA).status, 404);
}

// A database from before device authentication modes: its product with a device token asks
// for it still (product-token), the product without stays open (none).
TEST(DeviceAuthMigrationTest, AnOldProductTokenProductKeepsItsToken) {
  ServerFixture server;
  server.Stop();
  const auto db_path = server.config().data_dir / "updatehub.db";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(db_path.string() + suffix);
  }
  const std::string token(64, 'c');
  const std::string open_uid(64, 'd');
  {
    auto db = sqlite::Connection::Open(db_path, sqlite::Connection::Role::kWriter);
    ASSERT_TRUE(db) << db.error().message();
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, sqlite::EmbeddedMigrations().first(7)));
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO products (uid, name, created_at, device_token_hash) VALUES"
        " ('" +
        std::string(kConformanceProduct) +
        "', 'guarded', "
        "'2026-01-01T00:00:00Z', '" +
        TokenHash(token) + "'), ('" + open_uid + "', 'open', '2026-01-01T00:00:00Z', '')"));
  }
  server.Start();
  EXPECT_EQ(json::parse(server.Api("GET", kProductPath).body)["device_auth"], "product-token");
  EXPECT_EQ(json::parse(server.Api("GET", "/api/v1/products/" + open_uid).body)["device_auth"],
            "none");
  const json device = ServerFixture::DeviceBody("old1", "0.9");
  EXPECT_EQ(server.Probe(device).status, 401);
  FetchOptions with_token = DeviceRequest(device, "");
  with_token.headers.push_back("UH-Product-Token: " + token);
  EXPECT_EQ(Fetch(server.Url("/upgrades"), with_token).status, 404);
  EXPECT_EQ(server.Probe(ServerFixture::DeviceBody("old2", "0.9", "board-a", open_uid)).status,
            404);
}

// --- mtls ----------------------------------------------------------------------------------

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

struct Credentials {
  KeyPtr key;
  CertPtr cert;
};

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(extension, nullptr) << value;
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A P-256 key and its certificate for `cn`, signed by `issuer` (self-signed without one).
// `usage` is "ca", "server" or "client"; `san` an extra subjectAltName ("" for none).
Credentials Issue(const std::string& cn, const Credentials* issuer, const std::string& usage,
                  const std::string& san = "") {
  static long serial = 1;
  Credentials out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  X509_set_pubkey(cert, out.key.get());
  if (usage == "ca") {
    AddExtension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert, signer, NID_ext_key_usage, usage == "server" ? "serverAuth" : "clientAuth");
  }
  if (!san.empty()) AddExtension(cert, signer, NID_subject_alt_name, san.c_str());
  X509_sign(cert, issuer != nullptr ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

std::string ToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

void WritePem(const Credentials& credentials, const std::filesystem::path& cert,
              const std::filesystem::path& key) {
  uh::testing::WriteFile(cert, ToPem(credentials.cert.get()));
  FILE* file = std::fopen(key.c_str(), "w");
  ASSERT_NE(file, nullptr);
  PEM_write_PrivateKey(file, credentials.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// A request with a client certificate (none when `cert` is empty); the status, 0 on failure.
FetchResult FetchAs(const std::string& url, const std::filesystem::path& ca,
                    const std::filesystem::path& cert, const std::filesystem::path& key,
                    const std::optional<json>& body) {
  FetchResult result;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string text = body ? body->dump() : "";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  if (!cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, key.c_str());
  }
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (const CURLcode code = curl_easy_perform(curl); code != CURLE_OK) {
    result.error = curl_easy_strerror(code);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

class MtlsTest : public DeviceAuthTest {
 protected:
  void SetUp() override {
    const auto& dir = server_.dir;
    Credentials server_ca = Issue("server CA", nullptr, "ca");
    Credentials server_cert = Issue("127.0.0.1", &server_ca, "server", "IP:127.0.0.1");
    WritePem(server_ca, dir / "server-ca.pem", dir / "server-ca.key");
    WritePem(server_cert, dir / "server.pem", dir / "server.key");
    device_ca_ = Issue("device CA", nullptr, "ca");
    Credentials other_ca = Issue("other CA", nullptr, "ca");
    WritePem(Issue("m1", &device_ca_, "client"), dir / "m1.pem", dir / "m1.key");
    WritePem(Issue("m2", &device_ca_, "client"), dir / "m2.pem", dir / "m2.key");
    WritePem(Issue("m1", &other_ca, "client"), dir / "m1-other.pem", dir / "m1-other.key");
    // A device of two identity keys is named by its canonical identity.
    WritePem(Issue(R"({"mac": "02:00", "serial": "m3"})", &device_ca_, "client"), dir / "m3.pem",
             dir / "m3.key");
    // Or by a subjectAltName: a URI, here.
    WritePem(Issue("someone", &device_ca_, "client", "URI:urn:dev:m4"), dir / "m4.pem",
             dir / "m4.key");
    server_.Stop();
    server_.config().tls_certificate = dir / "server.pem";
    server_.config().tls_private_key = dir / "server.key";
    server_.tls_ca = dir / "server-ca.pem";
    server_.Start();
    DeviceAuthTest::SetUp();
    auto set = Patch({{"device_auth", "mtls"}, {"client_ca", ToPem(device_ca_.cert.get())}});
    ASSERT_EQ(set.status, 200) << set.body;
  }

  static json Device(const std::string& serial) {
    json device = ServerFixture::DeviceBody(serial, "0.9");
    device["device-identity"] = {{"serial", serial}};
    return device;
  }
  FetchResult As(const std::string& who, const std::string& path, const std::optional<json>& body) {
    const auto& dir = server_.dir;
    if (who.empty()) return FetchAs(server_.Url(path), dir / "server-ca.pem", "", "", body);
    return FetchAs(server_.Url(path), dir / "server-ca.pem", dir / (who + ".pem"),
                   dir / (who + ".key"), body);
  }

  Credentials device_ca_;
};

TEST_F(MtlsTest, OnlyTheDevicesOwnCertificateFromTheProductsCaIsAccepted) {
  const json m1 = Device("m1");
  auto good = As("m1", "/upgrades", m1);
  EXPECT_EQ(good.status, 404) << good.body << good.error;  // proved: no update yet
  auto foreign = As("m1-other", "/upgrades", m1);
  EXPECT_EQ(foreign.status, 401) << foreign.body << foreign.error;
  EXPECT_THAT(foreign.body, HasSubstr("does not verify"));
  auto other_device = As("m2", "/upgrades", m1);
  EXPECT_EQ(other_device.status, 403) << other_device.body << other_device.error;
  auto none = As("", "/upgrades", m1);
  EXPECT_EQ(none.status, 401) << none.body << none.error;
  EXPECT_THAT(none.body, HasSubstr("client certificate"));

  json m3 = Device("m3");
  m3["device-identity"] = {{"serial", "m3"}, {"mac", "02:00"}};
  EXPECT_EQ(As("m3", "/upgrades", m3).status, 404);
  EXPECT_EQ(As("m1", "/upgrades", m3).status, 403);
  EXPECT_EQ(As("m4", "/upgrades", Device("urn:dev:m4")).status, 404);

  StartRollout();
  ASSERT_EQ(As("m1", "/upgrades", m1).status, 200);
  const std::string object =
      std::string("/products/") + kConformanceProduct + "/packages/" + kUid + "/objects/" + kRootfs;
  EXPECT_EQ(As("m1", object, std::nullopt).status, 200);
  EXPECT_EQ(As("", object, std::nullopt).status, 401);
  EXPECT_EQ(As("m1-other", object, std::nullopt).status, 401);
  EXPECT_EQ(As("m2", "/report", ReportBody(m1, "downloading", kUid)).status, 403);
  EXPECT_EQ(As("", "/report", ReportBody(m1, "downloading", kUid)).status, 401);
  EXPECT_EQ(As("m1", "/report", ReportBody(m1, "downloading", kUid)).status, 200);
}

TEST_F(DeviceAuthTest, MtlsWithoutTlsRefusesEveryDevice) {
  Credentials ca = Issue("device CA", nullptr, "ca");
  ASSERT_EQ(Patch({{"device_auth", "mtls"}, {"client_ca", ToPem(ca.cert.get())}}).status, 200);
  auto refused = server_.Probe(ServerFixture::DeviceBody("plain", "0.9"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, HasSubstr("TLS"));
  // A leaf certificate is not a CA.
  Credentials leaf = Issue("leaf", &ca, "client");
  EXPECT_EQ(Patch({{"client_ca", ToPem(leaf.cert.get())}}).status, 400);
}

}  // namespace
}  // namespace uh::server::testing
