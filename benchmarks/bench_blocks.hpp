#pragma once
// Shared by the engine benchmarks: a built-in block, created through the plugin manager as
// an experiment would, compiled for the engine.
#include <memory>
#include <string>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/framework/mac_block.hpp"
#include "hawx/framework/plugin_manager.hpp"

namespace hawx::bench {

inline std::shared_ptr<ApproxBlock> make_block(const std::string& component, const nlohmann::json& params,
                                               const std::string& name) {
    static PluginManager pm(plugin_search_path({}));
    const auto& e = pm.find(component, Kind::Block);
    return pm.create<ApproxBlock>(e, pm.resolve_params(e, params, name, ""), name);
}

inline std::shared_ptr<const engine::CompiledBlock> block(const std::string& component, const nlohmann::json& params,
                                                          const std::string& name) {
    return engine::compile_block(*make_block(component, params, name), name);
}

/// A MAC block: the exact signed multiplier with an adder (component, params) in `order`.
inline std::shared_ptr<const engine::CompiledBlock> exact_mac(const std::string& adder, const nlohmann::json& params,
                                                              const std::string& order, const std::string& name) {
    MacBlock m(make_block("core.exact_mul", {}, "EX"), "EX", make_block(adder, params, "ADD"), "ADD",
               parse_accumulation_order(order));
    return engine::compile_block(m, name);
}

}  // namespace hawx::bench
