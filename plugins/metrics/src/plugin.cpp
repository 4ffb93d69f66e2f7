// The built-in sensitivity metric library `metrics` (hawx_metrics.so).
#include <hawx/sdk/plugin.hpp>
#include <hawx/sdk/registry.hpp>

#include "hawx/metrics/ame.hpp"
#include "hawx/metrics/error_only.hpp"
#include "hawx/metrics/gradient_only.hpp"
#include "hawx/metrics/hawx_metric.hpp"

void register_metrics(hawx::Registry& registry) {
    using namespace hawx::metrics;
    hawx::add<HawxMetric>(registry);
    hawx::add<ErrorOnly>(registry);
    hawx::add<GradientOnly>(registry);
    hawx::add<Ame>(registry);
}

HAWX_PLUGIN("metrics", "0.1.0", register_metrics)
