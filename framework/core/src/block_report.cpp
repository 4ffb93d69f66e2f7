#include "hawx/framework/block_report.hpp"

#include "hawx/framework/mac_block.hpp"
#include "hawx/framework/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace hawx {

namespace {

std::string pad(const std::string& s, std::size_t w, bool left = true) {
    if (s.size() >= w) return s;
    return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}

struct MetricView {
    const char* key;
    const char* label;
    double computed;
    std::optional<double> published;
    int decimals;
};

std::vector<MetricView> metric_views(const BlockRow& r) {
    const ErrorMetrics& m = r.metrics;
    const PublishedMetrics p = r.block->published();
    return {{"mae", "MAE", m.mae, p.mae, 4},
            {"mae_percent", "MAE%", m.mae_percent, p.mae_percent, 4},
            {"wce", "WCE", m.wce, p.wce, 0},
            {"wce_percent", "WCE%", m.wce_percent, p.wce_percent, 4},
            {"wcre_percent", "WCRE%", m.wcre_percent, p.wcre_percent, 2},
            {"ep_percent", "EP%", m.ep_percent, p.ep_percent, 2},
            {"mre_percent", "MRE%", m.mre_percent, p.mre_percent, 4},
            {"mse", "MSE", m.mse, p.mse, 2},
            {"bias", "bias", m.bias, std::nullopt, 4}};
}

}  // namespace

BlockRow characterize_row(std::string name, std::string component, std::shared_ptr<ApproxBlock> block) {
    BlockRow r{std::move(name), std::move(component), std::move(block), {}};
    r.metrics = characterize(*r.block);
    return r;
}

nlohmann::json to_json(const BlockRow& r) {
    const ApproxBlock& b = *r.block;
    const HardwareCost c = b.cost();
    nlohmann::json metrics = nlohmann::json::object();
    nlohmann::json published = nlohmann::json::object();
    for (const auto& v : metric_views(r)) {
        metrics[v.key] = v.computed;
        if (v.published) published[v.key] = *v.published;
    }
    metrics["zero_exact_wrong"] = r.metrics.zero_exact_wrong;
    metrics["pairs"] = r.metrics.pairs;
    metrics["sampled"] = r.metrics.sampled;
    metrics["output_range"] = r.metrics.output_range;
    nlohmann::json j = {{"name", r.name},
                        {"component", r.component},
                        {"op", to_string(b.op())},
                        {"activation_bits", b.activation_bits()},
                        {"weight_bits", b.weight_bits()},
                        {"signed", b.is_signed()},
                        {"metrics", metrics},
                        {"cost", to_json(c)}};
    if (!published.empty()) {
        const std::string src = b.published().source;
        if (!src.empty()) published["source"] = src;
        j["published"] = published;
    }
    return j;
}

std::vector<std::string> dominated_by(const std::vector<BlockRow>& rows) {
    std::vector<std::string> out(rows.size());
    // A MAC block's metrics are its multiplier's (the adder's error is accumulated, not per
    // operation), so it is compared with nothing and nothing with it.
    const auto is_mac = [](const ApproxBlock& b) { return dynamic_cast<const MacBlock*>(&b) != nullptr; };
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const ApproxBlock& a = *rows[i].block;
        if (is_mac(a)) continue;
        const double pa = a.cost().power_mw, ea = rows[i].metrics.mae;
        for (std::size_t j = 0; j < rows.size() && out[i].empty(); ++j) {
            const ApproxBlock& b = *rows[j].block;
            if (i == j || is_mac(b) || b.op() != a.op() || b.is_signed() != a.is_signed() || b.activation_bits() != a.activation_bits() ||
                b.weight_bits() != a.weight_bits())
                continue;
            const double pb = b.cost().power_mw, eb = rows[j].metrics.mae;
            if (pb <= pa && eb <= ea && (pb < pa || eb < ea)) out[i] = rows[j].name;
        }
    }
    return out;
}

