#pragma once
// Registration of each strategy of hawx_search.so; one strategy per source file.
#include <hawx/sdk/registry.hpp>

namespace hawx::search {
void register_hawx_boundary(Registry& r);
void register_hawx_lagrange(Registry& r);
void register_hawx_predict(Registry& r);
void register_exhaustive(Registry& r);
void register_random(Registry& r);
void register_greedy(Registry& r);
void register_rl(Registry& r);
void register_nsga2(Registry& r);
}  // namespace hawx::search
