// Tests of the EvoApproxLib C import (framework/src/c_import.cpp).
#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hawx/sdk/error_metrics.hpp>

#include "hawx/cimport/c_import.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/plugin.hpp"
#include "hawx/sdk/registry.hpp"
#include "hawx/sdk/table_file.hpp"
#include "hawx/sdk/table_sidecar.hpp"

namespace fs = std::filesystem;
using hawx::cimport::Circuit;
using hawx::cimport::Options;

namespace {

std::string fixture(const std::string& name) { return std::string(HAWX_TEST_DATA_DIR) + "/fixtures/" + name; }

// ---- independent references: plain arithmetic, not the fixtures' gate structure ----

/// Baugh-Wooley without partial-product columns 0..2: exact product minus a_i*b_j*2^(i+j)
/// for i + j <= 2 (bits of the operands' byte patterns), modulo 2^16, as int16.
std::int32_t ref_t3k(std::int32_t a, std::int32_t b) {
    const std::uint32_t ca = static_cast<std::uint32_t>(a) & 0xFF, cb = static_cast<std::uint32_t>(b) & 0xFF;
    std::int32_t dropped = 0;
    for (int i = 0; i <= 2; ++i)
        for (int j = 0; i + j <= 2; ++j) dropped += static_cast<std::int32_t>(((ca >> i) & 1) * ((cb >> j) & 1)) << (i + j);
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(a * b - dropped));
}
/// Broken array without the rows of B0, B1.
std::int32_t ref_b2h(std::int32_t A, std::int32_t B) { return A * (B & ~3); }
/// Lower-part OR adder, k = 4, carry A3&B3 into the upper part.
std::int32_t ref_l4o(std::int32_t A, std::int32_t B) {
    const std::int32_t hi = (A >> 4) + (B >> 4) + ((A >> 3) & (B >> 3) & 1);
    return (hi << 4) | ((A | B) & 15);
}

