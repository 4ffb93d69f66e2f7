#pragma once
// Characterization of blocks for the terminal, JSON and CSV.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/sdk/hawx.hpp"

namespace hawx {

struct BlockRow {
    std::string name;       ///< short name, or the qualified component name
    std::string component;  ///< library.component
    std::shared_ptr<ApproxBlock> block;
    ErrorMetrics metrics;
};

BlockRow characterize_row(std::string name, std::string component, std::shared_ptr<ApproxBlock> block);

nlohmann::json to_json(const BlockRow& row);
/// Per row: the name of a block of the same kind (op, widths, signedness) that is no worse
/// in both power and MAE and better in one ("" when none: the block is on the power-MAE front).
std::vector<std::string> dominated_by(const std::vector<BlockRow>& rows);
/// One line per block, aligned; the last column says whether it is on the power-MAE front.
std::string format_block_table(const std::vector<BlockRow>& rows);
std::string format_block_csv(const std::vector<BlockRow>& rows);
/// Every metric beside its published value, the declared cost and its source.
std::string format_block_details(const BlockRow& row);

}  // namespace hawx
