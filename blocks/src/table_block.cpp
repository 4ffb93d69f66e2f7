#include "hawx/blocks/table_block.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include <hawx/sdk/error_metrics.hpp>
#include <hawx/sdk/table_file.hpp>
#include <hawx/sdk/table_sidecar.hpp>

namespace hawx::blocks {

ComponentInfo TableBlock::describe() {
    return {"table", Kind::Block, "1.0",
            "8x8 block read from a TFApprox-layout table file and its JSON sidecar",
            {ParamSpec::path("path",
                             "table file: 65,536 little-endian 16-bit entries, index (a << 8) | b; its sidecar is "
                             "the same name with .json"),
             ParamSpec::string("signedness",
                               "operand signedness: signed (two's complement) or unsigned; sidecar: from the sidecar")
                 .with_default("sidecar")
                 .one_of({"sidecar", "signed", "unsigned"}),
             ParamSpec::string("op", "what the table computes: multiply or add; sidecar: from the sidecar")
                 .with_default("sidecar")
                 .one_of({"sidecar", "multiply", "add"}),
             ParamSpec::string("first_operand",
                               "the operand that indexes the table's rows (a): activation or weight (then the table "
                               "is transposed on load); sidecar: from the sidecar")
                 .with_default("sidecar")
                 .one_of({"sidecar", "activation", "weight"}),
             ParamSpec::real("power_mw", "power in mW; -1: from the sidecar").with_default(-1.0),
             ParamSpec::real("area_um2", "area in um^2; -1: from the sidecar").with_default(-1.0),
             ParamSpec::real("delay_ns", "delay in ns; -1: from the sidecar").with_default(-1.0),
             ParamSpec::boolean("check_published",
                                "on load, require the table to match the sidecar's checksum and its published "
                                "figures to agree with the recomputed ones (within 1.5 units of the last printed digit)")
                 .with_default(true)}};
}

namespace {

std::string number(double v) {
    std::ostringstream o;
    o.precision(10);
    o << v;
    return o.str();
}

}  // namespace

TableBlock::TableBlock(const Params& p) {
    const std::string path = p.get_string("path");
    std::vector<std::int32_t> raw = read_table_file(path, false);  // names the file on a missing/short file

    const std::string side_path = sidecar_path(path);
    std::optional<TableSidecar> side;
    bool side_has_cost = false;
    if (std::filesystem::exists(side_path)) {
        // parse_sidecar (SDK) lets nlohmann's type_error escape for a non-string "format";
        // that message would name neither the file nor the key.
        try {
            side = read_sidecar(side_path);
        } catch (const nlohmann::json::exception& e) {
            throw Error(side_path + ": malformed table sidecar: " + e.what());
        }
        std::ifstream in(side_path);
        const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        side_has_cost = j.is_object() && j.contains("cost");
    }
    const std::string no_sidecar = path + ": no sidecar (" + side_path + ")";

    // A choice parameter: "sidecar" takes the sidecar's value; an explicit one must agree with it.
    auto choose = [&](const char* key, const std::string& from_sidecar) -> std::string {
        const std::string v = p.get_string(key);
        if (v == "sidecar") {
            if (!side) throw Error(no_sidecar + " and parameter '" + key + "' not given");
            return from_sidecar;
        }
        if (side && v != from_sidecar)
            throw Error(path + ": parameter '" + key + "' = " + v + " contradicts the sidecar " + side_path + " (" +
                        key + ": " + from_sidecar + ")");
        return v;
    };
    signed_ = choose("signedness", side ? (side->is_signed ? "signed" : "unsigned") : "") == "signed";
    op_ = choose("op", side ? to_string(side->op) : "") == "multiply" ? BlockOp::Multiply : BlockOp::Add;
    const bool activation_first =
        choose("first_operand", side ? (side->activation_first ? "activation" : "weight") : "") == "activation";

    // Cost: parameters override, the sidecar fills in.
    std::string user;
    bool from_sidecar = false;
    auto figure = [&](const char* key, double sidecar_value) {
        const double v = p.get_float(key);
        if (v >= 0) {
            user += user.empty() ? key : std::string(", ") + key;
            return v;
        }
        if (!side) throw Error(no_sidecar + " and parameter '" + key + "' not given");
        if (!side_has_cost)
            throw Error(path + ": the sidecar " + side_path + " has no 'cost' and parameter '" + key + "' not given");
        from_sidecar = true;
        return sidecar_value;
    };
    cost_.power_mw = figure("power_mw", side ? side->cost.power_mw : 0);
    cost_.area_um2 = figure("area_um2", side ? side->cost.area_um2 : 0);
    cost_.delay_ns = figure("delay_ns", side ? side->cost.delay_ns : 0);
    const std::string side_source =
        side && !side->cost.source.empty() ? side->cost.source : "sidecar " + side_path;
    if (!from_sidecar)
        cost_.source = "user parameters";
    else if (user.empty())
        cost_.source = side_source;
    else
        cost_.source = "user parameters (" + user + "); other figures: " + side_source;
    if (side && side_has_cost) cost_.energy_pj = side->cost.energy_pj;

    // Values, canonical order.
    table_.resize(kTableEntries);
    for (std::uint32_t a = 0; a < 256; ++a)
        for (std::uint32_t b = 0; b < 256; ++b) {
            std::int32_t v = raw[(a << 8) | b];
            if (signed_) v = static_cast<std::int16_t>(static_cast<std::uint16_t>(v));
            const std::uint32_t index = activation_first ? (a << 8) | b : (b << 8) | a;
            table_[index] = v;
        }

    if (side) {
        published_ = side->published;
        name_ = side->name;
        if (published_.source.empty() && !published_.empty()) published_.source = side_path;
    }

    if (p.get_bool("check_published") && side) {
        // The sidecar's checksum (written by import-c and blocks export) identifies the table
        // exactly: it catches a transposed table, which no error figure can.
        if (!side->checksum.empty() && table_checksum(table_) != side->checksum)
            throw Error(path + ": the table does not match the checksum in its sidecar " + side_path + " (" +
                        side->checksum + ", table " + table_checksum(table_) +
                        "): a different, transposed or re-signed table? (set check_published = false to load anyway)");
        for (const FigureCheck& f : check_published(published_, characterize(*this)))
            if (!f.agrees)
                throw Error(path + ": published " + f.label + " = " + f.text + " (sidecar " + side_path +
                            ") disagrees with the table's computed " + f.label + " = " + number(f.computed) +
                            " (set check_published = false to load anyway)");
    }
}

void TableBlock::fill_table(std::int32_t* out) const { std::copy(table_.begin(), table_.end(), out); }

}  // namespace hawx::blocks
