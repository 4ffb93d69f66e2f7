#include "hawx/blocks/adders.hpp"

namespace hawx::blocks {

GateEstimate adder_estimate(int bits, bool is_signed, int first, bool carry_in, double carry_in_arrival) {
    if (first > bits) return {};
    std::vector<std::vector<double>> columns(static_cast<std::size_t>(bits + 1 - first));
    for (int c = first; c <= bits; ++c)
        if (c < bits || is_signed) columns[static_cast<std::size_t>(c - first)] = {0.0, 0.0};
    if (carry_in && !columns.empty()) columns[0].push_back(carry_in_arrival);
    return reduce_columns(std::move(columns));
}

}  // namespace hawx::blocks
