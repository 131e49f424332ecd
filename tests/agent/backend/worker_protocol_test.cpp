// What crosses between the daemon and updatehub-worker: every message round-trips unchanged, and
// a message that is not what it should be is a kMalformed error, never an exception.

#include "agent/backend/worker_protocol.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"

namespace uh::agent::worker {
namespace {

using nlohmann::json;

TEST(WorkerProtocol, ServerOptionsRoundTrip) {
  ClientOptions options;
  options.server_url = "https://example.com:8443/base";
  options.ca_file = "/etc/ssl/custom.pem";
  options.product_token = "token";
  options.connect_timeout = std::chrono::milliseconds(1234);
  options.low_speed_limit = 7;
  options.low_speed_time = std::chrono::seconds(9);
  options.request_timeout = std::chrono::milliseconds(4321);
  options.user_agent = "ua";
  options.max_metadata_bytes = 99;
  options.download_min_rate = 1234;
  options.download_time_allowance = std::chrono::milliseconds(5678);
  options.device_token = std::string(64, 'f');
  options.client_certificate = "/etc/updatehub/device.crt";
  options.client_key = "/etc/updatehub/device.key";
  auto back = ClientOptionsFrom(json::parse(DumpJson(ToJson(options))));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->server_url, options.server_url);
  EXPECT_EQ(back->ca_file, options.ca_file);
  EXPECT_EQ(back->product_token, options.product_token);
  EXPECT_EQ(back->connect_timeout, options.connect_timeout);
  EXPECT_EQ(back->low_speed_limit, 7u);
  EXPECT_EQ(back->low_speed_time, std::chrono::seconds(9));
  EXPECT_EQ(back->request_timeout, options.request_timeout);
  EXPECT_EQ(back->user_agent, "ua");
  EXPECT_EQ(back->max_metadata_bytes, 99u);
  // Every field, including those added later: ToJson and ClientOptionsFrom stay symmetric.
  EXPECT_EQ(*back, options);

  auto plain = ClientOptionsFrom(ToJson(ClientOptions{.server_url = "http://x"}));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->ca_file);
  EXPECT_FALSE(plain->product_token);
  EXPECT_FALSE(plain->device_token);
  EXPECT_FALSE(plain->client_certificate);
  EXPECT_FALSE(plain->client_key);
  EXPECT_EQ(*plain, ClientOptions{.server_url = "http://x"});
}

TEST(WorkerProtocol, EveryProbeAnswerRoundTrips) {
  auto none = ProbeResultFrom(ToJson(ProbeResult(NoUpdate{})));
  ASSERT_TRUE(none);
  EXPECT_TRUE(std::holds_alternative<NoUpdate>(*none));

  auto extra = ProbeResultFrom(ToJson(ProbeResult(ExtraPoll{42})));
  ASSERT_TRUE(extra);
  EXPECT_EQ(std::get<ExtraPoll>(*extra).seconds, 42);

  UpdateOffer offer{.metadata = R"({"product": "p"})", .signature = "c2ln", .package_uid = "ab"};
  auto update = ProbeResultFrom(json::parse(DumpJson(ToJson(ProbeResult(offer)))));
  ASSERT_TRUE(update);
  const auto& back = std::get<UpdateOffer>(*update);
  EXPECT_EQ(back.metadata, offer.metadata);
  EXPECT_EQ(back.signature, offer.signature);
  EXPECT_EQ(back.package_uid, "ab");

  offer.signature.reset();
  auto unsigned_offer = ProbeResultFrom(ToJson(ProbeResult(offer)));
  ASSERT_TRUE(unsigned_offer);
  EXPECT_FALSE(std::get<UpdateOffer>(*unsigned_offer).signature);
}

