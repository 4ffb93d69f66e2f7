// The hawx CLI end to end: exit codes, one-line errors, outputs, run folders.
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace {

struct Result {
    int code;
    std::string out, err;
};

Result hawx(const std::string& args, const std::string& cwd = "") {
    hawx::test::TempDir io;
    const std::string out = io.str() + "/out", err = io.str() + "/err";
    const std::string cmd = (cwd.empty() ? "" : "cd '" + cwd + "' && ") + "HAWX_PLUGIN_PATH= '" HAWX_EXE "' " + args +
                            " > '" + out + "' 2> '" + err + "' < /dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, hawx::test::read_file(out), hawx::test::read_file(err)};
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

// Every broken fixture on the plugin path: exit 2 and its own one-line message naming the file.
struct BrokenCase {
    const char* fixture;
    const char* message;
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.fixture; }

class BrokenPlugin : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenPlugin, PluginsListReportsItAndExits2) {
    const auto& c = GetParam();
    const Result r = hawx("plugins list --plugin-path " + hawx::test::fixture(c.fixture));
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("hawx_" + std::string(c.fixture) + ".so"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("core.exact_mul"), std::string::npos) << "built-in plugins are still listed";
}

TEST_P(BrokenPlugin, ManifestNamingItFailsWithExit2) {
    const auto& c = GetParam();
    hawx::test::TempDir dir;
    const nlohmann::json m = {{"hawx", 1},
                              {"name", "t"},
                              {"plugins", {{"paths", {hawx::test::fixture(c.fixture)}}}},
                              {"blocks", {{{"name", "X"}, {"component", std::string(c.fixture) + ".x"}}}}};
    const std::string path = dir.file("m.json", m.dump());
    const Result r = hawx("run " + path);
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path / "runs")) << "nothing written on error";
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenPlugin,
    ::testing::Values(BrokenCase{"badabi", "plugin ABI version 999 is not supported (supported: 7)"},
                      BrokenCase{"badbuild", "build id mismatch: plugin built with 'gcc-4.8.5"},
                      BrokenCase{"noentry", "not a HAWX plugin: entry point 'hawx_plugin_entry' missing"},
                      BrokenCase{"throws", "plugin registration failed: cannot find my calibration data"},
                      BrokenCase{"duplicate", "duplicate component name 'twice' in library 'duplicate'"},
                      BrokenCase{"badparam", "parameter 'k' has a default outside its range"},
                      BrokenCase{"misnamed", "declares library name 'other' but the file is named for 'misnamed'"},
                      BrokenCase{"unloadable", "cannot load plugin library: "}),
    [](const auto& info) { return std::string(info.param.fixture); });