class TempDir {
public:
    TempDir() {
        std::string t = (fs::temp_directory_path() / "hawx-cimport-test-XXXXXX").string();
        std::vector<char> b(t.begin(), t.end());
        b.push_back('\0');
        if (!mkdtemp(b.data())) throw std::runtime_error("mkdtemp failed");
        path = b.data();
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    fs::path path;
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Expects a one-line hawx::Error whose message contains every fragment.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& fragments) {
    try {
        f();
        ADD_FAILURE() << "no hawx::Error thrown (expected one containing '" << fragments.front() << "')";
    } catch (const hawx::Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
    }
}

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// parse_file

TEST(CImportParse, SignedV2022Signature) {
    const Circuit c = hawx::cimport::parse_file(fixture("mul8s_T3K.c"));
    EXPECT_EQ(c.function, "mul8s_T3K");
    EXPECT_EQ(c.return_type, "uint16_t");
    ASSERT_EQ(c.params.size(), 2u);
    EXPECT_EQ(c.params[0].name, "A");
    EXPECT_EQ(c.params[0].type, "uint8_t");
    EXPECT_FALSE(c.params[0].is_const);
    EXPECT_EQ(c.params[1].name, "B");
    EXPECT_EQ(c.op, hawx::BlockOp::Multiply);
    EXPECT_EQ(c.a_bits, 8);
    EXPECT_EQ(c.b_bits, 8);
    EXPECT_TRUE(c.is_signed);
    EXPECT_EQ(c.result_bits(), 16);
    EXPECT_EQ(c.index_of('A'), 0);
    EXPECT_EQ(c.index_of('B'), 1);
    ASSERT_TRUE(c.published.mae_percent && c.published.mae && c.published.wce_percent && c.published.wce &&
                c.published.wcre_percent && c.published.ep_percent && c.published.mre_percent && c.published.mse);
    EXPECT_DOUBLE_EQ(*c.published.mae_percent, 0.00648);
    EXPECT_DOUBLE_EQ(*c.published.mae, 4.25);
    EXPECT_DOUBLE_EQ(*c.published.wce_percent, 0.0259);
    EXPECT_DOUBLE_EQ(*c.published.wce, 17);
    EXPECT_DOUBLE_EQ(*c.published.wcre_percent, 1700.0);
    EXPECT_DOUBLE_EQ(*c.published.ep_percent, 68.75);
    EXPECT_DOUBLE_EQ(*c.published.mre_percent, 0.902);
    EXPECT_DOUBLE_EQ(*c.published.mse, 34.25);
    EXPECT_EQ(c.published.source, "EvoApproxLib header of " + fixture("mul8s_T3K.c"));
    ASSERT_EQ(c.published.printed.size(), 8u);
    EXPECT_EQ(c.published.printed.at("mae_percent"), "0.00648");
    EXPECT_NEAR(hawx::printed_unit(c.published.printed.at("mae_percent")), 0.00001, 1e-15);
    ASSERT_TRUE(c.cost.has_value());
    EXPECT_DOUBLE_EQ(c.cost->power_mw, 0.391);
    EXPECT_DOUBLE_EQ(c.cost->area_um2, 689.3);
    EXPECT_DOUBLE_EQ(c.cost->delay_ns, 1.32);
    EXPECT_FALSE(c.cost->energy_pj.has_value());
    EXPECT_EQ(c.cost->source, "PDK45 figures published in " + fixture("mul8s_T3K.c"));
}

TEST(CImportParse, OldStyleParameterOrderBA) {
    const Circuit c = hawx::cimport::parse_file(fixture("mul8u_B2H.c"));
    EXPECT_EQ(c.function, "mul8u_B2H");
    EXPECT_EQ(c.return_type, "uint64_t");
    ASSERT_EQ(c.params.size(), 2u);
    EXPECT_EQ(c.params[0].name, "B");
    EXPECT_EQ(c.params[0].type, "uint64_t");
    EXPECT_TRUE(c.params[0].is_const);
    EXPECT_EQ(c.params[1].name, "A");
    EXPECT_EQ(c.index_of('A'), 1);
    EXPECT_EQ(c.index_of('B'), 0);
    EXPECT_FALSE(c.is_signed);
    EXPECT_EQ(c.op, hawx::BlockOp::Multiply);
    // "MSE = 7.601e4": value 76010, printed to units of 0.001e4
    ASSERT_TRUE(c.published.mse);
    EXPECT_DOUBLE_EQ(*c.published.mse, 76010);
    ASSERT_TRUE(c.published.printed.count("mse"));
    EXPECT_EQ(c.published.printed.at("mse"), "7.601e4");
    EXPECT_NEAR(hawx::printed_unit(c.published.printed.at("mse")), 10.0, 1e-9);
}

TEST(CImportParse, AdderAndAsymmetricWidths) {
    const Circuit add = hawx::cimport::parse_file(fixture("add8u_L4O.c"));
    EXPECT_EQ(add.function, "add8u_L4O");
    EXPECT_EQ(add.op, hawx::BlockOp::Add);
    EXPECT_EQ(add.a_bits, 8);
    EXPECT_EQ(add.b_bits, 8);
    EXPECT_FALSE(add.is_signed);
    EXPECT_EQ(add.result_bits(), 9);
    EXPECT_EQ(add.params[0].name, "A");

    const Circuit m = hawx::cimport::parse_file(fixture("mul8x7u_EX7.c"));
    EXPECT_EQ(m.function, "mul8x7u_EX7");
    EXPECT_EQ(m.a_bits, 8);
    EXPECT_EQ(m.b_bits, 7);
    EXPECT_EQ(m.result_bits(), 15);
    EXPECT_FALSE(m.cost.has_value());
    EXPECT_FALSE(m.published.wcre_percent.has_value());
}

TEST(CImportParse, MalformedFixtures) {
    const std::string no_fn = fixture("malformed/bad_no_circuit.c");
    expect_error([&] { hawx::cimport::parse_file(no_fn); }, {no_fn, "no circuit function"});
    const std::string sig = fixture("malformed/bad_signature.c");
    expect_error([&] { hawx::cimport::parse_file(sig); }, {sig, "unsupported parameter type"});
    const std::string hdr = fixture("malformed/bad_header_value.c");
    expect_error([&] { hawx::cimport::parse_file(hdr); }, {hdr, "malformed header value", "WCE"});
    expect_error([&] { hawx::cimport::parse_file(fixture("does_not_exist.c")); }, {"does_not_exist.c", "cannot open"});
}

TEST(CImportParse, MoreMalformedCases) {
    TempDir t;
    const std::string two = t.file("two.c");
    write_file(two, "#include <stdint.h>\nuint64_t mul8u_AAA(uint64_t A, uint64_t B) { return A * B; }\n"
                    "uint64_t mul8u_BBB(uint64_t A, uint64_t B) { return A * B; }\n");
    expect_error([&] { hawx::cimport::parse_file(two); }, {two, "two circuit functions", "mul8u_AAA", "mul8u_BBB"});

    const std::string widths = t.file("widths.c");
    write_file(widths, "#include <stdint.h>\nuint64_t mul_exact(uint64_t A, uint64_t B) { return A * B; }\n");
    expect_error([&] { hawx::cimport::parse_file(widths); }, {widths, "mul_exact", "widths"});

    const std::string names = t.file("names.c");
    write_file(names, "#include <stdint.h>\nuint64_t mul8u_XY(uint64_t X, uint64_t Y) { return X * Y; }\n");
    expect_error([&] { hawx::cimport::parse_file(names); }, {names, "named A and B"});

    const std::string narrow = t.file("narrow.c");
    write_file(narrow, "#include <stdint.h>\nuint8_t mul8u_NAR(uint8_t A, uint8_t B) { return A * B; }\n");
    expect_error([&] { hawx::cimport::parse_file(narrow); }, {narrow, "narrower"});

    const std::string three = t.file("three.c");
    write_file(three, "#include <stdint.h>\nuint64_t add8u_TRI(uint64_t A, uint64_t B, uint64_t C) { return A + B; }\n");
    expect_error([&] { hawx::cimport::parse_file(three); }, {three, "two parameters"});

    const std::string rtype = t.file("rtype.c");
    write_file(rtype, "#include <stdint.h>\ndouble add8u_FLT(uint64_t A, uint64_t B) { return A + B; }\n");
    expect_error([&] { hawx::cimport::parse_file(rtype); }, {rtype, "unsupported return type"});

    // helpers, prototypes and comments around the circuit are fine; signed types accepted
    const std::string ok = t.file("ok.c");
    write_file(ok, "/* mul8u_NOTME(uint64_t A, uint64_t B) { } */\n#include <stdint.h>\n"
                   "// MAE = 0\n// FPGA_LUT = 57\n"
                   "static int16_t fa(int16_t x) { return x; }\nint16_t add8s_OK(int8_t B, int8_t A);\n"
                   "int16_t add8s_OK(int8_t B, int8_t A)\n{\n  return fa(A + B);\n}\n");
    const Circuit c = hawx::cimport::parse_file(ok);
    EXPECT_EQ(c.function, "add8s_OK");
    EXPECT_EQ(c.return_type, "int16_t");
    EXPECT_TRUE(c.is_signed);
    EXPECT_EQ(c.params[0].name, "B");
    ASSERT_TRUE(c.published.mae);
    EXPECT_EQ(*c.published.mae, 0.0);
}

// ------------------------------------------------------------------------------------------
// import_to_tables

TEST(CImportTables, FixturesMatchHeadersAndReference) {
    TempDir out;
    const auto results = hawx::cimport::import_to_tables(
        {fixture("mul8s_T3K.c"), fixture("mul8u_B2H.c"), fixture("add8u_L4O.c")}, out.path.string(), Options{});
    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results) {
        EXPECT_TRUE(r.mismatches.empty()) << r.name << ": " << (r.mismatches.empty() ? "" : r.mismatches.front());
        EXPECT_TRUE(fs::exists(r.table_path)) << r.table_path;
        EXPECT_TRUE(fs::exists(r.sidecar_path)) << r.sidecar_path;
        EXPECT_EQ(r.table_path, (out.path / (r.name + ".bin")).string());
        EXPECT_EQ(r.sidecar_path, (out.path / (r.name + ".json")).string());
    }
    EXPECT_EQ(files_in(out.path), 6u);  // no temporary files left behind

