#pragma once
#include "cc/web/router.hpp"
#include "cc/intake/intake_service.hpp"

namespace cc::api {

/// @brief POST /__cc/inbound and /__cc/inbound/batch: thin handlers over the intake.
class inbound_api {
public:
    /// @brief Body limits from the SPEC: 32 KiB for one event, 1 MiB for a batch.
    static constexpr std::size_t single_body_limit = intake::intake_service::max_event_bytes;
    static constexpr std::size_t batch_body_limit = intake::intake_service::max_batch_bytes;

    explicit inbound_api(intake::intake_service& intake);
    void register_routes(web::router& routes);

    /// @brief The header-stage check of both routes: the key (intake_service::identify)
    /// decided from the header block, before the body is read; the identified key is kept
    /// in the context for the handler.
    std::optional<web::response> check_key(web::request_context& ctx);

private:
    /// @brief What the header block says: key, host, client, browser signs.
    static intake::inbound_call header_call(web::request_context& ctx);
    /// @brief header_call plus the body, its type and encoding, and the key check_key found.
    static intake::inbound_call call_of(web::request_context& ctx);
    intake::intake_service& intake_;
};

}  // namespace cc::api