TEST(Cli, PluginsListJsonHasBuiltinBlocksWithSchemas) {
    const Result r = hawx("plugins list --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    std::set<std::string> names;
    for (const auto& lib : j["libraries"])
        for (const auto& c : lib["components"]) {
            names.insert(c["name"].get<std::string>());
            EXPECT_FALSE(c["summary"].get<std::string>().empty());
            EXPECT_FALSE(c["version"].get<std::string>().empty());
            for (const auto& p : c["params"]) {
                EXPECT_TRUE(p.contains("type"));
                EXPECT_TRUE(p.contains("doc"));
            }
        }
    for (const char* n : {"core.exact_mul", "core.truncated_mul", "core.bam_mul", "core.drum_mul", "core.mitchell_mul",
                          "core.exact_add", "core.loa_add", "core.truncated_add", "core.eta_add", "core.table"})
        EXPECT_TRUE(names.count(n)) << n;
    EXPECT_NE(j["build_id"].get<std::string>().find(";torch=1.13"), std::string::npos) << j["build_id"];
}

TEST(Cli, UnknownCommandAndBadOptionsExit2) {
    Result r = hawx("frobnicate");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(one_line(r.err));
    r = hawx("plugins list --no-such-option");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    r = hawx("blocks show core.truncated_mul --set k=99");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "hawx: core.truncated_mul: parameter 'k' of core.truncated_mul = 99 is out of range [0, 16]\n");
    r = hawx("blocks show core.truncated_mul --set kk=3");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown parameter 'kk' for core.truncated_mul (valid: "), std::string::npos) << r.err;
}

TEST(Cli, HelpEverywhere) {
    for (const char* cmd : {"--help", "plugins list --help", "blocks list --help", "blocks show --help",
                            "blocks export --help", "blocks import-c --help", "run --help"}) {
        const Result r = hawx(cmd);
        EXPECT_EQ(r.code, 0) << cmd << ": " << r.err;
        EXPECT_NE(r.out.find("usage"), std::string::npos) << cmd;
    }
}

TEST(Cli, ManifestErrorsAreOneLineExit2) {
    hawx::test::TempDir dir;
    struct Case {
        std::string content, message;
    };
    const std::vector<Case> cases = {
        {"{\"hawx\": 1, \"name\": \"t\",}", "malformed JSON"},
        {R"({"hawx": 1, "name": "t", "bloks": []})", "unknown key 'bloks'"},
        {R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.truncated_mul", "params": {"k": "4"}}]})",
         "blocks[0] (A): parameter 'k' of core.truncated_mul must be an int, got \"4\""},
        {R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.truncated_mul", "params": {"k": 40}}]})",
         "blocks[0] (A): parameter 'k' of core.truncated_mul = 40 is out of range"},
        {R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.nope"}]})",
         "blocks[0] (A): unknown component 'core.nope': library 'core' ("},
        {R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.table"}]})",
         "blocks[0] (A): missing required parameter 'path' for core.table"},
        {R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.table", "params": {"path": "missing.bin"}}]})",
         "missing.bin"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const std::string path = dir.file("m" + std::to_string(i) + ".json", cases[i].content);
        const Result r = hawx("run " + path, dir.str());
        EXPECT_EQ(r.code, 2) << cases[i].content;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_EQ(r.err.rfind("hawx: " + path + ": ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(cases[i].message), std::string::npos) << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path / "runs"));
    const Result r = hawx("run " + dir.str() + "/absent.json");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, "hawx: " + dir.str() + "/absent.json: manifest not found\n");
}

TEST(Cli, RunWritesResolvedManifestAndNeverOverwrites) {
    hawx::test::TempDir dir;
    const std::string path = dir.file("study.json", R"({
      "hawx": 1, "name": "study", "seed": 7,
      "blocks": [{"name": "EX", "component": "core.exact_mul"},
                 {"name": "T4", "component": "core.truncated_mul", "params": {"k": 4}}],
      "output": {"dir": "out"}
    })");
    Result r = hawx("run " + path);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto resolved = nlohmann::json::parse(hawx::test::read_file(dir.str() + "/out/study/manifest.resolved.json"));
    EXPECT_EQ(resolved["seed"], 7);
    EXPECT_EQ(resolved["blocks"][1]["params"]["k"], 4);
    EXPECT_TRUE(resolved["blocks"][1]["params"].contains("signed"));  // default filled in
    EXPECT_FALSE(resolved["resolved"]["libraries"]["core"]["version"].get<std::string>().empty());
    EXPECT_FALSE(resolved["resolved"]["build_id"].get<std::string>().empty());
    const auto blocks = nlohmann::json::parse(hawx::test::read_file(dir.str() + "/out/study/blocks.json"));
    EXPECT_EQ(blocks[0]["metrics"]["mae"], 0.0);
    EXPECT_GT(blocks[1]["metrics"]["mae"].get<double>(), 0.0);
    r = hawx("run " + path);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir.path / "out/study-2/manifest.resolved.json"));
    EXPECT_NE(r.out.find("run folder: " + dir.str() + "/out/study-2"), std::string::npos);
}

TEST(Cli, ExportThenLoadAsTableBlockGivesTheSameCharacterization) {
    hawx::test::TempDir dir;
    Result r = hawx("blocks export core.bam_mul --set hbl=2 --set vbl=5 --out " + dir.str() + "/bam.bin");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(std::filesystem::file_size(dir.path / "bam.bin"), 131072u);
    r = hawx("blocks show core.bam_mul --set hbl=2 --set vbl=5 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto direct = nlohmann::json::parse(r.out);
    r = hawx("blocks show core.table --set path=bam.bin --json", dir.str());
    ASSERT_EQ(r.code, 0) << r.err;
    const auto table = nlohmann::json::parse(r.out);
    EXPECT_EQ(direct["metrics"], table["metrics"]);
    EXPECT_EQ(direct["cost"]["area_um2"], table["cost"]["area_um2"]);
}

}  // namespace

namespace {

// Two independent implementations of one circuit must agree: the gate-level C fixture of a
// signed Baugh-Wooley multiplier with 3 truncated columns, imported through the C compiler,
// and the built-in parametric truncated multiplier.
TEST(Cli, ImportedGateLevelCircuitEqualsBuiltinFamily) {
    hawx::test::TempDir dir;
    Result r = hawx(std::string("blocks import-c ") + HAWX_SOURCE_DIR + "/tests/cimport/fixtures/mul8s_T3K.c --strict --out " +
                    dir.str());
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("published figures agree"), std::string::npos) << r.out;
    r = hawx("blocks show core.table --set path=" + dir.str() + "/mul8s_T3K.bin --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto imported = nlohmann::json::parse(r.out);
    r = hawx("blocks show core.truncated_mul --set k=3 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto builtin = nlohmann::json::parse(r.out);
    EXPECT_EQ(imported["metrics"], builtin["metrics"]);
    EXPECT_DOUBLE_EQ(builtin["metrics"]["mae"].get<double>(), 4.25);  // (1*1 + 2*2 + 3*4) / 4
    // Its sidecar carries the circuit's published figures; the show output lists them.
    EXPECT_DOUBLE_EQ(imported["published"]["mae"].get<double>(), 4.25);
}

}  // namespace

namespace {

// EvoApproxLib's own published figures for its constant-zero multiplier (mul8u_E9R) must be
// reproduced by our metric definitions: --strict fails on any mismatch.
TEST(Cli, ImportReproducesEvoApproxLibPublishedFigures) {
    hawx::test::TempDir dir;
    const Result r = hawx(std::string("blocks import-c ") + HAWX_SOURCE_DIR +
                          "/tests/cimport/fixtures/published/mul8u_ZERO.c --strict --out " + dir.str());
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("published figures agree"), std::string::npos) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
}

}  // namespace

namespace {

// Issue 15 item 1: EvoApproxLib headers print figures cut to a few digits. The importer and
// the table loader apply one rule: a circuit whose figures were cut imports without a warning
// and loads; a table that does not belong to its figures (another circuit's, a sign error)
// is reported by the importer and refused by the loader.
TEST(Cli, CutPublishedFiguresImportAndLoadWrongTablesDoNot) {
    hawx::test::TempDir dir;
    const std::string fixtures = std::string(HAWX_SOURCE_DIR) + "/tests/cimport/fixtures/";
    Result r = hawx("blocks import-c " + fixtures + "cut/mul8s_T3K.c --strict --out " + dir.str() + "/cut");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("published figures agree"), std::string::npos) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
    r = hawx("blocks show core.table --set path=" + dir.str() + "/cut/mul8s_T3K.bin");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("agrees"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("DISAGREES"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("4.2 "), std::string::npos) << "published figures shown as printed\n" << r.out;

    for (const std::string name : {"mul8s_T3K", "mul8u_T3K"}) {
        const std::string out = dir.str() + "/" + name;
        r = hawx("blocks import-c " + fixtures + "refuse/" + name + ".c --out " + out);
        ASSERT_EQ(r.code, 0) << name << r.err;
        EXPECT_NE(r.out.find("published figure(s) differ"), std::string::npos) << name << r.out;
        EXPECT_NE(r.err.find("warning: " + name + ": MAE"), std::string::npos) << name << r.err;
        r = hawx("blocks show core.table --set path=" + out + "/" + name + ".bin");
        EXPECT_EQ(r.code, 2) << name << r.out;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_NE(r.err.find("disagrees with the table's computed"), std::string::npos) << name << r.err;
        const std::string strict_out = dir.str() + "/strict-" + name;
        r = hawx("blocks import-c " + fixtures + "refuse/" + name + ".c --strict --out " + strict_out);
        EXPECT_EQ(r.code, 2) << name << r.out;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_FALSE(std::filesystem::exists(strict_out + "/" + name + ".bin")) << name;
    }
}

}  // namespace