    // mul8s_T3K: signed, A = activation
    {
        const auto& r = results[0];
        EXPECT_EQ(r.name, "mul8s_T3K");
        EXPECT_DOUBLE_EQ(r.computed.mae, 4.25);
        EXPECT_DOUBLE_EQ(r.computed.wce, 17);
        EXPECT_DOUBLE_EQ(r.computed.ep_percent, 68.75);
        EXPECT_DOUBLE_EQ(r.computed.mse, 34.25);
        EXPECT_DOUBLE_EQ(r.computed.wcre_percent, 1700.0);
        const auto t = hawx::read_table_file(r.table_path, true);
        int bad = 0;
        for (int a = -128; a < 128; ++a)
            for (int w = -128; w < 128; ++w)
                bad += t[(hawx::value_to_code(a, 8) << 8) | hawx::value_to_code(w, 8)] != ref_t3k(a, w);
        EXPECT_EQ(bad, 0);
        const auto s = hawx::read_sidecar(r.sidecar_path);
        EXPECT_EQ(s.name, "mul8s_T3K");
        EXPECT_EQ(s.op, hawx::BlockOp::Multiply);
        EXPECT_TRUE(s.is_signed);
        EXPECT_TRUE(s.activation_first);
        EXPECT_DOUBLE_EQ(s.cost.power_mw, 0.391);
        EXPECT_DOUBLE_EQ(s.cost.area_um2, 689.3);
        EXPECT_DOUBLE_EQ(s.cost.delay_ns, 1.32);
        EXPECT_NE(s.cost.source.find("PDK45"), std::string::npos);
        ASSERT_TRUE(s.published.mae_percent);
        EXPECT_DOUBLE_EQ(*s.published.mae_percent, 0.00648);
        EXPECT_NE(s.origin.find("mul8s_T3K.c"), std::string::npos);
    }
    // mul8u_B2H: declared (B, A); the table must follow the parameter NAMES
    {
        const auto& r = results[1];
        EXPECT_EQ(r.name, "mul8u_B2H");
        EXPECT_DOUBLE_EQ(r.computed.mae, 191.25);
        EXPECT_DOUBLE_EQ(r.computed.wce, 765);
        const auto t = hawx::read_table_file(r.table_path, false);
        int bad = 0;
        for (int a = 0; a < 256; ++a)
            for (int w = 0; w < 256; ++w) bad += t[(a << 8) | w] != ref_b2h(/*A=*/a, /*B=*/w);
        EXPECT_EQ(bad, 0);
        EXPECT_NE(t[(5 << 8) | 3], t[(3 << 8) | 5]);  // 5*0 vs 3*4: not commutative
        EXPECT_EQ(t[(5 << 8) | 3], 0);
        EXPECT_EQ(t[(3 << 8) | 5], 12);
        EXPECT_FALSE(hawx::read_sidecar(r.sidecar_path).is_signed);
    }
    // add8u_L4O
    {
        const auto& r = results[2];
        EXPECT_EQ(r.computed.output_range, 512.0);
        EXPECT_DOUBLE_EQ(r.computed.wce, 8);
        EXPECT_DOUBLE_EQ(r.computed.mse, 16);
        const auto t = hawx::read_table_file(r.table_path, false);
        int bad = 0;
        for (int a = 0; a < 256; ++a)
            for (int b = 0; b < 256; ++b) bad += t[(a << 8) | b] != ref_l4o(a, b);
        EXPECT_EQ(bad, 0);
        EXPECT_EQ(hawx::read_sidecar(r.sidecar_path).op, hawx::BlockOp::Add);
    }
}

