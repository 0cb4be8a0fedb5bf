#include "cc/intake/intake_service.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "cc/auth/api_key.hpp"
#include "cc/events/event_validator.hpp"
#include "cc/events/form_decoder.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/intake/body_decoder.hpp"
#include "cc/keys/domain_name.hpp"
#include "cc/keys/rate_limit_policy.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/util/base62.hpp"
#include "cc/util/crypto.hpp"
#include "cc/util/text.hpp"

namespace cc::intake {
namespace {

using util::failure;

failure auth_failure(util::error_code code, std::string message) {
    ops::global_metrics().auth_failures.inc({util::to_text(code)});
    return {code, std::move(message), {}};
}

failure unavailable() {
    return {util::error_code::unavailable, "Storage is unavailable or busy; nothing was stored. Retry shortly.", {}, 1};
}

std::string lower_trimmed(std::string_view text) { return util::ascii_lower(util::trim(text, util::ows)); }

failure unsupported_media_type(bool form_allowed) {
    return {util::error_code::unsupported_media_type,
            form_allowed ? "Send Content-Type: application/json or application/x-www-form-urlencoded."
                         : "Send Content-Type: application/json.",
            {}};
}

// A client that put its key in the URL (`?api_key=cc_...`) hears where keys go instead of
// a bare "missing"; the query is only looked at, never used to authenticate.
bool query_holds_key(std::string_view query) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        const auto name = lower_trimmed(pair.substr(0, eq));
        const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (name.find("key") != std::string::npos || name.find("token") != std::string::npos ||
            value.starts_with("cc_")) {
            return true;
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

// Undoes the Content-Encoding; the size limit applies to what comes out.
std::optional<failure> decode_content(inbound_call& call, std::size_t limit) {
    switch (decode_body(call.content_encoding, call.body, limit)) {
        case decode_status::ok: return std::nullopt;
        case decode_status::unsupported:
            return failure{util::error_code::unsupported_media_type,
                           "Content-Encoding must be gzip or deflate (or absent); other encodings are not supported.",
                           {}};
        case decode_status::too_large:
            return failure{util::error_code::payload_too_large,
                           "The decompressed body exceeds this endpoint's limit of " + std::to_string(limit) + " bytes.",
                           {}};
        case decode_status::corrupt:
            break;
    }
    return failure{util::error_code::invalid_json, "The body could not be decompressed: it is not valid " +
                                       lower_trimmed(call.content_encoding) + " data.", {}};
}

// What `curl -d '{...}'` and urllib send: JSON labelled as a form.
bool looks_like_json(std::string_view body) {
    const auto first = body.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && (body[first] == '{' || body[first] == '[');
}

// The writer's completion, moved to the request's own thread when it has one: the
// writer goes straight on to its next commit instead of building answers.
template <typename Finish>
write_completion on_origin(const inbound_call& call, Finish finish) {
    if (!call.run_on_origin) return finish;
    // Called once: the completion's state moves on with the work instead of being copied.
    return [post = call.run_on_origin,
            finish = std::move(finish)](std::optional<std::vector<storage::insert_outcome>> outcomes) mutable {
        post([finish = std::move(finish), outcomes = std::move(outcomes)]() mutable { finish(std::move(outcomes)); });
    };
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
                               util::random_source& random, std::map<std::string, keys::rate_limit> rate_limits,
                               keys::key_controls* controls)
    : registry_(registry), writer_(writer), clock_(clock), random_(random), rate_limits_(std::move(rate_limits)),
      controls_(controls) {}

void intake_service::note_refusal(const std::optional<keys::key_lookup>& key, const inbound_call& call,
                                  const util::failure& f) const {
    // Only a refusal with an identified key is the customer's to see (usage, rejection log).
    if (key) note_refusal(*key, call, f);
}

void intake_service::note_refusal(const keys::key_lookup& key, const inbound_call& call, const util::failure& f) const {
    if (controls_) controls_->refused(key, f, {call.request_id, call.client_ip});
}

std::string intake_service::new_event_id() {
    // Time first, so that assigned ids are appended at the end of the unique
    // (domain, event_id) index instead of landing on a random leaf page: each event then
    // dirties (and writes to the WAL) the index's last page, not a page of its own. The
    // 16 random characters (95 bits) keep ids unique and unguessable within a millisecond.
    constexpr std::size_t time_digits = 8;  // 62^8 ms: good until the year 8900
    auto now = static_cast<std::uint64_t>(std::max<util::millis>(clock_.now_ms(), 0));
    std::string id = "evt_";
    id.resize(id.size() + time_digits);
    for (std::size_t i = id.size(); i > id.size() - time_digits; --i) {
        id[i - 1] = util::base62_alphabet[now % 62];
        now /= 62;
    }
    return id + util::random_base62(random_, 16);
}

util::outcome<keys::key_lookup> intake_service::identify(const inbound_call& call) const {
    // Fail closed: a key index that may be out of date could accept a revoked key.
    if (index_fresh_ && !index_fresh_()) {
        return failure{util::error_code::unavailable, "This node cannot confirm its key index is current; nothing was stored. Retry shortly.",
                       {}, 1};
    }
    // A browser never gets in, whatever it sends (SPEC §7); a valid key it carries is
    // marked exposed, and keeps working for server requests.
    if (call.browser_origin) {
        auto refusal = keys::key_controls::browser_refusal();
        ops::global_metrics().auth_failures.inc({util::to_text(refusal.code)});
        if (call.api_key && auth::is_well_formed_api_key(*call.api_key)) {
            if (auto seen = registry_.find(util::sha256(*call.api_key))) {
                if (call.on_identified) call.on_identified(*seen->state);
                if (controls_) controls_->note_exposed(*seen, *call.browser_origin, call.client_ip);
                note_refusal(seen, call, refusal);
            }
        }
        return refusal;
    }
    if (!call.api_key) {
        if (query_holds_key(call.query)) {
            return auth_failure(util::error_code::missing_api_key,
                                "API keys are never accepted in the URL query string; send the key in the "
                                "X-CC-Api-Key header.");
        }
        return auth_failure(util::error_code::missing_api_key, "The X-CC-Api-Key header is required.");
    }
    // Shape and checksum first: a malformed key never reaches the index.
    if (!auth::is_well_formed_api_key(*call.api_key)) {
        return auth_failure(util::error_code::invalid_api_key, "The API key is not valid.");
    }
    auto found = registry_.find(util::sha256(*call.api_key));
    if (!found) {
        return auth_failure(util::error_code::invalid_api_key, "The API key is not valid.");
    }
    const auto now = clock_.now_ms();
    const auto& state = *found->state;
    if (call.on_identified) call.on_identified(state);
    // From here on the key is known: its refusals are the customer's to see.
    const auto refuse = [&](util::failure f) {
        note_refusal(found, call, f);
        return f;
    };
    if (state.revoked) {
        return refuse(auth_failure(util::error_code::revoked_api_key, "The API key " + state.prefix + "... has been revoked."));
    }
    if (state.expires_at && *state.expires_at <= now) {
        return refuse(auth_failure(util::error_code::expired_api_key, "The API key " + state.prefix + "... has expired."));
    }
    // A request addressed to a registered domain (D or cleanclicks.D) must use that domain's key.
    const auto host = keys::host_without_port(call.host);
    std::optional<std::string> addressed;
    if (registry_.has_domain(host)) {
        addressed = host;
    } else if (host.starts_with("cleanclicks.") && registry_.has_domain(host.substr(12))) {
        addressed = host.substr(12);
    }
    if (addressed && *addressed != *state.domain) {
        return refuse(auth_failure(util::error_code::domain_mismatch, "The API key " + state.prefix + "... belongs to the domain " +
                                                          *state.domain + ", but this request is addressed to " +
                                                          *addressed + "."));
    }
    // Allowed IPs come from the index, so a change holds for the very next request.
    if (!state.allowed_ips.empty() && !state.allowed_ips.allows(call.client_ip)) {
        auto refusal = keys::key_controls::ip_refusal(state, call.client_ip);
        ops::global_metrics().auth_failures.inc({util::to_text(refusal.code)});
        return refuse(std::move(refusal));
    }
    return std::move(*found);
}

util::outcome<intake_service::authorized> intake_service::admit(inbound_call& call,
                                                               std::optional<keys::key_lookup>& identified) {
    // The key was normally identified from the header block already (before the body was
    // read); identify it here only for a call that did not go through that check.
    if (!call.identified) {
        auto key = identify(call);
        if (!key.ok()) return key.error();  // identify() recorded it
        call.identified = std::move(key.value());
    }
    identified = call.identified;
    auto found = std::move(call.identified);
    call.identified.reset();
    const auto now = clock_.now_ms();
    if (const auto seconds = rate_limits_.admit(found->plan, *found->usage, now)) {
        ops::global_metrics().rate_limited.inc({found->plan});
        return failure{util::error_code::rate_limited,
                       "Too many requests for this key; retry after " + std::to_string(*seconds) + " s.", {}, *seconds};
    }
    return authorized{std::move(*found), now};
}

void intake_service::charge_events(const authorized& who, std::size_t count) {
    rate_limits_.charge(who.key.plan, *who.key.usage, count);
}

util::outcome<intake_service::opened_call> intake_service::open_call(inbound_call& call, bool form_allowed,
                                                                     std::size_t limit) {
    std::optional<keys::key_lookup> identified;
    const auto refuse = [&](util::failure f) {
        note_refusal(identified, call, f);
        return f;
    };
    auto admitted = admit(call, identified);
    if (!admitted.ok()) return refuse(admitted.error());
    const auto kind = media_kind(call.content_type);
    if (!kind || (!form_allowed && *kind != "json")) return refuse(unsupported_media_type(form_allowed));
    if (auto refused = decode_content(call, limit)) return refuse(std::move(*refused));
    return opened_call{std::move(admitted.value()), *kind == "form"};
}

template <typename T>
auto intake_service::refuser(const keys::key_lookup& key, const inbound_call& call, const reply<T>& done) const {
    return [this, &key, &call, &done](util::failure f) {
        note_refusal(key, call, f);
        done(std::move(f));
    };
}

void intake_service::receive_one(inbound_call call, reply<event_receipt> done) {
    auto opened = open_call(call, true, max_event_bytes);
    if (!opened.ok()) return done(opened.error());
    auto& admitted = opened.value().who;
    const auto refuse = refuser(admitted.key, call, done);

    auto& metrics = ops::global_metrics();
    std::string error;
    events::validation_result result;
    if (!opened.value().form) {
        auto doc = events::read_events(call.body, events::body_shape::single_event, error);
        if (!doc) {
            metrics.events.inc({"rejected"});
            return refuse(failure{util::error_code::invalid_json, std::move(error), {}});
        }
        result = events::validate_event(doc->root, events::value_text_at(*doc, "/value"), std::move(call.body),
                                        admitted.now);
    } else {
        if (looks_like_json(call.body)) {
            metrics.events.inc({"rejected"});
            return refuse(failure{util::error_code::unsupported_media_type,
                                "The body is JSON, but Content-Type says application/x-www-form-urlencoded; "
                                "send it with Content-Type: application/json.",
                                {}});
        }
        auto form = events::decode_form(call.body, error);
        if (!form) {
            metrics.events.inc({"rejected"});
            return refuse(failure{util::error_code::invalid_json, "The form body cannot be decoded: " + error + ".", {}});
        }
        result = events::validate_event(*form, nullptr, std::move(call.body), admitted.now);
    }
    if (!result.ok()) {
        metrics.events.inc({"rejected"});
        return refuse(util::validation_failure(std::move(result.problems)));
    }
    auto& event = *result.value;
    if (!event.event_id) event.event_id = new_event_id();
    const auto event_id = *event.event_id;

    const auto& key = admitted.key;
    write_request request{*key.state->domain, std::string(key.state->id), admitted.now, {}};
    request.events.push_back(std::move(event));
    auto usage = key.usage;
    auto ip = call.client_ip;
    const auto now = admitted.now;
    const bool queued = writer_.submit(std::move(request), on_origin(call, [done, event_id, usage, ip, now](auto outcomes) {
        auto& metrics = ops::global_metrics();
        if (!outcomes) return done(unavailable());
        keys::key_registry::touch(*usage, now, ip);
        const bool duplicate = (*outcomes)[0] == storage::insert_outcome::duplicate;
        usage->counters.add(duplicate ? keys::usage_kind::duplicate : keys::usage_kind::accepted, now);
        metrics.events.inc({duplicate ? "duplicate" : "accepted"});
        done(event_receipt{duplicate ? receipt_status::duplicate : receipt_status::accepted, event_id});
    }));
    if (!queued) done(unavailable());
}

void intake_service::receive_batch(inbound_call call, reply<batch_receipt> done) {
    auto opened = open_call(call, false, max_batch_bytes);
    if (!opened.ok()) return done(opened.error());
    auto& admitted = opened.value().who;
    const auto refuse = refuser(admitted.key, call, done);

    std::string error;
    auto doc = events::read_events(call.body, events::body_shape::batch, error);
    if (!doc) return refuse(failure{util::error_code::invalid_json, std::move(error), {}});
    const auto& root = doc->root;
    const auto events_field = root.is_object() ? root.find("events") : root.end();
    if (!root.is_object() || events_field == root.end() || !events_field->is_array() || events_field->empty() ||
        events_field->size() > max_batch_events) {
        return refuse(util::validation_failure(
            {{"events", "must be an array of 1 to " + std::to_string(max_batch_events) + " events"}}));
    }
    // The rate limit counts events: admit() took one token for the request, the rest of
    // the batch is charged now (it may leave the bucket in debt, which later requests repay).
    charge_events(admitted, events_field->size() - 1);

    auto& metrics = ops::global_metrics();
    const auto now = admitted.now;
    auto receipt = std::make_shared<batch_receipt>();
    receipt->results.resize(events_field->size());
    const auto& key = admitted.key;
    write_request request{*key.state->domain, std::string(key.state->id), now, {}};
    std::vector<std::size_t> stored_index;  // request.events[i] is batch element stored_index[i]
    // Each event keeps its own bytes as sent; re-serializing is the fallback only.
    const auto& texts = doc->event_texts;
    for (std::size_t i = 0; i < events_field->size(); ++i) {
        const auto& element = (*events_field)[i];
        auto& item = receipt->results[i];
        item.index = i;
        std::string raw = i < texts.size() && !texts[i].empty()
                              ? std::string(texts[i])
                              : element.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        // An element may not be bigger than the same event sent alone.
        if (raw.size() > max_event_bytes) {
            item.status = receipt_status::rejected;
            item.error = util::validation_failure(
                {{"(event)", "must be at most " + std::to_string(max_event_bytes) +
                                 " bytes, the limit of a single event"}});
            ++receipt->rejected;
            continue;
        }
        const auto pointer = "/events/" + std::to_string(i) + "/value";
        auto result = events::validate_event(element, events::value_text_at(*doc, pointer), std::move(raw), now);
        if (!result.ok()) {
            item.status = receipt_status::rejected;
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
    if (receipt->rejected > 0) {
        key.usage->counters.add(keys::usage_kind::rejected, now, static_cast<std::int64_t>(receipt->rejected));
    }
    if (request.events.empty()) return done(std::move(*receipt));

    auto usage = key.usage;
    auto ip = call.client_ip;
    const bool queued = writer_.submit(
        std::move(request), on_origin(call, [done, receipt, stored_index = std::move(stored_index), usage, ip, now](auto outcomes) {
            if (!outcomes) return done(unavailable());
            keys::key_registry::touch(*usage, now, ip);
            for (std::size_t j = 0; j < stored_index.size(); ++j) {
                auto& item = receipt->results[stored_index[j]];
                const bool duplicate = (*outcomes)[j] == storage::insert_outcome::duplicate;
                item.status = duplicate ? receipt_status::duplicate : receipt_status::accepted;
                ++(duplicate ? receipt->duplicates : receipt->accepted);
            }
            if (receipt->accepted) usage->counters.add(keys::usage_kind::accepted, now, static_cast<std::int64_t>(receipt->accepted));
            if (receipt->duplicates) usage->counters.add(keys::usage_kind::duplicate, now, static_cast<std::int64_t>(receipt->duplicates));
            auto& metrics = ops::global_metrics();
            metrics.events.inc({"accepted"}, receipt->accepted);
            metrics.events.inc({"duplicate"}, receipt->duplicates);
            done(std::move(*receipt));
        }));
    if (!queued) done(unavailable());
}

}  // namespace cc::intake
