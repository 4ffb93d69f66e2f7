// Fuzz target: the `table` block (table file + JSON sidecar + parameters).
//
// Input layout: byte 0 picks the parameters (bits 0-1 signedness, 2-3 op, 4-5
// first_operand: 0 = sidecar, 1/2 = the two explicit values, 3 = sidecar; bit 6
// check_published; bit 7 tiles the table bytes up to the full 131,072 bytes, so that
// mutations reach past the size check), then split2: the sidecar text (none when empty),
// then the table bytes.
#include <hawx/blocks/table_block.hpp>
#include <hawx/sdk/table_file.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

namespace {

std::string pick(unsigned bits, const char* a, const char* b) {
    return bits == 1 ? a : bits == 2 ? b : "sidecar";
}

}  // namespace

void table_entry(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const unsigned flags = data[0];
    const Split s = split2(data + 1, size - 1);

    std::vector<std::uint8_t> table(s.second, s.second + s.second_size);
    if ((flags & 0x80) && !table.empty()) {
        table.resize(kTableFileBytes);
        for (std::size_t i = s.second_size; i < kTableFileBytes; ++i) table[i] = table[i % s.second_size];
    }
    const std::string path = scratch_file("t.bin", table.data(), table.size());
    if (s.first_size > 0)
        scratch_file("t.json", s.first, s.first_size);
    else
        scratch_remove("t.json");

    Params p;
    for (const auto& spec : blocks::TableBlock::describe().params)
        if (spec.default_value) p.set(spec.name, *spec.default_value);
    p.set("path", path);
    p.set("signedness", pick(flags & 3, "signed", "unsigned"));
    p.set("op", pick((flags >> 2) & 3, "multiply", "add"));
    p.set("first_operand", pick((flags >> 4) & 3, "activation", "weight"));
    p.set("check_published", (flags & 0x40) != 0);
    expect_clean("table", [&] { blocks::TableBlock b(p); });
}

}  // namespace hawx::fuzz
