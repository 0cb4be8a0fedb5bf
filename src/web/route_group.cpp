#include "cc/web/route_group.hpp"

#include <utility>

namespace cc::web {

route_group::route_group(router& routes, std::size_t body_limit, std::shared_ptr<const cors_policy> cors)
    : routes_(routes), body_limit_(body_limit), cors_(std::move(cors)),
      methods_by_pattern_(std::make_shared<std::map<std::string, std::string>>()) {}

void route_group::add(bhttp::verb method, const std::string& pattern, handler h) {
    auto& methods = (*methods_by_pattern_)[pattern];
    if (methods.empty()) {
        // The preflight goes before the path's first method, so a 405's Allow lists it first.
        routes_.add(bhttp::verb::options, pattern, body_limit_,
                    [cors = cors_, all = methods_by_pattern_, pattern](request_context& ctx, responder done) {
                        done(cors->preflight(ctx, all->at(pattern)));
                    });
    } else {
        methods += ", ";
    }
    methods += std::string(bhttp::to_string(method));
    routes_.add(method, pattern, body_limit_, [cors = cors_, h = std::move(h)](request_context& ctx, responder done) {
        // Read on the connection's thread; the answer may come from another one.
        const auto sent = ctx.req[bhttp::field::origin];
        h(ctx, [cors, origin = std::string(sent.data(), sent.size()), done = std::move(done)](response res) {
            cors->apply(origin, res);
            done(std::move(res));
        });
    });
}

}  // namespace cc::web
