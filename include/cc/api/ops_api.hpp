#pragma once
#include <functional>

#include "cc/http/router.hpp"

namespace cc::api {

/// @brief GET /healthz (alive), GET /readyz (storage ready, not draining), GET /metrics.
class ops_api {
public:
    /// @param ready true when the service can take traffic; throws or returns false otherwise
    explicit ops_api(std::function<bool()> ready);

    void register_health(web::router& routes);
    void register_metrics(web::router& routes);

private:
    std::function<bool()> ready_;
};

}  // namespace cc::api
