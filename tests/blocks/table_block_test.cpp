// The `table` component: TFApprox-layout file + JSON sidecar.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/loa_add.hpp>
#include <hawx/blocks/table_block.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/sdk/error_metrics.hpp>
#include <hawx/sdk/table_file.hpp>
#include <hawx/sdk/table_sidecar.hpp>

#include "block_test_util.hpp"

namespace {

using hawx::test::error_of;
using hawx::test::P;
using hawx::test::TempDir;
using namespace hawx::blocks;

// Exports block b as `name`.bin + .json; `weight_first` writes the table transposed and
// says so in the sidecar.
std::string export_block(const TempDir& dir, const std::string& name, const hawx::ApproxBlock& b,
                         bool weight_first = false, const hawx::PublishedMetrics& published = {}) {
    const std::vector<std::int32_t> canonical = hawx::block_table(b);
    std::vector<std::int32_t> file = canonical;
    if (weight_first)
        for (std::uint32_t a = 0; a < 256; ++a)
            for (std::uint32_t w = 0; w < 256; ++w) file[(w << 8) | a] = canonical[(a << 8) | w];
    const std::string path = dir.file(name + ".bin");
    hawx::write_table_file(path, file, b.is_signed());
    hawx::TableSidecar s;
    s.name = name;
    s.op = b.op();
    s.is_signed = b.is_signed();
    s.activation_first = !weight_first;
    s.cost = b.cost();
    s.published = published;
    s.origin = "blocks_test";
    hawx::write_sidecar(hawx::sidecar_path(path), s);
    return path;
}

TEST(TableBlock, ExportedTableLoadsBackIdentically) {
    TempDir dir;
    for (bool s : {false, true}) {
        const BamMul bam = P<BamMul>().b("signed", s).i("hbl", 2).i("vbl", 5).make();
        const std::string path = export_block(dir, s ? "bam_s" : "bam_u", bam);
        const TableBlock t = P<TableBlock>().s("path", path).make();
        EXPECT_EQ(t.is_signed(), s);
        EXPECT_EQ(t.op(), hawx::BlockOp::Multiply);
        EXPECT_EQ(hawx::block_table(t), hawx::block_table(bam));
        EXPECT_EQ(t.apply(-3 * s + 7, 100), bam.apply(-3 * s + 7, 100));
        EXPECT_EQ(t.cost().area_um2, bam.cost().area_um2);
        EXPECT_EQ(t.cost().power_mw, bam.cost().power_mw);
        EXPECT_EQ(t.cost().source, bam.cost().source);
        EXPECT_EQ(t.name(), s ? "bam_s" : "bam_u");
    }
    const LoaAdd loa = P<LoaAdd>().b("signed", true).make();
    const TableBlock t = P<TableBlock>().s("path", export_block(dir, "loa", loa)).make();
    EXPECT_EQ(t.op(), hawx::BlockOp::Add);
    EXPECT_EQ(hawx::block_table(t), hawx::block_table(loa));
}

TEST(TableBlock, WeightFirstTableIsTransposedOnLoad) {
    TempDir dir;
    const BamMul bam = P<BamMul>().b("signed", true).i("hbl", 2).i("vbl", 5).make();
    int x = 0, y = 0;  // a pair with bam(x, y) != bam(y, x)
    hawx::test::for_all_pairs(bam, [&](int a, int w) {
        if (x == 0 && bam.apply(a, w) != bam.apply(w, a)) x = a, y = w;
    });
    ASSERT_NE(bam.apply(x, y), bam.apply(y, x)) << "the test needs a non-commutative block";
    const std::string path = export_block(dir, "bam_t", bam, /*weight_first=*/true);
    // The raw file really is transposed: row = weight code.
    const auto raw = hawx::read_table_file(path, true);
    EXPECT_EQ(raw[(hawx::value_to_code(y, 8) << 8) | hawx::value_to_code(x, 8)], bam.apply(x, y));
    const TableBlock t = P<TableBlock>().s("path", path).make();
    EXPECT_EQ(hawx::block_table(t), hawx::block_table(bam));
    EXPECT_EQ(t.apply(x, y), bam.apply(x, y));
    EXPECT_EQ(t.apply(y, x), bam.apply(y, x));
    // Claiming the opposite order contradicts the sidecar.
    const std::string msg = hawx::test::error_of([&] { P<TableBlock>().s("path", path).s("first_operand", "activation").make(); });
    EXPECT_NE(msg.find("'first_operand'"), std::string::npos) << msg;
}

TEST(TableBlock, WithoutSidecarParametersMustSayEverything) {
    TempDir dir;
    const BamMul bam = P<BamMul>().b("signed", false).i("hbl", 2).i("vbl", 5).make();
    const std::string path = export_block(dir, "bare", bam);
    std::filesystem::remove(hawx::sidecar_path(path));
    std::string msg = error_of([&] { P<TableBlock>().s("path", path).make(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("'signedness'"), std::string::npos) << msg;
    msg = error_of([&] { P<TableBlock>().s("path", path).s("signedness", "unsigned").s("op", "multiply").make(); });
    EXPECT_NE(msg.find("'first_operand'"), std::string::npos) << msg;
    msg = error_of([&] {
        P<TableBlock>().s("path", path).s("signedness", "unsigned").s("op", "multiply").s("first_operand", "weight").make();
    });
    EXPECT_NE(msg.find("'power_mw'"), std::string::npos) << msg;
    const TableBlock t = P<TableBlock>()
                             .s("path", path)
                             .s("signedness", "unsigned")
                             .s("op", "multiply")
                             .s("first_operand", "weight")
                             .f("power_mw", 0.2)
                             .f("area_um2", 300.0)
                             .f("delay_ns", 1.1)
                             .make();
    EXPECT_EQ(t.cost().power_mw, 0.2);
    EXPECT_EQ(t.cost().area_um2, 300.0);
    EXPECT_EQ(t.cost().source, "user parameters");
    EXPECT_TRUE(t.published().empty());
    // first_operand = weight: transposed on load.
    for (int a : {1, 4, 77, 200})
        for (int w : {1, 4, 13, 255}) EXPECT_EQ(t.apply(a, w), bam.apply(w, a)) << a << "*" << w;
}

TEST(TableBlock, ParametersMustAgreeWithTheSidecarButCostsOverride) {
    TempDir dir;
    const BamMul bam = P<BamMul>().b("signed", true).make();
    const std::string path = export_block(dir, "agree", bam);
    const std::string msg = error_of([&] { P<TableBlock>().s("path", path).s("signedness", "unsigned").make(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("'signedness'"), std::string::npos) << msg;
    const TableBlock t = P<TableBlock>().s("path", path).s("signedness", "signed").f("area_um2", 123.0).make();
    EXPECT_EQ(t.cost().area_um2, 123.0);
    EXPECT_EQ(t.cost().power_mw, bam.cost().power_mw);
    EXPECT_NE(t.cost().source.find("user parameters (area_um2)"), std::string::npos) << t.cost().source;
}

TEST(TableBlock, WrongSizeFileIsAnErrorNamingTheFile) {
    TempDir dir;
    const std::string path = dir.file("short.bin");
    std::ofstream(path, std::ios::binary) << std::string(1000, '\0');
    const std::string msg = error_of([&] { P<TableBlock>().s("path", path).make(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("1000 bytes"), std::string::npos) << msg;
    const std::string missing = dir.file("missing.bin");
    EXPECT_NE(error_of([&] { P<TableBlock>().s("path", missing).make(); }).find(missing), std::string::npos);
}

// A figure as EvoApproxLib prints it: `digits` significant digits, cut (truncated) or rounded.
std::string printed(double v, int digits, bool truncate) {
    if (v == 0) return "0";
    const int exponent = static_cast<int>(std::floor(std::log10(std::fabs(v))));
    const int decimals = std::max(0, digits - 1 - exponent);
    const double scale = std::pow(10.0, decimals);
    const double cut = truncate ? std::trunc(v * scale) / scale : std::round(v * scale) / scale;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, cut);
    return buf;
}

// Published figures of `m` as an EvoApproxLib header would carry them (two significant digits,
// some cut, some rounded; MAE% derived from the cut MAE), with their printed text.
hawx::PublishedMetrics as_published(const hawx::ErrorMetrics& m) {
    hawx::PublishedMetrics p;
    const auto put = [&](const char* key, std::optional<double>& slot, const std::string& text) {
        slot = std::stod(text);
        p.printed[key] = text;
    };
    const std::string mae = printed(m.mae, 2, true);
    put("mae", p.mae, mae);
    put("mae_percent", p.mae_percent, printed(100.0 * std::stod(mae) / m.output_range, 2, false));
    put("wce", p.wce, printed(m.wce, 6, true));
    put("ep_percent", p.ep_percent, printed(m.ep_percent, 4, false));
    put("mre_percent", p.mre_percent, printed(m.mre_percent, 2, true));
    put("mse", p.mse, printed(m.mse, 2, true));
    p.source = "test: figures cut as EvoApproxLib prints them";
    return p;
}

TEST(TableBlock, PublishedFiguresAreCheckedOnLoad) {
    TempDir dir;
    const BamMul bam = P<BamMul>().b("signed", true).i("hbl", 2).i("vbl", 5).make();
    const hawx::ErrorMetrics m = hawx::characterize(bam);
    const hawx::PublishedMetrics right = as_published(m);
    const TableBlock ok = P<TableBlock>().s("path", export_block(dir, "good", bam, false, right)).make();
    EXPECT_EQ(ok.published().mae, right.mae);
    EXPECT_EQ(ok.published().printed, right.printed);
    EXPECT_EQ(ok.published().source, right.source);

    hawx::PublishedMetrics wrong = right;
    wrong.mae = m.mae * 1.3 + 1.0;
    wrong.printed["mae"] = printed(*wrong.mae, 2, true);
    wrong.mae = std::stod(wrong.printed["mae"]);
    const std::string path = export_block(dir, "bad", bam, false, wrong);
    const std::string msg = error_of([&] { P<TableBlock>().s("path", path).make(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("published MAE = " + wrong.printed["mae"]), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
    // The check can be switched off.
    const TableBlock unchecked = P<TableBlock>().s("path", path).b("check_published", false).make();
    EXPECT_EQ(hawx::block_table(unchecked), hawx::block_table(bam));
}

// Issue 15 item 1: EvoApproxLib headers print figures cut to a few digits (MAE = 33 for
// 33.28, MAE = 1.2 for 1.25, MAE% derived from the cut MAE). Such figures load, for every
// block of a Pareto ladder; the rule used before (0.01 + 0.5 %) refused them.
TEST(TableBlock, FiguresCutAsEvoApproxLibPrintsThemLoad) {
    TempDir dir;
    int refused_by_old_rule = 0;
    for (int k = 1; k <= 7; ++k) {
        const TruncatedMul t = P<TruncatedMul>().b("signed", true).i("k", k).make();
        const hawx::ErrorMetrics m = hawx::characterize(t);
        const hawx::PublishedMetrics pub = as_published(m);
        if (std::fabs(*pub.mae - m.mae) > 0.01 + 0.005 * *pub.mae) ++refused_by_old_rule;
        const std::string path = export_block(dir, "t" + std::to_string(k), t, false, pub);
        EXPECT_NO_THROW(P<TableBlock>().s("path", path).make()) << "k = " << k;
        // Without the printed text (a sidecar written by hand), the figures' own digits count.
        hawx::PublishedMetrics bare = pub;
        bare.printed.clear();
        EXPECT_NO_THROW(P<TableBlock>().s("path", export_block(dir, "b" + std::to_string(k), t, false, bare)).make())
            << "k = " << k;
    }
    EXPECT_GE(refused_by_old_rule, 3) << "the ladder must exercise figures the old rule refused";
}

// ...and the check still catches a wrong table: another circuit's, a sign error, a transposed
// table (by the sidecar's checksum: error figures cannot see a transposition).
TEST(TableBlock, WrongTablesAreStillRefused) {
    TempDir dir;
    // BAM with hbl 2, vbl 5 and 6: neighbours on the cost-error front; not commutative.
    const BamMul t4 = P<BamMul>().b("signed", true).i("hbl", 2).i("vbl", 5).make();
    const BamMul t5 = P<BamMul>().b("signed", true).i("hbl", 2).i("vbl", 6).make();
    const hawx::PublishedMetrics pub = as_published(hawx::characterize(t4));
    const auto write = [&](const std::string& name, const std::vector<std::int32_t>& table, bool with_checksum) {
        const std::string path = dir.file(name + ".bin");
        hawx::TableSidecar s;
        s.name = name;
        s.is_signed = true;
        s.cost = t4.cost();
        s.published = pub;
        if (with_checksum) s.checksum = hawx::table_checksum(hawx::block_table(t4));
        hawx::write_table_file(path, table, true);
        hawx::write_sidecar(hawx::sidecar_path(path), s);
        return path;
    };
    const std::vector<std::int32_t> good = hawx::block_table(t4);
    EXPECT_NO_THROW(P<TableBlock>().s("path", write("same", good, true)).make());

    // the neighbouring circuit's table under t4's figures
    std::string msg = error_of([&] { P<TableBlock>().s("path", write("other", hawx::block_table(t5), false)).make(); });
    EXPECT_NE(msg.find("disagrees"), std::string::npos) << msg;
    // a sign error: every product negated
    std::vector<std::int32_t> negated = good;
    for (auto& v : negated) v = static_cast<std::int16_t>(-v);
    msg = error_of([&] { P<TableBlock>().s("path", write("negated", negated, false)).make(); });
    EXPECT_NE(msg.find("disagrees"), std::string::npos) << msg;
    // a transposed table: same figures, caught by the checksum only
    std::vector<std::int32_t> transposed = good;
    for (std::uint32_t a = 0; a < 256; ++a)
        for (std::uint32_t w = 0; w < 256; ++w) transposed[(w << 8) | a] = good[(a << 8) | w];
    ASSERT_NE(transposed, good) << "the test needs a non-commutative block";
    const std::string path = write("transposed", transposed, true);
    msg = error_of([&] { P<TableBlock>().s("path", path).make(); });
    EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(PublishedFigures, PrintedUnitAndTheRule) {
    EXPECT_DOUBLE_EQ(hawx::printed_unit(std::string("33")), 1.0);
    EXPECT_DOUBLE_EQ(hawx::printed_unit(std::string("1.2")), 0.1);
    EXPECT_NEAR(hawx::printed_unit(std::string("0.0018")), 1e-4, 1e-18);
    EXPECT_NEAR(hawx::printed_unit(std::string("900.00")), 0.01, 1e-15);
    EXPECT_NEAR(hawx::printed_unit(std::string("47164.981e4")), 10.0, 1e-9);
    EXPECT_NEAR(hawx::printed_unit(std::string(".5")), 0.1, 1e-15);
    EXPECT_EQ(hawx::printed_unit(std::string("abc")), 0.0);
    EXPECT_DOUBLE_EQ(hawx::printed_unit(1.25), 0.01);
    EXPECT_DOUBLE_EQ(hawx::printed_unit(900.0), 1.0);  // an integer counts as printed to units
    EXPECT_DOUBLE_EQ(hawx::printed_unit(471649810.0), 1.0);
    // Figures of EvoApproxLib v2022 headers beside the values their tables give.
    EXPECT_TRUE(hawx::published_agrees(33.28125, 33, 1));        // mul8s_1KVP MAE
    EXPECT_TRUE(hawx::published_agrees(53.333984375, 53, 1));    // mul8s_1L2J MAE
    EXPECT_TRUE(hawx::published_agrees(1.25, 1.2, 0.1));         // mul8s_1KV8 MAE
    EXPECT_TRUE(hawx::published_agrees(7282910.25, 72829.102e2, 1));  // mul8s_1L12 MSE
    EXPECT_FALSE(hawx::published_agrees(0.5615, 0.570, 0.001));
    EXPECT_FALSE(hawx::published_agrees(8, 9, 1));               // one unit off: not a rounding
    EXPECT_FALSE(hawx::published_agrees(33.28125, 31, 1));
    // mul8s_1KV8's MAE% = 0.0018 is its rounded MAE (1.2) as a percentage of 2^16; the table's
    // 1.25 gives 0.0019073: agrees through the published MAE only.
    hawx::PublishedMetrics p;
    p.mae = 1.2;
    p.mae_percent = 0.0018;
    p.printed = {{"mae", "1.2"}, {"mae_percent", "0.0018"}};
    hawx::ErrorMetrics m;
    m.output_range = 65536;
    m.mae = 1.25;
    m.mae_percent = 100 * 1.25 / 65536;
    auto checks = hawx::check_published(p, m);
    ASSERT_EQ(checks.size(), 2u);
    EXPECT_EQ(checks[0].key, "mae_percent");
    EXPECT_TRUE(checks[0].agrees);
    EXPECT_TRUE(checks[0].via_published);
    EXPECT_TRUE(checks[1].agrees);
    // ...but not when the MAE itself disagrees.
    m.mae = 1.5;
    m.mae_percent = 100 * 1.5 / 65536;
    checks = hawx::check_published(p, m);
    EXPECT_FALSE(checks[0].agrees);
    EXPECT_FALSE(checks[1].agrees);
}

}  // namespace
