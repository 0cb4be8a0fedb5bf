// Micro-benchmarks of the functions every inbound request runs through:
//   key check (shape + CRC32 checksum), SHA-256 of the key, in-memory index lookup;
//   JSON parse + event validation and normalization;
//   the one JSON error builder (the 401 path's body).
// Run: build-release/bench/cc_micro_bench  (bench/run.sh runs it and records the figures)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/auth/api_key.hpp"
#include "cc/events/event_validator.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/web/message.hpp"
#include "cc/keys/key_registry.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/crypto.hpp"
#include "cc/util/random.hpp"
#include "support/lcg_random.hpp"

namespace {

using namespace cc;

/// @brief Deterministic randomness, so every run benchmarks the same keys.
constexpr std::uint64_t bench_seed = 42;

/// @brief A registry holding `n` keys of one domain, plus the full values of those keys.
struct loaded_registry {
    keys::key_registry registry;
    std::vector<std::string> values;

    explicit loaded_registry(std::size_t n) {
        cc::testing::lcg_random random(bench_seed);
        std::vector<storage::domain_record> domains{{"bench.example.com", "command", 0}};
        std::vector<storage::key_record> records;
        records.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto key = auth::generate_api_key(random);
            storage::key_record r;
            r.id = "key_" + std::to_string(i);
            r.domain = "bench.example.com";
            r.name = "k";
            r.prefix = key.prefix;
            r.hash.assign(reinterpret_cast<const char*>(key.hash.data()), key.hash.size());
            r.status = "active";
            records.push_back(std::move(r));
            values.push_back(std::move(key.value));
        }
        registry.replace_all(domains, records);
    }
};

// ------------------------------------------------------------------ key path

void BM_KeyWellFormed(benchmark::State& state) {
    cc::testing::lcg_random random(bench_seed);
    const auto key = auth::generate_api_key(random).value;
    for (auto _ : state) benchmark::DoNotOptimize(auth::is_well_formed_api_key(key));
}
BENCHMARK(BM_KeyWellFormed);

void BM_KeyBadChecksum(benchmark::State& state) {
    cc::testing::lcg_random random(bench_seed);
    auto key = auth::generate_api_key(random).value;
    key.back() = key.back() == 'A' ? 'B' : 'A';
    for (auto _ : state) benchmark::DoNotOptimize(auth::is_well_formed_api_key(key));
}
BENCHMARK(BM_KeyBadChecksum);

void BM_KeySha256(benchmark::State& state) {
    cc::testing::lcg_random random(bench_seed);
    const auto key = auth::generate_api_key(random).value;
    for (auto _ : state) benchmark::DoNotOptimize(util::sha256(key));
}
BENCHMARK(BM_KeySha256);

void BM_RegistryFind(benchmark::State& state) {
    loaded_registry loaded(static_cast<std::size_t>(state.range(0)));
    std::vector<util::sha256_digest> hashes;
    for (const auto& v : loaded.values) hashes.push_back(util::sha256(v));
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(loaded.registry.find(hashes[i]));
        if (++i == hashes.size()) i = 0;
    }
}
BENCHMARK(BM_RegistryFind)->Arg(1)->Arg(10'000)->Arg(100'000);

/// The whole authentication step of a request: shape + checksum, SHA-256, lookup.
void BM_KeyParseChecksumHashLookup(benchmark::State& state) {
    loaded_registry loaded(static_cast<std::size_t>(state.range(0)));
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& key = loaded.values[i];
        if (++i == loaded.values.size()) i = 0;
        if (!auth::is_well_formed_api_key(key)) state.SkipWithError("bad key");
        benchmark::DoNotOptimize(loaded.registry.find(util::sha256(key)));
    }
}
BENCHMARK(BM_KeyParseChecksumHashLookup)->Arg(1)->Arg(10'000)->Arg(100'000);