std::string format_block_table(const std::vector<BlockRow>& rows) {
    const std::vector<std::string> head = {"block", "component", "op", "bits", "MAE%", "WCE%", "EP%",
                                           "MRE%",  "bias",      "power mW", "area um2", "delay ns", "power-MAE front"};
    const std::vector<std::string> dominated = dominated_by(rows);
    std::vector<std::vector<std::string>> cells;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const BlockRow& r = rows[i];
        const ApproxBlock& b = *r.block;
        const HardwareCost c = b.cost();
        cells.push_back({r.name, r.component, b.op() == BlockOp::Multiply ? "mul" : "add",
                         std::to_string(b.activation_bits()) + "x" + std::to_string(b.weight_bits()) +
                             (b.is_signed() ? "s" : "u"),
                         fixed(r.metrics.mae_percent, 4), fixed(r.metrics.wce_percent, 3), fixed(r.metrics.ep_percent, 2),
                         fixed(r.metrics.mre_percent, 3), fixed(r.metrics.bias, 2), fixed(c.power_mw, 4),
                         fixed(c.area_um2, 1), fixed(c.delay_ns, 2),
                         dynamic_cast<const MacBlock*>(&b) ? "MAC: not compared (MAE is the multiplier's)"
                         : dominated[i].empty()              ? "on it"
                                                             : "dominated by " + dominated[i]});
    }
    std::vector<std::size_t> w(head.size());
    for (std::size_t i = 0; i < head.size(); ++i) {
        w[i] = head[i].size();
        for (const auto& row : cells) w[i] = std::max(w[i], row[i].size());
    }
    // the last column is text, left-aligned and unpadded
    const auto line = [&](const std::vector<std::string>& row) {
        std::string s;
        for (std::size_t i = 0; i < row.size(); ++i)
            s += (i ? "  " : "") + (i + 1 == row.size() ? row[i] : pad(row[i], w[i], i < 4));
        return s + "\n";
    };
    std::ostringstream out;
    out << line(head);
    for (const auto& row : cells) out << line(row);
    return out.str();
}

std::string format_block_csv(const std::vector<BlockRow>& rows) {
    std::ostringstream out;
    out << "block,component,op,activation_bits,weight_bits,signed,mae,mae_percent,wce,wce_percent,wcre_percent,"
           "ep_percent,mre_percent,mse,bias,power_mw,area_um2,delay_ns,cost_source\n";
    for (const auto& r : rows) {
        const ApproxBlock& b = *r.block;
        const HardwareCost c = b.cost();
        const ErrorMetrics& m = r.metrics;
        char buf[512];
        std::snprintf(buf, sizeof buf, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g", m.mae,
                      m.mae_percent, m.wce, m.wce_percent, m.wcre_percent, m.ep_percent, m.mre_percent, m.mse, m.bias,
                      c.power_mw, c.area_um2, c.delay_ns);
        out << csv_field(r.name) << "," << csv_field(r.component) << "," << to_string(b.op()) << ","
            << b.activation_bits() << "," << b.weight_bits() << "," << (b.is_signed() ? "true" : "false") << "," << buf
            << "," << csv_field(c.source) << "\n";
    }
    return out.str();
}

std::string format_block_details(const BlockRow& r) {
    const ApproxBlock& b = *r.block;
    const HardwareCost c = b.cost();
    const PublishedMetrics p = b.published();
    std::ostringstream out;
    out << r.name << "  (" << r.component << ")\n";
    out << "  " << to_string(b.op()) << ", " << b.activation_bits() << "x" << b.weight_bits() << " bits, "
        << (b.is_signed() ? "signed" : "unsigned") << ", apply(activation, weight)\n";
    out << "  error over " << (r.metrics.sampled ? "" : "all ") << r.metrics.pairs
        << (r.metrics.sampled ? " random (splitmix64 seed 1) operand pairs, the block being too wide for every pair"
                              : " operand pairs")
        << " (percentages of the output range "
        << fixed(r.metrics.output_range, 0) << ")\n";
    out << "    " << pad("metric", 7) << pad("computed", 18, false) << pad("published", 14, false) << "\n";
    const std::vector<FigureCheck> checks = check_published(p, r.metrics);
    for (const auto& v : metric_views(r)) {
        out << "    " << pad(v.label, 7) << pad(fixed(v.computed, v.decimals), 18, false);
        const auto check = std::find_if(checks.begin(), checks.end(), [&](const FigureCheck& c) { return c.key == v.key; });
        if (check != checks.end())
            out << pad(check->text, 14, false)
                << (!check->agrees            ? "  DISAGREES"
                    : check->via_published      ? "  agrees (as the published MAE/WCE)"
                    : check->via_sampling       ? "  agrees (as a sample can)"
                                                : "  agrees");
        out << "\n";
    }
    if (r.metrics.zero_exact_wrong)
        out << "    (" << r.metrics.zero_exact_wrong
            << " pairs with exact result 0 give a non-zero result; MRE/WCRE leave them out)\n";
    if (!p.source.empty()) out << "  published figures: " << p.source << "\n";
    out << "  cost: " << fixed(c.power_mw, 4) << " mW, " << fixed(c.area_um2, 1) << " um2, " << fixed(c.delay_ns, 3)
        << " ns";
    if (c.energy_pj) out << ", " << fixed(*c.energy_pj, 4) << " pJ/op";
    out << "\n  cost source: " << (c.source.empty() ? "(not stated)" : c.source) << "\n";
    return out.str();
}

}  // namespace hawx
