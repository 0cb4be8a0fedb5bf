#include "cc/api/admin_guard.hpp"

#include <utility>

#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::api {

admin_guard::admin_guard(const auth::admin_authenticator& auth, offload run_blocking)
    : auth_(auth), run_blocking_(std::move(run_blocking)) {}

web::handler admin_guard::wrap(admin_handler h) const {
    return [this, h = std::move(h)](web::request_context& ctx, web::responder done) {
        const auto authorization = ctx.req[web::bhttp::field::authorization];
        // Authorization is a singleton field (RFC 9110 §11.6.2): two lines are ambiguous, refused.
        const bool single = ctx.req.count(web::bhttp::field::authorization) <= 1;
        const auto token_id =
            single ? auth_.authenticate(std::string_view(authorization.data(), authorization.size())) : std::nullopt;
        if (!token_id) {
            auto res = web::error_response(
                ctx, {util::error_code::unauthorized,
                      auth_.enabled() ? "A valid admin bearer token is required."
                                      : "The admin API is disabled: no admin token is configured (set CC_ADMIN_TOKEN).",
                      {}});
            res.set(web::bhttp::field::www_authenticate, "Bearer");
            // Repeated guesses from one address are answered later (still 401), off the network thread.
            return auth_.answer_failure(ctx.client_ip, !authorization.empty(),
                                        [done, res = std::move(res)]() mutable { done(std::move(res)); });
        }
        // Storage calls block: run them off the network threads.
        run_blocking_([h, &ctx, done, who = keys::actor{*token_id, ctx.client_ip}] {
            web::response res;
            try {
                res = h(ctx, who);
            } catch (const storage::storage_error& e) {
                ops::log(spdlog::level::err, "admin storage error", {{"request_id", ctx.request_id}, {"error", e.what()}});
                res = web::error_response(ctx, {util::error_code::unavailable, "Storage is unavailable; nothing was changed. Retry shortly.", {}, 1});
            } catch (const std::exception& e) {
                ops::log(spdlog::level::err, "admin handler failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
                res = web::error_response(ctx, {util::error_code::internal_error, "An unexpected error occurred.", {}});
            }
            done(std::move(res));
        });
    };
}

}  // namespace cc::api