TEST(CImportTables, ActivationOperandB) {
    TempDir out;
    Options o;
    o.activation_operand = "B";
    const auto results = hawx::cimport::import_to_tables({fixture("mul8u_B2H.c")}, out.path.string(), o);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].mismatches.empty());
    const auto t = hawx::read_table_file(results[0].table_path, false);
    int bad = 0;
    for (int act = 0; act < 256; ++act)
        for (int w = 0; w < 256; ++w) bad += t[(act << 8) | w] != ref_b2h(/*A=*/w, /*B=*/act);
    EXPECT_EQ(bad, 0);
    EXPECT_TRUE(hawx::read_sidecar(results[0].sidecar_path).activation_first);
    EXPECT_NE(hawx::read_sidecar(results[0].sidecar_path).origin.find("operand B"), std::string::npos);

    o.activation_operand = "C";
    expect_error([&] { hawx::cimport::import_to_tables({fixture("mul8u_B2H.c")}, out.path.string(), o); },
                 {"activation operand"});
}

TEST(CImportTables, Non8x8IsRefusedAndNothingIsWritten) {
    TempDir out;
    const std::string f = fixture("mul8x7u_EX7.c");
    expect_error([&] { hawx::cimport::import_to_tables({fixture("mul8u_B2H.c"), f}, out.path.string(), Options{}); },
                 {f, "8x7", "8x8 only"});
    EXPECT_EQ(files_in(out.path), 0u);
    // a malformed file among good ones: nothing written either
    const std::string bad = fixture("malformed/bad_signature.c");
    expect_error([&] { hawx::cimport::import_to_tables({fixture("mul8u_B2H.c"), bad}, out.path.string(), Options{}); },
                 {bad});
    EXPECT_EQ(files_in(out.path), 0u);
}

