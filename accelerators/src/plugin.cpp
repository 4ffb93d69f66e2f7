// The built-in accelerator models (hawx_accelerators.so).
#include <hawx/sdk/plugin.hpp>
#include <hawx/sdk/registry.hpp>

#include "hawx/accelerators/algorithm1.hpp"
#include "hawx/accelerators/dataflow.hpp"
#include "hawx/accelerators/perun.hpp"

void register_accelerators(hawx::Registry& registry) {
    using namespace hawx::accelerators;
    hawx::add<Dataflow>(registry);
    hawx::add<Perun>(registry);
    hawx::add<Algorithm1>(registry);
}

HAWX_PLUGIN("accelerators", "0.1.0", register_accelerators)
