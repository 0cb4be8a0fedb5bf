#pragma once
#include <functional>

#include "cc/web/router.hpp"
#include "cc/ops/readiness.hpp"

namespace cc::api {

/// @brief GET /healthz (alive), GET /readyz (storage ready, not draining; the body says
/// which check failed), GET /metrics.
class ops_api {
public:
    /// @param ready the readiness state; must not block (ops::readiness::report does not)
    explicit ops_api(std::function<ops::readiness_report()> ready);

    void register_health(web::router& routes);
    void register_metrics(web::router& routes);

private:
    std::function<ops::readiness_report()> ready_;
};

}  // namespace cc::api
