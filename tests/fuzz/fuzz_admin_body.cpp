// Fuzzes the admin API's body reader, api::read_object, on a web::request carrying the
// fuzz bytes as its body, with each field list an admin route uses, and string_field on
// what it returns. A body is either a JSON object holding only the allowed fields, or one
// of the contract's error codes; never an exception, never anything else.
//
// Input: the first byte picks the Content-Type and the route's field list; the rest is
// the body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/api/json_body.hpp"
#include "cc/web/message.hpp"

namespace {

[[noreturn]] void broken(const char* rule, std::string_view detail = {}) {
    std::fprintf(stderr, "admin body rule broken: %s [%.*s]\n", rule, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

constexpr const char* content_types[] = {
    nullptr,  // no Content-Type header
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "APPLICATION/JSON",
    "application/jsonx",
    "",
};

void check(const cc::web::request& req, std::initializer_list<std::string_view> allowed, bool optional) {
    const auto result = cc::api::read_object(req, allowed, optional);
    if (!result.ok()) {
        using cc::util::error_code;
        const auto code = result.error().code;
        if (code != error_code::validation_failed && code != error_code::unsupported_media_type &&
            code != error_code::invalid_json) {
            broken("unexpected error code", cc::util::to_text(code));
        }
        if (result.error().message.empty()) broken("an error has a message");
        if (code == error_code::validation_failed && result.error().details.empty()) broken("validation failures name fields");
        return;
    }
    const auto& body = result.value();
    if (!body.is_object()) broken("the body read is an object");
    for (const auto& [name, value] : body.items()) {
        bool known = false;
        for (auto a : allowed) known = known || a == name;
        if (!known) broken("only allowed fields come through", name);
    }
    // What the handlers do next: read string fields, and dump the body for the audit log.
    std::vector<cc::util::field_problem> problems;
    for (auto name : allowed) {
        const std::string field(name);
        const auto value = cc::api::string_field(body, field.c_str(), false, problems);
        if (value && !body.at(field).is_string()) broken("string_field returns only strings", field);
    }
    (void)body.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    cc::web::request req{cc::web::bhttp::verb::post, "/admin/keys", 11};
    const auto* type = content_types[data[0] % (sizeof(content_types) / sizeof(content_types[0]))];
    if (type != nullptr) req.set(cc::web::bhttp::field::content_type, type);
    req.body().assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    req.prepare_payload();

    switch ((data[0] >> 3) % 5) {
        case 0: check(req, {"plan"}, false); break;                          // PUT /admin/domains/{domain}
        case 1: check(req, {"domain", "name", "expires_at"}, false); break;  // POST /admin/keys
        case 2: check(req, {"name"}, false); break;                          // PATCH /admin/keys/{id}
        case 3: check(req, {"grace_seconds"}, true); break;                  // POST /admin/keys/{id}/roll
        default: check(req, {}, true); break;                                // bodies that must be empty
    }
    return 0;
}
