#pragma once
// Shared by the engine benchmarks: a built-in block, created through the plugin manager as
// an experiment would, compiled for the engine.
#include <memory>
#include <string>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/framework/plugin_manager.hpp"

namespace hawx::bench {

inline std::shared_ptr<const engine::CompiledBlock> block(const std::string& component, const nlohmann::json& params,
                                                          const std::string& name) {
    static PluginManager pm(plugin_search_path({}));
    const auto& e = pm.find(component, Kind::Block);
    auto b = pm.create<ApproxBlock>(e, pm.resolve_params(e, params, name, ""), name);
    return engine::compile_block(*b, name);
}

}  // namespace hawx::bench