/// The 401 path's lookup: well-formed key that is not in the index.
void BM_UnknownKeyLookup(benchmark::State& state) {
    loaded_registry loaded(10'000);
    cc::testing::lcg_random other(7);  // another seed: keys the registry never saw
    const auto unknown = auth::generate_api_key(other).value;
    if (loaded.registry.find(util::sha256(unknown))) state.SkipWithError("key unexpectedly known");
    for (auto _ : state) {
        benchmark::DoNotOptimize(auth::is_well_formed_api_key(unknown));
        benchmark::DoNotOptimize(loaded.registry.find(util::sha256(unknown)));
    }
}
BENCHMARK(BM_UnknownKeyLookup);

// ------------------------------------------------------------------ event path

const std::string single_event_body =
    R"({"event":"purchase","event_id":"bench-000001-00000001","email":"Customer@Example.com ",)"
    R"("phone":"+1 (415) 555-0100","value":99.99,"currency":"usd","properties":{"plan":"pro","seats":3}})";

const std::string minimal_event_body = R"({"event":"lead","external_id":"crm-12345"})";

util::millis bench_now() {
    return util::system_clock().now_ms();
}

void BM_ReadJson(benchmark::State& state) {
    std::string error;
    for (auto _ : state) benchmark::DoNotOptimize(events::read_json(single_event_body, error));
}
BENCHMARK(BM_ReadJson);

void BM_ValidateEvent(benchmark::State& state) {
    std::string error;
    const auto doc = events::read_json(single_event_body, error);
    const auto it = doc->value_texts.find("/value");
    const std::string* value_text = it == doc->value_texts.end() ? nullptr : &it->second;
    const auto now = bench_now();
    for (auto _ : state) {
        auto result = events::validate_event(doc->root, value_text, single_event_body, now);
        if (!result.ok()) state.SkipWithError("event rejected");
        benchmark::DoNotOptimize(result);
    }
}
BENCHMARK(BM_ValidateEvent);

/// Parse + validate + normalize, as receive_one does it (full event with email, phone, value).
void BM_ParseAndValidateEvent(benchmark::State& state) {
    const auto now = bench_now();
    for (auto _ : state) {
        std::string error;
        auto doc = events::read_json(single_event_body, error);
        const auto it = doc->value_texts.find("/value");
        auto result = events::validate_event(doc->root, it == doc->value_texts.end() ? nullptr : &it->second,
                                             single_event_body, now);
        benchmark::DoNotOptimize(result);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * single_event_body.size()));
}
BENCHMARK(BM_ParseAndValidateEvent);

void BM_ParseAndValidateMinimalEvent(benchmark::State& state) {
    const auto now = bench_now();
    for (auto _ : state) {
        std::string error;
        auto doc = events::read_json(minimal_event_body, error);
        auto result = events::validate_event(doc->root, nullptr, minimal_event_body, now);
        benchmark::DoNotOptimize(result);
    }
}
BENCHMARK(BM_ParseAndValidateMinimalEvent);

/// A batch of 100 events: parse once, then validate each element with its re-serialized raw,
/// as receive_batch does. Reported per batch; items/s counts events.
void BM_ParseAndValidateBatch100(benchmark::State& state) {
    std::string body = R"({"events":[)";
    for (int i = 0; i < 100; ++i) {
        if (i) body += ',';
        body += R"({"event":"purchase","event_id":"b-)" + std::to_string(i) +
                R"(","email":"user)" + std::to_string(i) + R"(@example.com","value":12.5,"currency":"EUR"})";
    }
    body += "]}";
    const auto now = bench_now();
    for (auto _ : state) {
        std::string error;
        auto doc = events::read_json(body, error);
        const auto& list = doc->root["events"];
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto it = doc->value_texts.find("/events/" + std::to_string(i) + "/value");
            auto result = events::validate_event(list[i], it == doc->value_texts.end() ? nullptr : &it->second,
                                                 list[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                                 now);
            benchmark::DoNotOptimize(result);
        }
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ParseAndValidateBatch100);

// ------------------------------------------------------------------ responses

void BM_ErrorResponse401(benchmark::State& state) {
    const util::failure failure{util::error_code::invalid_api_key, "The API key is not valid.", {}};
    const std::string request_id = "req_0123456789abcdefABCDEF";
    for (auto _ : state) benchmark::DoNotOptimize(web::error_response(request_id, 11, failure));
}
BENCHMARK(BM_ErrorResponse401);

void BM_ErrorResponseValidation(benchmark::State& state) {
    const auto failure = util::validation_failure({{"currency", "is required when value is present"},
                                                    {"identifier", "at least one of email, phone, external_id, click_id is required"},
                                                    {"event", "is required"}});
    const std::string request_id = "req_0123456789abcdefABCDEF";
    for (auto _ : state) benchmark::DoNotOptimize(web::error_response(request_id, 11, failure));
}
BENCHMARK(BM_ErrorResponseValidation);

void BM_StatusFor(benchmark::State& state) {
    const auto code = util::error_code::invalid_api_key;
    for (auto _ : state) benchmark::DoNotOptimize(web::status_for(code));
}
BENCHMARK(BM_StatusFor);

/// The 202 body, as inbound_api builds it.
void BM_AcceptedResponse(benchmark::State& state) {
    const std::string event_id = "evt_0123456789abcdefABCDEFGH";
    for (auto _ : state) {
        benchmark::DoNotOptimize(web::json_response(web::bhttp::status::accepted,
                                                    {{"status", "accepted"}, {"event_id", event_id}}, 11));
    }
}
BENCHMARK(BM_AcceptedResponse);

}  // namespace

BENCHMARK_MAIN();
