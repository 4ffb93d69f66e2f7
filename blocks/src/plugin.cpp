// The built-in block library `core` (hawx_core.so).
#include <hawx/sdk/plugin.hpp>
#include <hawx/sdk/registry.hpp>

#include "hawx/blocks/bam_mul.hpp"
#include "hawx/blocks/drum_mul.hpp"
#include "hawx/blocks/eta_add.hpp"
#include "hawx/blocks/exact_add.hpp"
#include "hawx/blocks/exact_mul.hpp"
#include "hawx/blocks/loa_add.hpp"
#include "hawx/blocks/mitchell_mul.hpp"
#include "hawx/blocks/table_block.hpp"
#include "hawx/blocks/truncated_add.hpp"
#include "hawx/blocks/truncated_mul.hpp"

void register_core(hawx::Registry& registry) {
    using namespace hawx::blocks;
    hawx::add<ExactMul>(registry);
    hawx::add<TruncatedMul>(registry);
    hawx::add<BamMul>(registry);
    hawx::add<DrumMul>(registry);
    hawx::add<MitchellMul>(registry);
    hawx::add<ExactAdd>(registry);
    hawx::add<LoaAdd>(registry);
    hawx::add<TruncatedAdd>(registry);
    hawx::add<EtaAdd>(registry);
    hawx::add<TableBlock>(registry);
}

HAWX_PLUGIN("core", "0.1.0", register_core)
