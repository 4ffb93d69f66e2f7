// The `table` component: TFApprox-layout file + JSON sidecar.
#include <cstdint>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/loa_add.hpp>
#include <hawx/blocks/table_block.hpp>
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

TEST(TableBlock, PublishedFiguresAreCheckedOnLoad) {
    TempDir dir;
    const BamMul bam = P<BamMul>().b("signed", true).i("hbl", 2).i("vbl", 5).make();
    const hawx::ErrorMetrics m = hawx::characterize(bam);
    hawx::PublishedMetrics right;
    right.mae = m.mae;
    right.mae_percent = m.mae_percent;
    right.wce = m.wce;
    right.ep_percent = m.ep_percent;
    right.mre_percent = m.mre_percent * 1.004;  // within 0.5 %: a rounded published figure
    right.source = "test";
    const TableBlock ok = P<TableBlock>().s("path", export_block(dir, "good", bam, false, right)).make();
    EXPECT_EQ(ok.published().mae, right.mae);
    EXPECT_EQ(ok.published().source, "test");

    hawx::PublishedMetrics wrong = right;
    wrong.mae = m.mae * 1.02 + 0.05;
    const std::string path = export_block(dir, "bad", bam, false, wrong);
    const std::string msg = error_of([&] { P<TableBlock>().s("path", path).make(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("mae"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
    // The check can be switched off.
    const TableBlock unchecked = P<TableBlock>().s("path", path).b("check_published", false).make();
    EXPECT_EQ(hawx::block_table(unchecked), hawx::block_table(bam));
}

}  // namespace
