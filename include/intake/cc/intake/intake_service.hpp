#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cc/keys/rate_limit_policy.hpp"
#include "cc/intake/event_writer.hpp"
#include "cc/keys/key_controls.hpp"
#include "cc/keys/key_registry.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/failure.hpp"
#include "cc/util/random.hpp"

namespace cc::intake {

/// @brief What the intake needs of an inbound HTTP request (nothing of HTTP itself).
struct inbound_call {
    std::optional<std::string> api_key;  ///< the X-CC-Api-Key header
    std::string host;                    ///< the Host header
    std::string content_type;
    std::string content_encoding;        ///< the Content-Encoding header (empty when absent)
    std::string query;                   ///< the request target's query string, never read for a key
    std::string body;
    std::string client_ip;
    std::string request_id;
    /// @brief Set when a browser sent the request (Origin or Sec-Fetch-Site): what it said.
    std::optional<std::string> browser_origin;
    /// @brief Told which key made the call once it is known (for the access log).
    std::function<void(const keys::key_state&)> on_identified;
    /// @brief The key, when identify() already accepted it for this call (from the header
    /// block, before the body was read); receive_* then do not look it up again.
    std::optional<keys::key_lookup> identified;
    /// @brief Runs work on the request's own thread (its connection's); when set, what
    /// follows a commit runs there instead of on the event writer's thread.
    std::function<void(std::function<void()>)> run_on_origin;
};

/// @brief What became of one event (the API renders it as text).
enum class receipt_status { accepted, duplicate, rejected };

/// @brief One event's result: accepted or duplicate, with its event_id.
struct event_receipt {
    receipt_status status = receipt_status::accepted;
    std::string event_id;
};

/// @brief One entry of a batch's results.
struct batch_item {
    std::size_t index = 0;
    receipt_status status = receipt_status::rejected;
    std::optional<std::string> event_id;
    std::optional<util::failure> error;
};

/// @brief A batch's counts and per-index results.
struct batch_receipt {
    std::size_t accepted = 0;
    std::size_t duplicates = 0;
    std::size_t rejected = 0;
    std::vector<batch_item> results;
};

template <typename T>
using reply = std::function<void(util::outcome<T>)>;

/// @brief The inbound pipeline: authenticate (from memory), rate-limit, parse,
/// validate, then hand to the group-commit writer. Replies exactly once, possibly
/// from the writer's thread.
class intake_service {
public:
    intake_service(keys::key_registry& registry, event_writer& writer, const util::clock& clock,
                   util::random_source& random, std::map<std::string, keys::rate_limit> rate_limits,
                   keys::key_controls* controls = nullptr);

    /// @brief A check run before every authentication: while it answers false (the key
    /// index may be stale, e.g. a node lost its change feed), inbound answers 503.
    void set_index_guard(std::function<bool()> index_fresh) { index_fresh_ = std::move(index_fresh); }

    /// @brief The key checks that need only the request's headers, in the contract's order:
    /// browser, missing, malformed or bad checksum, unknown, revoked, expired, domain
    /// mismatch, allowed IPs. A refusal of a known key is recorded (usage, rejection log);
    /// a valid key sent by a browser is marked exposed.
    /// Reads memory only (the key index); counts auth failures. The HTTP layer calls it
    /// right after the header block, so a request without a valid key is answered before
    /// its body is read; receive_* call it for a call that did not pass it yet.
    util::outcome<keys::key_lookup> identify(const inbound_call& call) const;

    void receive_one(inbound_call call, reply<event_receipt> done);
    void receive_batch(inbound_call call, reply<batch_receipt> done);

    /// @brief At most this many events in one batch.
    static constexpr std::size_t max_batch_events = 500;
    /// @brief The SPEC's size limits: one event's body (also each batch element's own
    /// bytes), and a batch body; after any Content-Encoding is undone.
    static constexpr std::size_t max_event_bytes = 32 * 1024;
    static constexpr std::size_t max_batch_bytes = 1024 * 1024;

private:
    struct authorized {
        keys::key_lookup key;
        util::millis now = 0;
    };
    /// @brief Identifies the key unless the header stage already did (call.identified), then
    /// applies the rate limit. `identified` is set to the key once known, so the caller
    /// records its later refusals (identify() records its own).
    util::outcome<authorized> admit(inbound_call& call, std::optional<keys::key_lookup>& identified);
    /// @brief What the opening every inbound call shares yields.
    struct opened_call {
        authorized who;
        bool form = false;  ///< the body is application/x-www-form-urlencoded (else JSON)
    };
    /// @brief The opening receive_one and receive_batch share: the key (admit: identify,
    /// rate limit), the media type (JSON, or a form when `form_allowed`), then the
    /// Content-Encoding undone within `limit` bytes. A refusal is recorded against the key
    /// once it is known.
    util::outcome<opened_call> open_call(inbound_call& call, bool form_allowed, std::size_t limit);
    void note_refusal(const std::optional<keys::key_lookup>& key, const inbound_call& call, const util::failure& f) const;
    void note_refusal(const keys::key_lookup& key, const inbound_call& call, const util::failure& f) const;
    /// @brief A refusal after the opening: recorded against the admitted key, then answered.
    template <typename T>
    auto refuser(const keys::key_lookup& key, const inbound_call& call, const reply<T>& done) const;
    /// @brief Charges `count` more events to the key's rate limit (after admit took one).
    void charge_events(const authorized& who, std::size_t count);
    std::string new_event_id();

    keys::key_registry& registry_;
    event_writer& writer_;
    const util::clock& clock_;
    util::random_source& random_;
    keys::rate_limit_policy rate_limits_;
    keys::key_controls* controls_;
    std::function<bool()> index_fresh_;
};

/// @brief Checks a Content-Type: "json", "form", or nullopt for anything else.
std::optional<std::string> media_kind(const std::string& content_type);

}  // namespace cc::intake
