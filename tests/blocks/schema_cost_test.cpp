// Component schemas, parameter validation of the factories, and the shared cost model.
#include <set>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/cost_model.hpp>
#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/exact_add.hpp>
#include <hawx/blocks/exact_mul.hpp>
#include <hawx/blocks/loa_add.hpp>
#include <hawx/blocks/mitchell_mul.hpp>
#include <hawx/blocks/table_block.hpp>
#include <hawx/blocks/truncated_add.hpp>
#include <hawx/blocks/truncated_mul.hpp>

#include "block_test_util.hpp"

namespace {

using hawx::test::error_of;
using hawx::test::P;
using namespace hawx::blocks;

// What the core checks at registration, and what the CLI's listing needs.
void check_schema(const hawx::ComponentInfo& info, const std::string& name) {
    SCOPED_TRACE(name);
    EXPECT_EQ(info.name, name);
    EXPECT_EQ(info.kind, hawx::Kind::Block);
    EXPECT_FALSE(info.version.empty());
    EXPECT_FALSE(info.summary.empty());
    EXPECT_EQ(info.summary.find('\n'), std::string::npos);
    std::set<std::string> seen;
    for (const auto& p : info.params) {
        SCOPED_TRACE(p.name);
        EXPECT_TRUE(seen.insert(p.name).second) << "declared twice";
        EXPECT_FALSE(p.doc.empty());
        if (p.min || p.max) {
            EXPECT_TRUE(p.type == hawx::ParamType::Int || p.type == hawx::ParamType::Float);
        }
        if (!p.choices.empty()) { EXPECT_EQ(p.type, hawx::ParamType::String); }
        if (!p.default_value) continue;
        const auto& d = *p.default_value;
        switch (p.type) {
            case hawx::ParamType::Bool: EXPECT_TRUE(std::holds_alternative<bool>(d)); break;
            case hawx::ParamType::Int: EXPECT_TRUE(std::holds_alternative<std::int64_t>(d)); break;
            case hawx::ParamType::Float: EXPECT_TRUE(std::holds_alternative<double>(d)); break;
            default: EXPECT_TRUE(std::holds_alternative<std::string>(d)); break;
        }
        double v = 0;
        if (auto i = std::get_if<std::int64_t>(&d)) v = static_cast<double>(*i);
        if (auto f = std::get_if<double>(&d)) v = *f;
        if (p.min) { EXPECT_GE(v, *p.min); }
        if (p.max) { EXPECT_LE(v, *p.max); }
        if (!p.choices.empty()) {
            const auto& s = std::get<std::string>(d);
            EXPECT_NE(std::find(p.choices.begin(), p.choices.end(), s), p.choices.end());
        }
    }
}

TEST(Schemas, EveryComponentDescribesItself) {
    check_schema(ExactMul::describe(), "exact_mul");
    check_schema(TruncatedMul::describe(), "truncated_mul");
    check_schema(BamMul::describe(), "bam_mul");
    check_schema(DrumMul::describe(), "drum_mul");
    check_schema(MitchellMul::describe(), "mitchell_mul");
    check_schema(ExactAdd::describe(), "exact_add");
    check_schema(LoaAdd::describe(), "loa_add");
    check_schema(TruncatedAdd::describe(), "truncated_add");
    check_schema(TableBlock::describe(), "table");
    // The table's path is required; the k of truncated_mul is declared 0..16 (the CLI tests rely on it).
    bool path_required = false;
    for (const auto& p : TableBlock::describe().params)
        if (p.name == "path") path_required = p.required() && p.type == hawx::ParamType::Path;
    EXPECT_TRUE(path_required);
    for (const auto& p : TruncatedMul::describe().params)
        if (p.name == "k") {
            EXPECT_EQ(*p.min, 0);
            EXPECT_EQ(*p.max, 16);
        }
}

// The message names the component and the parameter, on one line.
void expect_param_error(const std::string& msg, const std::string& component, const std::string& param) {
    EXPECT_NE(msg.find(component), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + param + "'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(Validation, CrossParameterConstraintsThrowNamingTheParameter) {
    expect_param_error(error_of([] { P<TruncatedMul>().i("bits", 8).i("k", 17).make(); }), "truncated_mul", "k");
    expect_param_error(error_of([] { P<TruncatedMul>().i("bits", 4).i("k", 9).make(); }), "truncated_mul", "k");
    EXPECT_NO_THROW(P<TruncatedMul>().i("bits", 4).i("k", 8).make());
    expect_param_error(error_of([] { P<BamMul>().i("bits", 4).i("hbl", 5).i("vbl", 0).make(); }), "bam_mul", "hbl");
    expect_param_error(error_of([] { P<BamMul>().i("bits", 4).i("hbl", 0).i("vbl", 9).make(); }), "bam_mul", "vbl");
    expect_param_error(error_of([] { P<DrumMul>().b("signed", true).i("bits", 8).i("k", 2).make(); }), "drum_mul", "k");
    EXPECT_NO_THROW(P<DrumMul>().b("signed", false).i("bits", 8).i("k", 2).make());  // unsigned fits
    EXPECT_NO_THROW(P<DrumMul>().b("signed", true).i("bits", 8).i("k", 3).make());
    expect_param_error(error_of([] { P<MitchellMul>().i("bits", 4).i("frac_bits", 4).make(); }), "mitchell_mul",
                       "frac_bits");
    EXPECT_NO_THROW(P<MitchellMul>().i("bits", 4).i("frac_bits", 3).make());
    expect_param_error(error_of([] { P<LoaAdd>().i("bits", 4).i("k", 5).make(); }), "loa_add", "k");
    expect_param_error(error_of([] { P<TruncatedAdd>().i("bits", 6).i("k", 7).make(); }), "truncated_add", "k");
    expect_param_error(error_of([] { P<ExactMul>().f("ref_area_um2", 0.0).make(); }), "exact_mul", "ref_area_um2");
}

TEST(CostModel, ExactSigned8x8IsTheReference) {
    const ExactMul b = P<ExactMul>().make();
    EXPECT_DOUBLE_EQ(b.cost().power_mw, 0.425);
    EXPECT_DOUBLE_EQ(b.cost().area_um2, 729.8);
    EXPECT_GT(b.cost().delay_ns, 0.0);
    EXPECT_EQ(b.cost().source, kEstimateSource);
    // Scaling follows the reference parameters and the gate delay.
    const ExactMul r = P<ExactMul>().f("ref_power_mw", 1.0).f("ref_area_um2", 1000.0).f("gate_delay_ns", 0.1).make();
    EXPECT_DOUBLE_EQ(r.cost().power_mw, 1.0);
    EXPECT_DOUBLE_EQ(r.cost().area_um2, 1000.0);
    EXPECT_DOUBLE_EQ(r.cost().delay_ns, 2 * b.cost().delay_ns);
}

TEST(CostModel, UserFiguresOverrideTheEstimate) {
    const TruncatedMul all = P<TruncatedMul>().f("power_mw", 0.3).f("area_um2", 500.0).f("delay_ns", 1.2).make();
    EXPECT_EQ(all.cost().power_mw, 0.3);
    EXPECT_EQ(all.cost().area_um2, 500.0);
    EXPECT_EQ(all.cost().delay_ns, 1.2);
    EXPECT_EQ(all.cost().source, "user parameters");
    const TruncatedMul some = P<TruncatedMul>().f("area_um2", 500.0).make();
    EXPECT_EQ(some.cost().area_um2, 500.0);
    EXPECT_EQ(some.cost().power_mw, P<TruncatedMul>().make().cost().power_mw);
    EXPECT_NE(some.cost().source.find("user parameters (area_um2)"), std::string::npos);
    EXPECT_NE(some.cost().source.find(kEstimateSource), std::string::npos);
}

TEST(CostModel, RemovingCellsMakesMultipliersCheaper) {
    double last_area = 1e9, last_power = 1e9;
    for (int k = 0; k <= 16; k += 2) {
        const TruncatedMul b = P<TruncatedMul>().i("k", k).make();
        EXPECT_LT(b.cost().area_um2, last_area) << k;
        EXPECT_LT(b.cost().power_mw, last_power) << k;
        last_area = b.cost().area_um2;
        last_power = b.cost().power_mw;
    }
    const double exact = P<ExactMul>().make().cost().area_um2;
    EXPECT_LT(P<BamMul>().i("hbl", 2).i("vbl", 5).make().cost().area_um2,
              P<BamMul>().i("hbl", 0).i("vbl", 5).make().cost().area_um2);
    EXPECT_LT(P<ExactMul>().b("signed", false).i("bits", 4).make().cost().area_um2, exact);
    // DRUM with k >= bits is the exact multiplier, also in cost.
    EXPECT_DOUBLE_EQ(P<DrumMul>().i("k", 8).make().cost().area_um2, exact);
    EXPECT_LT(P<DrumMul>().i("k", 3).make().cost().area_um2, P<DrumMul>().i("k", 6).make().cost().area_um2);
    EXPECT_LT(P<MitchellMul>().i("frac_bits", 3).make().cost().area_um2,
              P<MitchellMul>().make().cost().area_um2);
}

TEST(CostModel, AddersAreRatiosToTheExactAdder) {
    const ExactAdd exact = P<ExactAdd>().make();
    EXPECT_NE(exact.cost().source.find("ratios"), std::string::npos) << exact.cost().source;
    EXPECT_LT(exact.cost().area_um2, P<ExactMul>().make().cost().area_um2);
    EXPECT_LT(P<LoaAdd>().i("k", 4).make().cost().area_um2, exact.cost().area_um2);
    EXPECT_LT(P<TruncatedAdd>().i("k", 4).make().cost().area_um2, P<LoaAdd>().i("k", 4).make().cost().area_um2);
    EXPECT_EQ(P<TruncatedAdd>().i("k", 8).make().cost().area_um2, 0.0);
    EXPECT_LT(P<LoaAdd>().i("k", 4).make().cost().delay_ns, exact.cost().delay_ns);
}

TEST(CostModel, ColumnReductionCountsAdders) {
    // One column of h bits costs floor((h-1)/2) full adders and (h-1) mod 2 half adders;
    // two 4-bit operands: 1 half adder + 3 full adders = 3 + 21 GE.
    EXPECT_EQ(reduce_columns({{0, 0, 0, 0, 0}}).area_ge, 2 * unit_gate::kFullAdderArea);
    EXPECT_EQ(reduce_columns({{0, 0, 0, 0}}).area_ge, unit_gate::kFullAdderArea + unit_gate::kHalfAdderArea);
    EXPECT_EQ(ripple_adder(4).area_ge, unit_gate::kHalfAdderArea + 3 * unit_gate::kFullAdderArea);
    EXPECT_EQ(reduce_columns({{0}, {0}}).area_ge, 0.0);
    // Unsigned 2x2 array: 4 AND gates; column 1 holds 2 bits (half adder), column 2 holds
    // 1 bit plus a carry (half adder), column 3 only a carry.
    EXPECT_EQ(array_multiplier(2, false).area_ge, 4 + 2 * unit_gate::kHalfAdderArea);
}

}  // namespace