TEST(CImportTables, MismatchesAreListedAndStrictWritesNothing) {
    TempDir t;
    std::string text = read_file(fixture("add8u_L4O.c"));
    const std::string from = "// MAE% = 0.562 %", to = "// MAE% = 0.570 %";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(), to);
    const std::string wce_from = "// WCE = 8", wce_to = "// WCE = 9";
    text.replace(text.find(wce_from), wce_from.size(), wce_to);
    const std::string f = t.file("add8u_L4O.c");
    write_file(f, text);
    const fs::path out = t.path / "out";

    const auto results = hawx::cimport::import_to_tables({f}, out.string(), Options{});
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(results[0].mismatches.size(), 2u);
    EXPECT_NE(results[0].mismatches[0].find("MAE% published 0.570, computed 0.5615"), std::string::npos)
        << results[0].mismatches[0];
    EXPECT_NE(results[0].mismatches[1].find("WCE published 9, computed 8"), std::string::npos)
        << results[0].mismatches[1];

    Options strict;
    strict.strict = true;
    const fs::path out2 = t.path / "out2";
    expect_error([&] { hawx::cimport::import_to_tables({f}, out2.string(), strict); }, {f, "MAE%", "strict"});
    EXPECT_FALSE(fs::exists(out2 / "add8u_L4O.bin"));
}

TEST(CImportTables, PrecisionOfPrintedFigures) {
    // MAE = 191.25 printed as "191.3" (+-0.05) matches (so would "191.2"); "191.1" does not.
    TempDir t;
    std::string text = read_file(fixture("mul8u_B2H.c"));
    const std::string from = "// MAE = 191.25";
    text.replace(text.find(from), from.size(), "// MAE = 191.3");
    const std::string f = t.file("mul8u_B2H.c");
    write_file(f, text);
    EXPECT_TRUE(hawx::cimport::import_to_tables({f}, (t.path / "o").string(), Options{})[0].mismatches.empty());
    text.replace(text.find("// MAE = 191.3"), 14, "// MAE = 191.1");
    write_file(f, text);
    EXPECT_EQ(hawx::cimport::import_to_tables({f}, (t.path / "o").string(), Options{})[0].mismatches.size(), 1u);
}

TEST(CImportTables, CompilerFailures) {
    TempDir t;
    const std::string f = t.file("mul8u_SYN.c");
    write_file(f, "#include <stdint.h>\nuint64_t mul8u_SYN(const uint64_t A, const uint64_t B)\n{\n"
                  "  uint64_t x = A * B\n  return x;\n}\n");
    expect_error([&] { hawx::cimport::import_to_tables({f}, (t.path / "o").string(), Options{}); },
                 {f, "mul8u_SYN", "error"});
    EXPECT_FALSE(fs::exists(t.path / "o" / "mul8u_SYN.bin"));

    Options o;
    o.compiler = "/nonexistent/hawx-cc";
    expect_error([&] { hawx::cimport::import_to_tables({fixture("mul8u_B2H.c")}, (t.path / "o").string(), o); },
                 {fixture("mul8u_B2H.c"), "/nonexistent/hawx-cc"});
}

