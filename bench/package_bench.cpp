// Micro-benchmarks of the package library's hot paths: hashing object bytes, parsing and
// re-serialising metadata, and checking a signature. The inputs are the test packages this build
// makes in the shape of upstream's (UH_TEST_PACKAGES_DIR is set by bench/CMakeLists.txt), so the
// figures are for real metadata, not a synthetic document.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "core/hash.hpp"
#include "core/json.hpp"
#include "package/metadata.hpp"
#include "package/package_reader.hpp"
#include "package/signature.hpp"

namespace {

const std::filesystem::path kTestPackagesDir = UH_TEST_PACKAGES_DIR;

// Reads a file of the test packages, or marks the benchmark as failed; returns false in that case.
bool ReadInput(benchmark::State& state, const std::string& name, std::string& out) {
  auto text = uh::ReadFileLimited(kTestPackagesDir / name, 1024 * 1024);
  if (!text) {
    state.SkipWithError(text.error().message().c_str());
    return false;
  }
  out = std::move(*text);
  return true;
}

void BM_Sha256(benchmark::State& state) {
  std::vector<std::byte> buffer(static_cast<std::size_t>(state.range(0)));
  std::mt19937 random(42);
  for (auto& b : buffer) b = static_cast<std::byte>(random());
  for (auto _ : state) {
    uh::Sha256 hash;
    hash.Update(buffer);
    benchmark::DoNotOptimize(hash.HexDigest());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 20);

void BM_ParseMetadata(benchmark::State& state) {
  std::string bytes;
  if (!ReadInput(state, "signed.metadata.json", bytes)) return;
  for (auto _ : state) {
    auto metadata = uh::package::ParseMetadata(bytes);
    if (!metadata) {
      state.SkipWithError(metadata.error().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(metadata);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseMetadata);

void BM_PythonJsonDumps(benchmark::State& state) {
  std::string bytes;
  if (!ReadInput(state, "signed.metadata.json", bytes)) return;
  auto json = uh::ParseJson(bytes);
  if (!json) {
    state.SkipWithError(json.error().message().c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(uh::PythonJsonDumps(*json));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_PythonJsonDumps);

void BM_VerifyBase64(benchmark::State& state) {
  std::string pem;
  if (!ReadInput(state, "key.pub", pem)) return;
  auto key = uh::package::PublicKey::FromPem(pem);
  auto pkg = uh::package::PackageReader::Open(kTestPackagesDir / "signed.uhupkg");
  if (!key || !pkg) {
    state.SkipWithError(!key ? key.error().message().c_str() : pkg.error().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto verified = key->VerifyBase64(pkg->metadata_bytes(), pkg->signature());
    if (!verified) {
      state.SkipWithError(verified.error().message().c_str());
      return;
    }
  }
}
BENCHMARK(BM_VerifyBase64);

}  // namespace

BENCHMARK_MAIN();
