#pragma once
/// \file
/// An experiment's block list compiled for the engine, with the short names configuration
/// strings use.
#include <hawx/sdk/block.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hawx/engine/compiled_block.hpp"

namespace hawx::engine {

struct NamedLibrary {
    BlockLibrary blocks;
    std::vector<std::string> names;    ///< names[i] is blocks[i]'s short name
    std::vector<std::string> skipped;  ///< "NAME: reason" for blocks the engine cannot emulate
    /// Index of a name; throws hawx::Error listing the names when absent.
    int index(const std::string& name) const;
};

/// Compiles every 8x8 multiplier of `blocks` (others, e.g. adders and the multipliers paired
/// into MAC blocks, are listed in `skipped`),
/// then adds the exact multipliers as "exact" (signed) and "exact-u" (unsigned) unless those
/// names are taken.
NamedLibrary compile_library(const std::vector<std::pair<std::string, std::shared_ptr<ApproxBlock>>>& blocks,
                             int max_rank = 8);

}  // namespace hawx::engine