TEST(CImportTables, TabulateAsymmetricWidths) {
    const Circuit c = hawx::cimport::parse_file(fixture("mul8x7u_EX7.c"));
    const auto t = hawx::cimport::tabulate(c, Options{});
    ASSERT_EQ(t.size(), std::size_t{1} << 15);
    for (int a = 0; a < 256; a += 7)
        for (int b = 0; b < 128; b += 5) EXPECT_EQ(t[(a << 7) | b], a * b);
    Options o;
    o.activation_operand = "B";  // activation = B (7 bits), weight = A (8 bits)
    const auto tb = hawx::cimport::tabulate(c, o);
    for (int act = 0; act < 128; act += 5)
        for (int w = 0; w < 256; w += 7) EXPECT_EQ(tb[(act << 8) | w], act * w);
}

// ------------------------------------------------------------------------------------------
// plugin_source

TEST(CImportPlugin, SourceDeclaresPrototypesAndCallOrder) {
    const std::vector<Circuit> cs = {hawx::cimport::parse_file(fixture("mul8s_T3K.c")),
                                     hawx::cimport::parse_file(fixture("mul8u_B2H.c")),
                                     hawx::cimport::parse_file(fixture("add8u_L4O.c"))};
    const std::string src = hawx::cimport::plugin_source(cs, "evo_fixtures", Options{});
    EXPECT_NE(src.find("extern \"C\" {"), std::string::npos);
    EXPECT_NE(src.find("uint16_t mul8s_T3K(uint8_t A, uint8_t B);"), std::string::npos);
    EXPECT_NE(src.find("uint64_t mul8u_B2H(const uint64_t B, const uint64_t A);"), std::string::npos);
    EXPECT_NE(src.find("uint64_t add8u_L4O(const uint64_t A, const uint64_t B);"), std::string::npos);
    EXPECT_NE(src.find("::mul8s_T3K(static_cast<uint8_t>(activation_code), static_cast<uint8_t>(weight_code))"),
              std::string::npos);
    EXPECT_NE(src.find("::mul8u_B2H(static_cast<uint64_t>(weight_code), static_cast<uint64_t>(activation_code))"),
              std::string::npos);
    EXPECT_NE(src.find("info.name = \"mul8s_T3K\";"), std::string::npos);
    EXPECT_NE(src.find("hawx::add<CBlock_add8u_L4O>(registry);"), std::string::npos);
    EXPECT_NE(src.find("HAWX_PLUGIN(\"evo_fixtures\", \"1.0\", hawx_cblocks_register)"), std::string::npos);
    EXPECT_NE(src.find("void fill_table(std::int32_t* out) const override"), std::string::npos);

    Options b;
    b.activation_operand = "B";
    const std::string src_b = hawx::cimport::plugin_source({cs[1]}, "x", b);
    EXPECT_NE(src_b.find("::mul8u_B2H(static_cast<uint64_t>(activation_code), static_cast<uint64_t>(weight_code))"),
              std::string::npos);

    expect_error([&] { hawx::cimport::plugin_source(cs, "bad-name", Options{}); }, {"bad-name", "[A-Za-z0-9_]+"});
    expect_error([&] { hawx::cimport::plugin_source({cs[0], cs[0]}, "dup", Options{}); }, {"mul8s_T3K", "both"});
    expect_error([&] { hawx::cimport::plugin_source({}, "empty", Options{}); }, {"no circuits"});
}

namespace {

struct TestRegistry : hawx::Registry {
    std::map<std::string, hawx::Factory<hawx::ApproxBlock>> blocks;
    std::map<std::string, hawx::ComponentInfo> infos;
    void add_block(hawx::ComponentInfo info, hawx::Factory<hawx::ApproxBlock> f) override {
        blocks[info.name] = std::move(f);
        infos[info.name] = std::move(info);
    }
    void add_metric(hawx::ComponentInfo, hawx::Factory<hawx::SensitivityMetric>) override { FAIL(); }
    void add_search(hawx::ComponentInfo, hawx::Factory<hawx::SearchStrategy>) override { FAIL(); }
    void add_accelerator(hawx::ComponentInfo, hawx::Factory<hawx::AcceleratorModel>) override { FAIL(); }
};

}  // namespace

