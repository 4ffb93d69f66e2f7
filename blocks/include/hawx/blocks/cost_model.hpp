#pragma once
/// \file
/// Hardware-cost estimate shared by every parametric block of the `core` library.
///
/// No synthesized figures exist for the parametric families, so their cost is a
/// unit-gate estimate (after Zimmermann's unit-gate model):
///
///   cell                     area (gate equivalents, GE)   delay (unit delays)
///   AND/OR/NAND/NOR (2-in)   1                              1
///   XOR/XNOR                 2                              2
///   MUX2                     3                              2
///   half adder               3                              sum 2, carry 1
///   full adder               7                              sum/carry 2 after the
///                                                           later of (x XOR y) and z
///   inverters, constants     0                              0
///
/// A design's cells are counted (AND/NAND gates for partial products, the adders that
/// reduce the kept partial-product columns, leading-one detectors, multiplexers and
/// barrel shifters, sign-magnitude conversions) and its critical path is the latest
/// output arrival under the delays above. The figures are then scaled:
///
///   area_um2 = GE / GE_ref * ref_area_um2,   power_mw = GE / GE_ref * ref_power_mw,
///   delay_ns = depth * gate_delay_ns,
///
/// GE_ref being the model's own count for the exact signed 8x8 Baugh-Wooley multiplier and
/// the reference figures EvoApproxLib's published PDK45 figures of mul8s_1KV6 (exact
/// signed 8x8 multiplier): 0.425 mW, 729.8 um^2. Power is assumed proportional to the
/// gate count (switching activity is not modeled). `gate_delay_ns` (default 0.05 ns per
/// unit delay) is an assumption, not a published figure. Adders use the same scale, but
/// there is no adder reference: adder figures are meaningful only as ratios to the exact
/// adder under this model. The estimate ranks designs of one family; it is not a
/// substitute for synthesis: pass `power_mw`, `area_um2`, `delay_ns` to use real figures.
#include <functional>
#include <string>
#include <vector>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/params.hpp>

namespace hawx::blocks {

/// Unit-gate figures of a (sub)circuit: area in gate equivalents, depth in unit delays.
struct GateEstimate {
    double area_ge = 0;
    double depth = 0;
};

/// Cells of the unit-gate model.
namespace unit_gate {
inline constexpr double kGateArea = 1, kGateDelay = 1;
inline constexpr double kXorArea = 2, kXorDelay = 2;
inline constexpr double kMuxArea = 3, kMuxDelay = 2;
inline constexpr double kHalfAdderArea = 3;
inline constexpr double kFullAdderArea = 7;
}  // namespace unit_gate

/// Column compression: `columns[c]` holds the arrival times of the bits of weight 2^c.
/// Each column is reduced to one bit, least significant column first: while three or
/// more bits remain, a full adder takes the three earliest (sum back into the column,
/// carry into the next); two remaining bits go through a half adder. A column of h bits
/// (its own plus incoming carries) therefore costs floor((h-1)/2) full adders and
/// (h-1) mod 2 half adders. Carries out of the last column are dropped (the result is
/// taken modulo 2^columns.size()). Returns the adders' area and the latest output arrival.
GateEstimate reduce_columns(std::vector<std::vector<double>> columns);

/// Partial-product array multiplier: an AND (or NAND) gate per kept cell (i, j) at column
/// i+j, the Baugh-Wooley constants 2^n and 2^(2n-1) when signed, reduced with
/// reduce_columns over 2n columns. `keep(i, j)` says whether the cell of activation bit i
/// and weight bit j exists (nullptr: all cells).
GateEstimate array_multiplier(int bits, bool is_signed, const std::function<bool(int, int)>& keep = nullptr);

/// Ripple-carry adder of two `bits`-wide operands (half adder at bit 0, full adders above).
GateEstimate ripple_adder(int bits);

/// Leading-one detector with binary encoder over `bits` bits (prefix-OR tree, one-hot AND
/// stage, encoder OR trees), also giving the "operand is zero" flag.
GateEstimate leading_one_detector(int bits);

/// Logarithmic barrel shifter producing `outputs` bits, able to shift by 0..positions-1:
/// ceil(log2(positions)) levels of `outputs` MUX2 each.
GateEstimate barrel_shifter(int outputs, int positions);

/// Conditional two's-complement negation of a `bits`-wide word (XOR row plus incrementer),
/// as used to convert between two's complement and sign-magnitude.
GateEstimate conditional_negate(int bits);

/// ceil(log2(x)) for x >= 1.
int ceil_log2(int x);

/// The model's gate count of the reference design, the exact signed 8x8 multiplier.
double reference_multiplier_ge();

/// Cost settings every parametric block accepts (see cost_param_specs).
struct CostSettings {
    double ref_power_mw = 0.425;
    double ref_area_um2 = 729.8;
    double gate_delay_ns = 0.05;
    double power_mw = -1, area_um2 = -1, delay_ns = -1;  ///< < 0: use the estimate
};

/// The cost parameters appended to every parametric block's schema: ref_power_mw,
/// ref_area_um2, gate_delay_ns, power_mw, area_um2, delay_ns.
std::vector<ParamSpec> cost_param_specs();

/// Reads the cost parameters; throws hawx::Error naming `component` and the parameter
/// for a non-positive reference figure.
CostSettings read_cost_settings(const Params& params, const std::string& component);

/// Turns an estimate into a HardwareCost, applying user figures where given.
/// `is_adder` adds the ratio-only caveat to the source.
HardwareCost estimate_cost(const GateEstimate& estimate, const CostSettings& settings, bool is_adder);

/// Source strings used by estimate_cost.
inline constexpr const char* kEstimateSource = "estimate: unit-gate model scaled to mul8s_1KV6 (PDK45)";
inline constexpr const char* kUserSource = "user parameters";

}  // namespace hawx::blocks