TEST(WorkerProtocol, DownloadsContextsTargetsAndPackagesRoundTrip) {
  ObjectDownload download{"p", "u", "s", 123, "/data/dl/s"};
  download.stream = ObjectDownload::Stream{4096, "/data/dl/s.streamed", 77};
  auto back = ObjectDownloadFrom(json::parse(DumpJson(ToJson(download))));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->product_uid, "p");
  EXPECT_EQ(back->package_uid, "u");
  EXPECT_EQ(back->sha256, "s");
  EXPECT_EQ(back->size, 123u);
  EXPECT_EQ(back->dest, "/data/dl/s");
  ASSERT_TRUE(back->stream);
  EXPECT_EQ(back->stream->offset, 4096u);
  EXPECT_EQ(back->stream->progress_file, "/data/dl/s.streamed");
  EXPECT_EQ(back->stream->checkpoint_bytes, 77u);
  download.stream.reset();
  EXPECT_FALSE(ObjectDownloadFrom(ToJson(download))->stream);

  InstallContext ctx;
  ctx.object_file = "/dl/obj";
  ctx.target_root = "/sim/root";
  ctx.work_dir = "/dl/work";
  ctx.tool_path = "/bin";
  ctx.tool_timeout = std::chrono::milliseconds(500);
  ctx.active_set = 1;
  auto ctx_back = InstallContextFrom(ToJson(ctx));
  ASSERT_TRUE(ctx_back);
  EXPECT_EQ(ctx_back->object_file, ctx.object_file);
  EXPECT_EQ(ctx_back->target_root, ctx.target_root);
  EXPECT_EQ(ctx_back->work_dir, ctx.work_dir);
  EXPECT_EQ(ctx_back->tool_path, "/bin");
  EXPECT_EQ(ctx_back->tool_timeout, ctx.tool_timeout);
  EXPECT_EQ(ctx_back->active_set, 1);
  ctx.active_set.reset();
  EXPECT_FALSE(InstallContextFrom(ToJson(ctx))->active_set);

  auto target = StreamTargetFrom(ToJson(StreamTarget{"/dev/mmcblk0p2", "/sim/dev/x", 512}));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->device, "/dev/mmcblk0p2");
  EXPECT_EQ(target->path, "/sim/dev/x");
  EXPECT_EQ(target->offset, 512u);

  auto package = UnpackedPackageFrom(ToJson(UnpackedPackage{"{}", "sig", "uid"}));
  ASSERT_TRUE(package);
  EXPECT_EQ(package->metadata, "{}");
  EXPECT_EQ(package->signature, "sig");
  EXPECT_EQ(package->package_uid, "uid");

  auto report = ReportRequestFrom(
      ToJson(ReportRequest{"error", "uid", "installing", "it broke", "log lines"}));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->status, "error");
  EXPECT_EQ(report->previous_state, "installing");
  EXPECT_EQ(report->error_message, "it broke");
  EXPECT_EQ(report->current_log, "log lines");
}

TEST(WorkerProtocol, ErrorsKeepTheirCodeAndMessage) {
  for (auto code : {Errc::kInvalidArgument, Errc::kSignature, Errc::kNoSpace, Errc::kCancelled,
                    Errc::kInternal}) {
    auto back = ErrorFrom(ToJson(uh::Error(code, "what happened")));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->code(), code);
    EXPECT_EQ(back->message(), "what happened");
  }
  auto unknown = ErrorFrom(json{{"code", 999}, {"message", "x"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::kMalformed);
}

TEST(WorkerProtocol, MalformedMessagesAreErrorsNotExceptions) {
  const std::vector<json> bad = {json(nullptr),
                                 json(42),
                                 json::array(),
                                 json::object(),
                                 json{{"kind", "update"}},
                                 json{{"kind", "maybe"}},
                                 json{{"kind", 7}}};
  for (const auto& message : bad) {
    auto probe = ProbeResultFrom(message);
    ASSERT_FALSE(probe) << message;
    EXPECT_EQ(probe.error().code(), Errc::kMalformed);
    EXPECT_FALSE(ClientOptionsFrom(message)) << message;
    EXPECT_FALSE(ObjectDownloadFrom(message)) << message;
    EXPECT_FALSE(InstallContextFrom(message)) << message;
    EXPECT_FALSE(StreamTargetFrom(message)) << message;
    EXPECT_FALSE(UnpackedPackageFrom(message)) << message;
    EXPECT_FALSE(ReportRequestFrom(message)) << message;
    EXPECT_FALSE(ErrorFrom(message)) << message;
  }
  EXPECT_FALSE(StreamTargetFrom(json{{"device", "d"}, {"path", "p"}, {"offset", "12"}}));
}

TEST(WorkerProtocol, TextThatIsNotUtf8IsReplacedNotThrown) {
  const std::string line = DumpJson(json{{"msg", std::string("bad \xff byte", 10)}});
  EXPECT_NE(line.find("bad "), std::string::npos);
  EXPECT_TRUE(json::accept(line));
}

}  // namespace
}  // namespace uh::agent::worker
