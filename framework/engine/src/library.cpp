#include "hawx/engine/library.hpp"

#include <algorithm>
#include <map>

#include <hawx/framework/mac_block.hpp>

namespace hawx::engine {

int NamedLibrary::index(const std::string& name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return static_cast<int>(it - names.begin());
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown block '" + name + "' (blocks: " + known + ")");
}

NamedLibrary compile_library(const std::vector<std::pair<std::string, std::shared_ptr<ApproxBlock>>>& blocks,
                             int max_rank) {
    NamedLibrary lib;
    // A multiplier paired into a MAC block is a part of it, not a choice of its own: alone
    // it would stand for a MAC without an adder (and without the adder's cost).
    std::map<const ApproxBlock*, std::string> part_of;
    for (const auto& [name, b] : blocks)
        if (const auto* mac = dynamic_cast<const MacBlock*>(b.get())) part_of.emplace(mac->multiplier().get(), name);
    for (const auto& [name, b] : blocks) {
        if (b->op() != BlockOp::Multiply || b->activation_bits() != 8 || b->weight_bits() != 8) {
            lib.skipped.push_back(name + ": not an 8x8-bit multiplier");
            continue;
        }
        if (const auto it = part_of.find(b.get()); it != part_of.end()) {
            lib.skipped.push_back(name + ": the multiplier of MAC block " + it->second);
            continue;
        }
        lib.blocks.push_back(compile_block(*b, name, max_rank));
        lib.names.push_back(name);
    }
    for (bool s : {true, false}) {
        const std::string n = s ? "exact" : "exact-u";
        if (std::find(lib.names.begin(), lib.names.end(), n) != lib.names.end()) continue;
        auto e = exact_block(s);
        auto named = std::make_shared<CompiledBlock>(*e);
        named->name = n;
        lib.blocks.push_back(std::move(named));
        lib.names.push_back(n);
    }
    return lib;
}

}  // namespace hawx::engine
