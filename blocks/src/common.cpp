#include "hawx/blocks/common.hpp"

namespace hawx::blocks {

ParamSpec signed_param() {
    return ParamSpec::boolean("signed", "two's-complement operands (false: unsigned)").with_default(true);
}

ParamSpec bits_param() {
    return ParamSpec::integer("bits", "width of each operand in bits").with_default(8).in_range(2, 8);
}

std::vector<ParamSpec> with_cost_params(std::vector<ParamSpec> params) {
    for (auto& s : cost_param_specs()) params.push_back(std::move(s));
    return params;
}

Error param_error(const std::string& component, const std::string& param, const std::string& problem) {
    return Error("parameter '" + param + "' of " + component + " " + problem);
}

}  // namespace hawx::blocks
