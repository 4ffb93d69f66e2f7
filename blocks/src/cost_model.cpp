#include "hawx/blocks/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include <hawx/sdk/error.hpp>

namespace hawx::blocks {

using namespace unit_gate;

int ceil_log2(int x) {
    int l = 0;
    while ((1 << l) < x) ++l;
    return l;
}

GateEstimate reduce_columns(std::vector<std::vector<double>> columns) {
    GateEstimate e;
    std::vector<double> carries;
    for (std::size_t c = 0; c < columns.size(); ++c) {
        std::vector<double> bits = std::move(columns[c]);
        bits.insert(bits.end(), carries.begin(), carries.end());
        carries.clear();
        std::sort(bits.begin(), bits.end());
        while (bits.size() >= 3) {
            // Full adder on the three earliest bits x <= y <= z: p = x XOR y; sum = p XOR z;
            // carry = x.y + p.z. Both outputs settle 2 unit delays after max(p, z).
            const double x = bits[0], y = bits[1], z = bits[2];
            bits.erase(bits.begin(), bits.begin() + 3);
            const double p = std::max(x, y) + kXorDelay;
            const double out = std::max(p, z) + 2;
            bits.insert(std::upper_bound(bits.begin(), bits.end(), out), out);
            carries.push_back(out);
            e.area_ge += kFullAdderArea;
        }
        if (bits.size() == 2) {
            const double t = std::max(bits[0], bits[1]);
            bits = {t + kXorDelay};
            carries.push_back(t + kGateDelay);
            e.area_ge += kHalfAdderArea;
        }
        if (!bits.empty()) e.depth = std::max(e.depth, bits[0]);
    }
    return e;  // carries out of the last column are dropped
}

GateEstimate array_multiplier(int bits, bool is_signed, const std::function<bool(int, int)>& keep) {
    std::vector<std::vector<double>> columns(static_cast<std::size_t>(2 * bits));
    double cells = 0;
    for (int j = 0; j < bits; ++j)
        for (int i = 0; i < bits; ++i)
            if (!keep || keep(i, j)) {
                columns[static_cast<std::size_t>(i + j)].push_back(kGateDelay);
                cells += kGateArea;
            }
    if (is_signed) {  // Baugh-Wooley constants: free (tied-high inputs)
        columns[static_cast<std::size_t>(bits)].push_back(0.0);
        columns[static_cast<std::size_t>(2 * bits - 1)].push_back(0.0);
    }
    GateEstimate e = reduce_columns(std::move(columns));
    e.area_ge += cells;
    return e;
}

GateEstimate ripple_adder(int bits) {
    if (bits <= 0) return {};
    std::vector<std::vector<double>> columns(static_cast<std::size_t>(bits + 1));
    for (int c = 0; c < bits; ++c) columns[static_cast<std::size_t>(c)] = {0.0, 0.0};
    return reduce_columns(std::move(columns));
}

GateEstimate leading_one_detector(int bits) {
    if (bits <= 1) return {};
    const int levels = ceil_log2(bits);
    const double half = std::ceil(bits / 2.0);
    GateEstimate e;
    e.area_ge = half * levels * kGateArea                  // prefix-OR tree (from the MSB down)
                + (bits - 1) * kGateArea                   // one-hot: bit AND NOT(prefix above)
                + levels * std::max(0.0, half - 1) * kGateArea;  // encoder: one OR tree per output bit
    e.depth = levels * kGateDelay + kGateDelay + ceil_log2(static_cast<int>(half)) * kGateDelay;
    return e;
}

GateEstimate barrel_shifter(int outputs, int positions) {
    if (outputs <= 0 || positions <= 1) return {};
    const int levels = ceil_log2(positions);
    return {static_cast<double>(levels) * outputs * kMuxArea, levels * kMuxDelay};
}

GateEstimate conditional_negate(int bits) {
    if (bits <= 0) return {};
    // XOR row with the sign, then +sign through a half-adder incrementer.
    return {bits * (kXorArea + kHalfAdderArea), kXorDelay + (bits - 1) * kGateDelay + kXorDelay};
}

double reference_multiplier_ge() {
    static const double ge = array_multiplier(8, true).area_ge;
    return ge;
}

std::vector<ParamSpec> cost_param_specs() {
    return {
        ParamSpec::real("ref_power_mw",
                        "power of the reference exact signed 8x8 multiplier the unit-gate estimate is scaled to "
                        "(default: EvoApproxLib mul8s_1KV6, PDK45, published)")
            .with_default(0.425)
            .at_least(0),
        ParamSpec::real("ref_area_um2",
                        "area of the reference exact signed 8x8 multiplier the unit-gate estimate is scaled to "
                        "(default: EvoApproxLib mul8s_1KV6, PDK45, published)")
            .with_default(729.8)
            .at_least(0),
        ParamSpec::real("gate_delay_ns",
                        "delay of one unit gate delay in the estimate (an assumption, not a published figure)")
            .with_default(0.05)
            .at_least(0),
        ParamSpec::real("power_mw", "synthesized power in mW; -1: use the unit-gate estimate").with_default(-1.0),
        ParamSpec::real("area_um2", "synthesized area in um^2; -1: use the unit-gate estimate").with_default(-1.0),
        ParamSpec::real("delay_ns", "synthesized delay in ns; -1: use the unit-gate estimate").with_default(-1.0),
    };
}

CostSettings read_cost_settings(const Params& p, const std::string& component) {
    CostSettings s;
    s.ref_power_mw = p.get_float("ref_power_mw");
    s.ref_area_um2 = p.get_float("ref_area_um2");
    s.gate_delay_ns = p.get_float("gate_delay_ns");
    s.power_mw = p.get_float("power_mw");
    s.area_um2 = p.get_float("area_um2");
    s.delay_ns = p.get_float("delay_ns");
    if (!(s.ref_power_mw > 0)) throw Error("parameter 'ref_power_mw' of " + component + " must be > 0");
    if (!(s.ref_area_um2 > 0)) throw Error("parameter 'ref_area_um2' of " + component + " must be > 0");
    if (!(s.gate_delay_ns >= 0)) throw Error("parameter 'gate_delay_ns' of " + component + " must be >= 0");
    return s;
}

HardwareCost estimate_cost(const GateEstimate& e, const CostSettings& s, bool is_adder) {
    const double scale = e.area_ge / reference_multiplier_ge();
    HardwareCost c;
    c.power_mw = scale * s.ref_power_mw;
    c.area_um2 = scale * s.ref_area_um2;
    c.delay_ns = e.depth * s.gate_delay_ns;
    std::string user;
    auto take = [&](double v, double& field, const char* name) {
        if (v < 0) return;
        field = v;
        user += user.empty() ? name : std::string(", ") + name;
    };
    take(s.power_mw, c.power_mw, "power_mw");
    take(s.area_um2, c.area_um2, "area_um2");
    take(s.delay_ns, c.delay_ns, "delay_ns");
    std::string estimate = kEstimateSource;
    if (is_adder) estimate += "; adder figures are meaningful only as ratios to the model's exact adder";
    if (user.empty())
        c.source = estimate;
    else if (s.power_mw >= 0 && s.area_um2 >= 0 && s.delay_ns >= 0)
        c.source = kUserSource;
    else
        c.source = std::string(kUserSource) + " (" + user + "); other figures " + estimate;
    return c;
}

}  // namespace hawx::blocks