// Builds the generated source with the fixtures into a plugin by hand (the CMake path,
// hawx_add_c_blocks, is tested out of tree), loads it and checks every block.
TEST(CImportPlugin, GeneratedPluginBuildsAndMatchesReference) {
    TempDir t;
    std::vector<Circuit> cs;
    for (const char* f : {"mul8s_T3K.c", "mul8u_B2H.c", "add8u_L4O.c", "mul8x7u_EX7.c"})
        cs.push_back(hawx::cimport::parse_file(fixture(f)));
    const std::string cpp = t.file("plugin.cpp");
    write_file(cpp, hawx::cimport::plugin_source(cs, "cimport_fixtures", Options{}));
    std::string objs;
    for (const auto& c : cs) {
        const std::string obj = t.file(c.function + ".o");
        const std::string cmd = std::string(HAWX_CIMPORT_CC) + " -c -fPIC -O1 -o '" + obj + "' '" + c.path + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        objs += " '" + obj + "'";
    }
    const std::string so = t.file("hawx_cimport_fixtures.so");
    const std::string cmd = std::string(HAWX_CIMPORT_CXX) + " -std=c++17 -shared -fPIC -O0 -DBOOST_DLL_USE_STD_FS -I'" +
                            HAWX_CIMPORT_SDK_INCLUDE + "' -I'" + HAWX_CIMPORT_SDK_BUILD_INCLUDE + "' -o '" + so +
                            "' '" + cpp + "'" + objs + " 2> '" + t.file("cxx.log") + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << read_file(t.file("cxx.log"));

    void* lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(lib, nullptr) << dlerror();
    void* sym = dlsym(lib, hawx::kPluginEntrySymbol);
    ASSERT_NE(sym, nullptr);
    auto entry = reinterpret_cast<hawx::PluginEntry*>(const_cast<void*>(*static_cast<const void* const*>(sym)));
    const hawx_plugin_descriptor* d = entry();
    EXPECT_EQ(d->abi_version, static_cast<std::uint32_t>(HAWX_SDK_ABI_VERSION));
    EXPECT_STREQ(d->library_name, "cimport_fixtures");
    EXPECT_STREQ(d->library_version, "1.0");
    TestRegistry reg;
    d->register_components(reg);
    ASSERT_EQ(reg.blocks.size(), 4u);
    for (const auto& [name, info] : reg.infos) {
        EXPECT_EQ(info.kind, hawx::Kind::Block);
        EXPECT_TRUE(info.params.empty()) << name;
    }
    {
        auto b = reg.blocks.at("mul8s_T3K")(hawx::Params{});
        EXPECT_TRUE(b->is_signed());
        EXPECT_EQ(b->activation_bits(), 8);
        EXPECT_DOUBLE_EQ(b->cost().power_mw, 0.391);
        ASSERT_TRUE(b->published().mse);
        EXPECT_DOUBLE_EQ(*b->published().mse, 34.25);
        const auto table = hawx::block_table(*b);
        int bad = 0;
        for (int a = -128; a < 128; ++a)
            for (int w = -128; w < 128; ++w) {
                bad += b->apply(a, w) != ref_t3k(a, w);
                bad += table[(hawx::value_to_code(a, 8) << 8) | hawx::value_to_code(w, 8)] != ref_t3k(a, w);
            }
        EXPECT_EQ(bad, 0);
        const auto m = hawx::characterize(*b);
        EXPECT_DOUBLE_EQ(m.mae, 4.25);
    }
    {
        auto b = reg.blocks.at("mul8u_B2H")(hawx::Params{});
        EXPECT_FALSE(b->is_signed());
        int bad = 0;
        for (int a = 0; a < 256; ++a)
            for (int w = 0; w < 256; ++w) bad += b->apply(a, w) != ref_b2h(a, w);
        EXPECT_EQ(bad, 0);
        EXPECT_EQ(hawx::block_table(*b)[(3 << 8) | 5], 12);
    }
    {
        auto b = reg.blocks.at("add8u_L4O")(hawx::Params{});
        EXPECT_EQ(b->op(), hawx::BlockOp::Add);
        int bad = 0;
        for (int a = 0; a < 256; ++a)
            for (int w = 0; w < 256; ++w) bad += b->apply(a, w) != ref_l4o(a, w);
        EXPECT_EQ(bad, 0);
    }
    {
        auto b = reg.blocks.at("mul8x7u_EX7")(hawx::Params{});
        EXPECT_EQ(b->activation_bits(), 8);
        EXPECT_EQ(b->weight_bits(), 7);
        EXPECT_EQ(b->apply(255, 127), 255 * 127);
        EXPECT_EQ(b->cost().power_mw, 0.0);
        EXPECT_NE(b->cost().source.find("no hardware cost"), std::string::npos);
    }
    // blocks destroyed above; the library stays loaded (no dlclose needed in a test)
}

