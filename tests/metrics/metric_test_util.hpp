#pragma once
// Shared by the metric scoring tests: the built-in metrics loaded through the plugin manager
// (as the CLI does) and a small block library of both signednesses.
#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/compiled_block.hpp>
#include <hawx/framework/plugin_manager.hpp>

#include <memory>
#include <string>

#include "../blocks/block_test_util.hpp"

namespace hawx::test {

/// metrics.<name> with default parameters (or `params`), from hawx_metrics.so.
inline std::shared_ptr<SensitivityMetric> load_metric(const std::string& name,
                                                      const nlohmann::json& params = nlohmann::json::object()) {
    static PluginManager pm(plugin_search_path({}));
    const ComponentEntry& e = pm.find("metrics." + name, Kind::Metric);
    return pm.create<SensitivityMetric>(e, pm.resolve_params(e, params, "test", "."), "test");
}

/// exact, T5, DRUM3 and a constant-error block in one signedness, then the exact block of
/// the other (which must get no scores).
inline engine::BlockLibrary mixed_library(bool is_signed) {
    std::vector<std::int32_t> plus3(65536);
    for (std::uint32_t a = 0; a < 256; ++a)
        for (std::uint32_t w = 0; w < 256; ++w)
            plus3[(a << 8) | w] = code_to_value(a, 8, is_signed) * code_to_value(w, 8, is_signed) + 3;
    return {engine::exact_block(is_signed),
            engine::compile_block(P<blocks::TruncatedMul>().b("signed", is_signed).i("k", 5).make(), "T5"),
            engine::compile_block(P<blocks::DrumMul>().b("signed", is_signed).i("k", 3).make(), "DRUM3"),
            engine::compile_table(plus3, is_signed, "PLUS3"), engine::exact_block(!is_signed)};
}

}  // namespace hawx::test
