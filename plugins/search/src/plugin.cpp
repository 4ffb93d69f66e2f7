// The built-in search strategy library `search` (hawx_search.so).
#include <hawx/sdk/plugin.hpp>

#include "strategies.hpp"

void register_search(hawx::Registry& registry) {
    using namespace hawx::search;
    register_hawx_boundary(registry);
    register_hawx_lagrange(registry);
    register_hawx_predict(registry);
    register_exhaustive(registry);
    register_random(registry);
    register_greedy(registry);
    register_rl(registry);
    register_nsga2(registry);
}

HAWX_PLUGIN("search", "0.1.0", register_search)