// Issue 18: EvoApproxLib-style adders up to 32-bit operands (33-bit sums) build into plugins
// whose add_n calls the C function per sum and returns the full sum; checked against a LOA
// rule written here, at the carry-out edges and on sampled pairs.
TEST(CImportPlugin, A32BitCAdderSumsThroughAddNWithItsCarryOut) {
    TempDir t;
    const std::string c = t.file("add32u_L8T.c");
    write_file(c, "#include <stdint.h>\n// MAE = 96\n"
                  "uint64_t add32u_L8T(const uint64_t A, const uint64_t B)\n{\n"
                  "  uint64_t lo = (A | B) & 0xFFu, cin = (A >> 7) & (B >> 7) & 1u;\n"
                  "  return ((((A >> 8) + (B >> 8) + cin) << 8) | lo) & 0x1FFFFFFFFull;\n}\n");
    const Circuit circuit = hawx::cimport::parse_file(c);
    EXPECT_EQ(circuit.a_bits, 32);
    EXPECT_EQ(circuit.result_bits(), 33);
    const std::string cpp = t.file("plugin.cpp"), obj = t.file("add.o"), so = t.file("hawx_wide.so");
    write_file(cpp, hawx::cimport::plugin_source({circuit}, "wide", Options{}));
    const std::string cc = std::string(HAWX_CIMPORT_CC) + " -c -fPIC -O1 -o '" + obj + "' '" + c + "'";
    ASSERT_EQ(std::system(cc.c_str()), 0) << cc;
    const std::string cxx = std::string(HAWX_CIMPORT_CXX) + " -std=c++17 -shared -fPIC -O0 -DBOOST_DLL_USE_STD_FS -I'" +
                            HAWX_CIMPORT_SDK_INCLUDE + "' -I'" + HAWX_CIMPORT_SDK_BUILD_INCLUDE + "' -o '" + so + "' '" + cpp +
                            "' '" + obj + "' 2> '" + t.file("cxx.log") + "'";
    ASSERT_EQ(std::system(cxx.c_str()), 0) << cxx << "\n" << read_file(t.file("cxx.log"));
    void* lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(lib, nullptr) << dlerror();
    auto entry = reinterpret_cast<hawx::PluginEntry*>(
        const_cast<void*>(*static_cast<const void* const*>(dlsym(lib, hawx::kPluginEntrySymbol))));
    TestRegistry reg;
    entry()->register_components(reg);
    auto b = reg.blocks.at("add32u_L8T")(hawx::Params{});
    EXPECT_EQ(b->op(), hawx::BlockOp::Add);
    EXPECT_EQ(b->activation_bits(), 32);
    const auto loa = [](std::int64_t x, std::int64_t y) {
        return (((x >> 8) + (y >> 8) + ((x >> 7) & (y >> 7) & 1)) << 8) | ((x | y) & 0xFF);
    };
    std::vector<std::int64_t> a = {0, 0xFFFFFFFFll, 0xFFFFFFFFll, 0x80000000ll, 0x7FFFFF80ll, 200},
                              w = {0, 0xFFFFFFFFll, 1, 0x80000000ll, 0x80, 100};
    hawx::OperandSampler sample(false, 3);
    for (int i = 0; i < 10000; ++i) a.push_back(sample.draw(32)), w.push_back(sample.draw(32));
    std::vector<std::int64_t> out(a.size());
    b->add_n(a.data(), w.data(), out.data(), a.size());
    int bad = 0;
    for (std::size_t i = 0; i < a.size(); ++i) bad += out[i] != loa(a[i], w[i]);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(out[1], 0x1FFFFFFFFll);  // the carry-out kept: a 33-bit sum (exact + 1: the OR-ed low byte)
    EXPECT_EQ(out[3], 0x100000000ll);
    const auto m = hawx::characterize(*b);
    EXPECT_TRUE(m.sampled);
    EXPECT_GT(m.mae, 0.0);
}
