#include "cc/storage/storage_error.hpp"
#include "cc/storage/store.hpp"

// Defaults for the key-control operations of a store: a backend that has not
// implemented them refuses loudly rather than pretending to have stored something.
namespace cc::storage {
namespace {

[[noreturn]] void unsupported(const char* what) {
    throw storage_error(std::string("this storage backend does not support ") + what, 0);
}

}  // namespace

void store::set_allowed_ips(admin_transaction&, std::string_view, const std::vector<std::string>&) {
    unsupported("allowed IPs");
}
bool store::mark_exposed(std::string_view, util::millis, std::string_view, const audit_record&) {
    unsupported("key exposure");
}
void store::save_usage(std::span<const usage_delta>) { unsupported("usage counts"); }
std::vector<usage_delta> store::load_usage(std::string_view, std::int64_t, std::int64_t) {
    unsupported("usage counts");
}
void store::insert_rejections(std::span<const rejection_record>, int) { unsupported("the rejection log"); }
page<rejection_record> store::list_rejections(const listing_query&, const std::optional<std::string>&) {
    unsupported("the rejection log");
}
void store::purge_controls(std::int64_t, util::millis) { unsupported("usage and rejection retention"); }

}  // namespace cc::storage
