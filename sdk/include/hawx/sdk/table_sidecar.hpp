#pragma once
/// \file
/// The JSON sidecar that travels with a table file (`x.bin` -> `x.json`): what the table
/// computes, which operand indexes its rows, and the hardware cost and published figures.
///
/// {
///   "format": "hawx-table-1",
///   "name": "mul8s_1L2N",            // short name shown in listings
///   "op": "multiply" | "add",
///   "signed": true,
///   "first_operand": "activation" | "weight",   // the operand `a` of index (a << 8) | b
///   "cost": {"power_mw": 0.126, "area_um2": 284.9, "delay_ns": 0.94, "energy_pj": null, "source": "..."},
///   "published": {"mae_percent": 0.52, ...,     // optional, EvoApproxLib-style figures,
///                 "printed": {"mae_percent": "0.52", ...}},  // optional: as printed (precision)
///   "checksum": "fnv1a64:0123456789abcdef",     // optional: table_checksum of the table
///   "origin": "where the table came from"
/// }
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/hash.hpp"
#include "hawx/sdk/table_file.hpp"

namespace hawx {

struct TableSidecar {
    std::string name;
    BlockOp op = BlockOp::Multiply;
    bool is_signed = true;
    bool activation_first = true;  ///< false: the file's `a` operand is the weight
    HardwareCost cost;
    PublishedMetrics published;
    std::string origin;
    std::string checksum;  ///< table_checksum() of the table it describes; "" when not recorded
};

/// "fnv1a64:<16 hex digits>": FNV-1a over the table's values in canonical order (index
/// (activation << 8) | weight, signed values as such), each as 4 little-endian bytes. Error
/// figures cannot tell a table from its transpose; this can.
inline std::string table_checksum(const std::vector<std::int32_t>& canonical) {
    std::uint64_t h = kFnv1aOffset;
    for (const std::int32_t v : canonical) {
        const auto u = static_cast<std::uint32_t>(v);
        const unsigned char bytes[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                                        static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
        h = fnv1a_bytes(bytes, 4, h);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
    return buf;
}

/// Sidecar path of a table path: same stem, extension .json.
inline std::string sidecar_path(const std::string& table_path) {
    const auto dot = table_path.find_last_of('.');
    const auto slash = table_path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return table_path + ".json";
    return table_path.substr(0, dot) + ".json";
}

inline nlohmann::json to_json(const PublishedMetrics& p) {
    nlohmann::json j = nlohmann::json::object();
    auto put = [&](const char* k, const std::optional<double>& v) { if (v) j[k] = *v; };
    put("mae", p.mae); put("mae_percent", p.mae_percent); put("wce", p.wce); put("wce_percent", p.wce_percent);
    put("wcre_percent", p.wcre_percent); put("ep_percent", p.ep_percent); put("mre_percent", p.mre_percent);
    put("mse", p.mse);
    if (!p.source.empty()) j["source"] = p.source;
    if (!p.printed.empty()) j["printed"] = p.printed;
    return j;
}

inline nlohmann::json to_json(const HardwareCost& c) {
    nlohmann::json j = {{"power_mw", c.power_mw}, {"area_um2", c.area_um2}, {"delay_ns", c.delay_ns}, {"source", c.source}};
    j["energy_pj"] = c.energy_pj ? nlohmann::json(*c.energy_pj) : nlohmann::json(nullptr);
    return j;
}

inline nlohmann::json to_json(const TableSidecar& s) {
    nlohmann::json j = {{"format", "hawx-table-1"},
                        {"name", s.name},
                        {"op", to_string(s.op)},
                        {"signed", s.is_signed},
                        {"first_operand", s.activation_first ? "activation" : "weight"},
                        {"cost", to_json(s.cost)},
                        {"published", to_json(s.published)},
                        {"origin", s.origin}};
    if (!s.checksum.empty()) j["checksum"] = s.checksum;
    return j;
}

/// Parses a sidecar; throws hawx::Error naming `path` and the offending key.
inline TableSidecar parse_sidecar(const nlohmann::json& j, const std::string& path) {
    auto fail = [&](const std::string& what) { return Error(path + ": " + what); };
    if (!j.is_object()) throw fail("sidecar must be a JSON object");
    static const char* known[] = {"format", "name", "op", "signed", "first_operand", "cost", "published", "origin",
                                  "checksum"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool ok = false;
        for (const char* k : known) ok = ok || it.key() == k;
        if (!ok)
            throw fail("unknown key '" + it.key() +
                       "' (valid: format, name, op, signed, first_operand, cost, published, origin, checksum)");
    }
    if (j.value("format", "") != "hawx-table-1") throw fail("'format' must be \"hawx-table-1\"");
    TableSidecar s;
    auto str = [&](const char* k, const std::string& def) {
        if (!j.contains(k)) return def;
        if (!j[k].is_string()) throw fail(std::string("'") + k + "' must be a string");
        return j[k].get<std::string>();
    };
    s.name = str("name", "");
    const std::string op = str("op", "multiply");
    if (op != "multiply" && op != "add") throw fail("'op' must be \"multiply\" or \"add\", got \"" + op + "\"");
    s.op = op == "multiply" ? BlockOp::Multiply : BlockOp::Add;
    if (!j.contains("signed") || !j["signed"].is_boolean()) throw fail("'signed' (bool) is required");
    s.is_signed = j["signed"].get<bool>();
    const std::string first = str("first_operand", "activation");
    if (first != "activation" && first != "weight") throw fail("'first_operand' must be \"activation\" or \"weight\"");
    s.activation_first = first == "activation";
    s.origin = str("origin", "");
    s.checksum = str("checksum", "");
    if (!s.checksum.empty() && (s.checksum.size() != 24 || s.checksum.rfind("fnv1a64:", 0) != 0 ||
                                s.checksum.find_first_not_of("0123456789abcdef", 8) != std::string::npos))
        throw fail("'checksum' must be \"fnv1a64:\" and 16 lower-case hex digits, got \"" + s.checksum + "\"");
    if (j.contains("cost")) {
        const auto& c = j["cost"];
        if (!c.is_object()) throw fail("'cost' must be an object");
        auto num = [&](const char* k) -> double {
            if (!c.contains(k) || !c[k].is_number()) throw fail(std::string("'cost.") + k + "' must be a number");
            return c[k].get<double>();
        };
        s.cost.power_mw = num("power_mw");
        s.cost.area_um2 = num("area_um2");
        s.cost.delay_ns = num("delay_ns");
        if (c.contains("energy_pj") && !c["energy_pj"].is_null()) {
            if (!c["energy_pj"].is_number()) throw fail("'cost.energy_pj' must be a number or null");
            s.cost.energy_pj = c["energy_pj"].get<double>();
        }
        if (c.contains("source")) {
            if (!c["source"].is_string()) throw fail("'cost.source' must be a string");
            s.cost.source = c["source"].get<std::string>();
        }
    }
    if (j.contains("published")) {
        const auto& p = j["published"];
        if (!p.is_object()) throw fail("'published' must be an object");
        auto opt = [&](const char* k, std::optional<double>& out) {
            if (!p.contains(k)) return;
            if (!p[k].is_number()) throw fail(std::string("'published.") + k + "' must be a number");
            out = p[k].get<double>();
        };
        opt("mae", s.published.mae); opt("mae_percent", s.published.mae_percent); opt("wce", s.published.wce);
        opt("wce_percent", s.published.wce_percent); opt("wcre_percent", s.published.wcre_percent);
        opt("ep_percent", s.published.ep_percent); opt("mre_percent", s.published.mre_percent);
        opt("mse", s.published.mse);
        if (p.contains("source") && p["source"].is_string()) s.published.source = p["source"].get<std::string>();
        if (p.contains("printed")) {
            const auto& t = p["printed"];
            if (!t.is_object()) throw fail("'published.printed' must be an object");
            for (auto it = t.begin(); it != t.end(); ++it) {
                if (!it.value().is_string()) throw fail("'published.printed." + it.key() + "' must be a string");
                if (!p.contains(it.key()))
                    throw fail("'published.printed." + it.key() + "' names no published figure");
                s.published.printed[it.key()] = it.value().get<std::string>();
            }
        }
    }
    return s;
}

/// Reads and parses the sidecar file; throws hawx::Error naming the file.
inline TableSidecar read_sidecar(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open table sidecar");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": malformed JSON in table sidecar (" + std::string(e.what()) + ")");
    }
    return parse_sidecar(j, path);
}

/// Writes the sidecar atomically (temporary file, then rename); throws hawx::Error naming the file.
inline void write_sidecar(const std::string& path, const TableSidecar& s) {
    const std::string text = to_json(s).dump(2) + "\n";
    write_file_bytes_atomic(path, text.data(), text.size());
}

/// Writes a table file and its sidecar (with the table's checksum): the table first, then
/// the sidecar; a failed sidecar removes the table, so no half pair remains.
/// `canonical`: values at index (activation << 8) | weight.
inline void write_table_and_sidecar(const std::string& table_path, const std::vector<std::int32_t>& canonical,
                                    TableSidecar sidecar) {
    sidecar.activation_first = true;
    sidecar.checksum = table_checksum(canonical);
    write_table_file(table_path, canonical, sidecar.is_signed);
    try {
        write_sidecar(sidecar_path(table_path), sidecar);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(table_path, ec);
        throw;
    }
}

}  // namespace hawx
