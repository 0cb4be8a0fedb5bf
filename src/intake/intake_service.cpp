#include "cc/intake/intake_service.hpp"

#include <memory>

#include "cc/auth/api_key.hpp"
#include "cc/events/event_validator.hpp"
#include "cc/events/form_decoder.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/events/json_slices.hpp"
#include "cc/keys/domain_name.hpp"
#include "cc/ops/metrics.hpp"

namespace cc::intake {
namespace {

using util::failure;

failure auth_failure(const char* code, std::string message) {
    ops::global_metrics().auth_failures.inc({code});
    return {code, std::move(message), {}};
}

failure unavailable() {
    return {"unavailable", "Storage is unavailable or busy; nothing was stored. Retry shortly.", {}, 1};
}

std::string lower_trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    std::string out;
    for (char c : text) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

failure unsupported_media_type(bool form_allowed) {
    return {"unsupported_media_type",
            form_allowed ? "Send Content-Type: application/json or application/x-www-form-urlencoded."
                         : "Send Content-Type: application/json.",
            {}};
}

}  // namespace

std::optional<std::string> media_kind(const std::string& content_type) {
    // Parameters (charset and others) do not change the type; the body must be UTF-8
    // whatever they say, and the readers check that.
    const auto type = lower_trimmed(std::string_view(content_type).substr(0, content_type.find(';')));
    if (type == "application/json") return "json";
    if (type == "application/x-www-form-urlencoded") return "form";
    return std::nullopt;
}

intake_service::intake_service(keys::key_registry& registry, event_writer& writer, const util::clock& clock,
                               util::random_source& random, std::map<std::string, config::rate_limit> rate_limits)
    : registry_(registry), writer_(writer), clock_(clock), random_(random), rate_limits_(std::move(rate_limits)) {}

std::string intake_service::new_event_id() {
    return "evt_" + util::random_base62(random_, 24);
}

util::outcome<intake_service::authorized> intake_service::admit(const inbound_call& call) {
    // Fail closed: a key index that may be out of date could accept a revoked key.
    if (index_fresh_ && !index_fresh_()) {
        return failure{"unavailable", "This node cannot confirm its key index is current; nothing was stored. Retry shortly.",
                       {}, 1};
    }
    if (!call.api_key) {
        return auth_failure("missing_api_key", "The X-CC-Api-Key header is required.");
    }
    // Shape and checksum first: a malformed key never reaches the index.
    if (!auth::is_well_formed_api_key(*call.api_key)) {
        return auth_failure("invalid_api_key", "The API key is not valid.");
    }
    auto found = registry_.find(util::sha256(*call.api_key));
    if (!found) {
        return auth_failure("invalid_api_key", "The API key is not valid.");
    }
    const auto now = clock_.now_ms();
    const auto& state = *found->state;
    if (call.on_identified) call.on_identified(state);
    if (state.revoked) {
        return auth_failure("revoked_api_key", "The API key " + state.prefix + "... has been revoked.");
    }
    if (state.expires_at && *state.expires_at <= now) {
        return auth_failure("expired_api_key", "The API key " + state.prefix + "... has expired.");
    }
    // A request addressed to a registered domain (D or cleanclicks.D) must use that domain's key.
    const auto host = keys::host_without_port(call.host);
    std::optional<std::string> addressed;
    if (registry_.has_domain(host)) {
        addressed = host;
    } else if (host.starts_with("cleanclicks.") && registry_.has_domain(host.substr(12))) {
        addressed = host.substr(12);
    }
    if (addressed && *addressed != state.domain) {
        return auth_failure("domain_mismatch", "This key belongs to another domain than the request's host.");
    }
    const auto limit = rate_limits_.find(found->plan);
    if (limit != rate_limits_.end()) {
        util::millis retry_ms = 0;
        bool allowed;
        {
            std::lock_guard lock(found->usage->mutex);
            allowed = found->usage->bucket.try_take(limit->second.per_second, limit->second.burst, now, retry_ms);
        }
        if (!allowed) {
            ops::global_metrics().rate_limited.inc({found->plan});
            const int seconds = static_cast<int>(std::max<util::millis>(1, (retry_ms + 999) / 1000));
            return failure{"rate_limited", "Too many requests for this key; retry after " + std::to_string(seconds) + " s.", {}, seconds};
        }
    }
    return authorized{std::move(*found), now};
}

void intake_service::receive_one(inbound_call call, reply<event_receipt> done) {
    auto admitted = admit(call);
    if (!admitted.ok()) return done(admitted.error());
    const auto kind = media_kind(call.content_type);
    if (!kind) return done(unsupported_media_type(true));

    auto& metrics = ops::global_metrics();
    std::string error;
    events::validation_result result;
    if (*kind == "json") {
        auto doc = events::read_json(call.body, error);
        if (!doc) {
            metrics.events.inc({"rejected"});
            return done(failure{"invalid_json", "The body is not valid JSON: " + error, {}});
        }
        const auto text = doc->value_texts.find("/value");
        result = events::validate_event(doc->root, text == doc->value_texts.end() ? nullptr : &text->second,
                                        std::move(call.body), admitted.value().now);
    } else {
        auto form = events::decode_form(call.body, error);
        if (!form) {
            metrics.events.inc({"rejected"});
            return done(failure{"invalid_json", "The form body cannot be decoded: " + error, {}});
        }
        result = events::validate_event(*form, nullptr, std::move(call.body), admitted.value().now);
    }
    if (!result.ok()) {
        metrics.events.inc({"rejected"});
        return done(util::validation_failure(std::move(result.problems)));
    }
    auto& event = *result.value;
    if (!event.event_id) event.event_id = new_event_id();
    const auto event_id = *event.event_id;

    const auto& key = admitted.value().key;
    write_request request{key.state->domain, key.state->id, admitted.value().now, {}};
    request.events.push_back(std::move(event));
    auto usage = key.usage;
    auto ip = call.client_ip;
    const auto now = admitted.value().now;
    const bool queued = writer_.submit(std::move(request), [done, event_id, usage, ip, now](auto outcomes) {
        auto& metrics = ops::global_metrics();
        if (!outcomes) return done(unavailable());
        keys::key_registry::touch(*usage, now, ip);
        const bool duplicate = (*outcomes)[0] == storage::insert_outcome::duplicate;
        metrics.events.inc({duplicate ? "duplicate" : "accepted"});
        done(event_receipt{duplicate ? "duplicate" : "accepted", event_id});
    });
    if (!queued) done(unavailable());
}

void intake_service::receive_batch(inbound_call call, reply<batch_receipt> done) {
    auto admitted = admit(call);
    if (!admitted.ok()) return done(admitted.error());
    const auto kind = media_kind(call.content_type);
    if (!kind || *kind != "json") return done(unsupported_media_type(false));

    std::string error;
    auto doc = events::read_json(call.body, error);
    if (!doc) return done(failure{"invalid_json", "The body is not valid JSON: " + error, {}});
    const auto& root = doc->root;
    const auto events_field = root.is_object() ? root.find("events") : root.end();
    if (!root.is_object() || events_field == root.end() || !events_field->is_array() || events_field->empty() ||
        events_field->size() > max_batch_events) {
        return done(util::validation_failure(
            {{"events", "must be an array of 1 to " + std::to_string(max_batch_events) + " events"}}));
    }

    auto& metrics = ops::global_metrics();
    const auto now = admitted.value().now;
    auto receipt = std::make_shared<batch_receipt>();
    receipt->results.resize(events_field->size());
    const auto& key = admitted.value().key;
    write_request request{key.state->domain, key.state->id, now, {}};
    std::vector<std::size_t> stored_index;  // request.events[i] is batch element stored_index[i]
    // Each event keeps its own bytes as sent; re-serializing is the fallback only.
    const auto texts = events::array_element_texts(call.body, "events");
    for (std::size_t i = 0; i < events_field->size(); ++i) {
        const auto& element = (*events_field)[i];
        auto& item = receipt->results[i];
        item.index = i;
        const auto pointer = "/events/" + std::to_string(i) + "/value";
        const auto text = doc->value_texts.find(pointer);
        auto result = events::validate_event(element, text == doc->value_texts.end() ? nullptr : &text->second,
                                             texts.size() == events_field->size()
                                                 ? std::string(texts[i])
                                                 : element.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                             now);
        if (!result.ok()) {
            item.status = "rejected";
            item.error = util::validation_failure(std::move(result.problems));
            ++receipt->rejected;
            continue;
        }
        auto& event = *result.value;
        if (!event.event_id) event.event_id = new_event_id();
        item.event_id = event.event_id;
        stored_index.push_back(i);
        request.events.push_back(std::move(event));
    }
    metrics.events.inc({"rejected"}, receipt->rejected);
    if (request.events.empty()) return done(std::move(*receipt));

    auto usage = key.usage;
    auto ip = call.client_ip;
    const bool queued = writer_.submit(
        std::move(request), [done, receipt, stored_index = std::move(stored_index), usage, ip, now](auto outcomes) {
            if (!outcomes) return done(unavailable());
            keys::key_registry::touch(*usage, now, ip);
            for (std::size_t j = 0; j < stored_index.size(); ++j) {
                auto& item = receipt->results[stored_index[j]];
                const bool duplicate = (*outcomes)[j] == storage::insert_outcome::duplicate;
                item.status = duplicate ? "duplicate" : "accepted";
                ++(duplicate ? receipt->duplicates : receipt->accepted);
            }
            auto& metrics = ops::global_metrics();
            metrics.events.inc({"accepted"}, receipt->accepted);
            metrics.events.inc({"duplicate"}, receipt->duplicates);
            done(std::move(*receipt));
        });
    if (!queued) done(unavailable());
}

}  // namespace cc::intake
