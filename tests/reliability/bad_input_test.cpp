// The bad-input matrix of issue 9: one test per case. Each runs the built `hawx` and asserts
// exit code 2, a one-line message naming the input and the problem (a substring of each),
// and that nothing was written (the scratch folder, where every output would go, is
// unchanged: same files, same sizes and times).
//
// Cases already covered elsewhere, not repeated here (listed so that the count is auditable):
//   tests/core/cli_test.cpp
//     BrokenPlugin.{PluginsListReportsItAndExits2,ManifestNamingItFailsWithExit2} x fixtures
//       badabi (wrong ABI), badbuild (build id), noentry (missing entry point), throws
//       (throwing registration), duplicate (duplicate name), badparam, misnamed, unloadable
//     Cli.ManifestErrorsAreOneLineExit2: malformed JSON, unknown key, wrong type (k "4"),
//       out of range (k 40), unknown component (core.nope), missing required parameter,
//       missing table file, missing manifest file
//     Cli.UnknownCommandAndBadOptionsExit2: unknown command, unknown option, --set out of
//       range, --set unknown key
//   tests/zoo/cli_eval_score_test.cpp BadInputIsOneLineExit2AndWritesNothing: layer outside
//     1..5, unknown block (*:NOPE), unknown kernel path, missing checkpoint, --calibration 0,
//     --k 0, K larger than the profiling set, missing manifest
//   tests/zoo/cli_train_test.cpp ZooCliBad.*: unknown model/dataset/optimizer, epochs 0,
//     width, lr 0, input size, val-size, cifar10 without data, missing mnist folder, non-number
//     epochs; ZooCli.OutFolderMustExist
// Here: 65 further cases: manifests 14, plugins through `blocks list` 4, table files 8,
// datasets through `train` 19 (IDX 7, empty sets 2, CIFAR-10 4, PPM 3, GTSRB CSV 3),
// checkpoints through `eval` 8, configuration strings through `eval` 9, C import 3; plus 2
// Cases found by fuzzing are marked as such.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../core/test_util.hpp"

namespace fs = std::filesystem;

namespace {

using hawx::test::TempDir;

struct Result {
    int code;
    std::string out, err;
};

Result hawx(const std::string& args, const std::string& cwd) {
    TempDir io;
    const std::string out = io.str() + "/out", err = io.str() + "/err";
    const std::string cmd = "cd '" + cwd + "' && HAWX_PLUGIN_PATH= '" HAWX_EXE "' " + args + " > '" + out + "' 2> '" +
                            err + "' < /dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, hawx::test::read_file(out), hawx::test::read_file(err)};
}

/// Every file under `dir` with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, std::int64_t>> snapshot(const fs::path& dir) {
    std::map<std::string, std::pair<std::uintmax_t, std::int64_t>> s;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        struct stat st {};
        ::stat(e.path().c_str(), &st);
        s[e.path().string()] = {e.is_regular_file() ? e.file_size() : 0,
                                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    }
    return s;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
    return be32(0x803) + be32(n) + be32(rows) + be32(cols) + std::string(std::size_t{n} * rows * cols, '\x40');
}

std::string idx_labels(std::uint32_t n) {
    std::string s = be32(0x801) + be32(n);
    for (std::uint32_t i = 0; i < n; ++i) s += static_cast<char>(i % 10);
    return s;
}

/// An MNIST-layout folder; `images`/`labels` override the train or test files.
void mnist_folder(const fs::path& dir, const std::string& train_images, const std::string& train_labels,
                  const std::string& test_images, const std::string& test_labels) {
    write_bytes(dir / "train-images-idx3-ubyte", train_images);
    write_bytes(dir / "train-labels-idx1-ubyte", train_labels);
    write_bytes(dir / "t10k-images-idx3-ubyte", test_images);
    write_bytes(dir / "t10k-labels-idx1-ubyte", test_labels);
}

std::string cifar_record(int label) { return std::string(1, static_cast<char>(label)) + std::string(3072, '\x22'); }

void cifar_folder(const fs::path& dir, const std::string& test_batch, bool with_test = true) {
    for (int i = 1; i <= 5; ++i) write_bytes(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar_record(i) + cifar_record(0));
    if (with_test) write_bytes(dir / "test_batch.bin", test_batch);
}

std::string ppm(int w, int h) {
    return "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n" +
           std::string(static_cast<std::size_t>(w * h * 3), '\x55');
}

const char* kGtsrbHeader = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n";

void gtsrb_folder(const fs::path& dir, const std::string& csv_row, const std::string& image) {
    for (const char* sub : {"train/00000", "test"}) {
        write_bytes(dir / sub / "GT-00000.csv", std::string(kGtsrbHeader) + csv_row);
        write_bytes(dir / sub / "0.ppm", image);
    }
}

/// A little-endian 16-bit table of n entries (exact unsigned product where it fits).
std::string table_bytes(std::size_t entries) {
    std::string t;
    for (std::size_t i = 0; i < entries; ++i) {
        const std::uint32_t v = ((i >> 8) & 0xff) * (i & 0xff);
        t += static_cast<char>(v & 0xff);
        t += static_cast<char>((v >> 8) & 0xff);
    }
    return t;
}

const char* kSidecar =
    R"({"format": "hawx-table-1", "name": "z", "op": "multiply", "signed": false, "first_operand": "activation",
        "cost": {"power_mw": 0.1, "area_um2": 2.0, "delay_ns": 0.3, "energy_pj": null, "source": "test"}})";

class BadInput : public ::testing::Test {
protected:
    TempDir dir;

    /// Runs `hawx args` in the scratch folder and checks the contract.
    void expect_rejected(const std::string& args, const std::vector<std::string>& must_contain) {
        const auto before = snapshot(dir.path);
        const Result r = hawx(args, dir.str());
        EXPECT_EQ(r.code, 2) << args << "\nstdout: " << r.out << "\nstderr: " << r.err;
        EXPECT_EQ(r.err.rfind("hawx: ", 0), 0u) << args << "\n" << r.err;
        EXPECT_TRUE(!r.err.empty() && r.err.find('\n') == r.err.size() - 1) << "not one line: " << r.err;
        for (const auto& s : must_contain) EXPECT_NE(r.err.find(s), std::string::npos) << "'" << s << "' not in: " << r.err;
        EXPECT_EQ(snapshot(dir.path), before) << args << ": something was written";
        EXPECT_FALSE(fs::exists(dir.path / "runs")) << args;
    }

    /// `hawx run` on a manifest with the given JSON text.
    void expect_manifest_rejected(const std::string& json, const std::vector<std::string>& must_contain) {
        const std::string m = dir.file("m.json", json);
        std::vector<std::string> all = must_contain;
        all.push_back(m);
        expect_rejected("run '" + m + "'", all);
    }

    /// A manifest with one core.table block reading `name`.bin.
    void expect_table_rejected(const std::string& name, const std::vector<std::string>& must_contain) {
        expect_manifest_rejected(
            R"({"hawx": 1, "name": "t", "blocks": [{"name": "T", "component": "core.table", "params": {"path": ")" + name +
                R"(.bin"}}]})",
            must_contain);
    }

    void expect_train_rejected(const std::string& dataset, const fs::path& data, const std::vector<std::string>& must_contain) {
        expect_rejected("train --model lenet5 --dataset " + dataset + " --data-dir '" + data.string() +
                            "' --epochs 1 --threads 1 --val-size 0 --out '" + (dir.path / "ck.pt").string() + "'",
                        must_contain);
        EXPECT_FALSE(fs::exists(dir.path / "ck.pt"));
    }
};

// ---- manifests -------------------------------------------------------------------------

TEST_F(BadInput, ManifestWrongFormatVersion) {
    expect_manifest_rejected(R"({"hawx": 2, "name": "t"})", {"'hawx' must be the manifest format version 1, got 2"});
}

TEST_F(BadInput, ManifestNegativeSeed) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "seed": -1})", {"'seed' must be a non-negative integer, got -1"});
}

TEST_F(BadInput, ManifestPluginPathsWrongType) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "plugins": {"paths": "lib"}})", {"'paths' must be an array of strings"});
}

TEST_F(BadInput, ManifestUnknownNestedKey) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "output": {"dir": "o", "folder": "p"}})", {"unknown key 'folder'"});
}

TEST_F(BadInput, ManifestDuplicateBlockName) {
    expect_manifest_rejected(
        R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.exact_mul"}, {"name": "A", "component": "core.exact_add"}]})",
        {"duplicate name 'A'"});
}

TEST_F(BadInput, ManifestBadRunName) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "a b"})", {"'name' must be 1-128 letters"});
}

TEST_F(BadInput, ManifestNotAnObject) {
    expect_manifest_rejected("[1, 2]", {"a manifest must be a JSON object"});
}

TEST_F(BadInput, ManifestEmptyFile) { expect_manifest_rejected("", {"malformed JSON"}); }

TEST_F(BadInput, ManifestIsAFolder) {
    fs::create_directories(dir.path / "m.json.d");
    expect_rejected("run '" + (dir.path / "m.json.d").string() + "'", {"m.json.d", "is a folder"});
}

TEST_F(BadInput, ManifestUnknownLibrary) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "nolib.x"}]})",
                             {"blocks[0] (A)", "plugin library 'nolib' not found"});
}

TEST_F(BadInput, ManifestComponentNotLibraryDotName) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "exact_mul"}]})",
                             {"blocks[0] (A)", "'exact_mul' must be written library.component"});
}

TEST_F(BadInput, ManifestChoiceOutsideItsValues) {
    expect_manifest_rejected(
        R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.table", "params": {"path": "x.bin", "signedness": "maybe"}}]})",
        {"blocks[0] (A)", "parameter 'signedness' of core.table = \"maybe\" must be one of: sidecar, signed, unsigned"});
}

TEST_F(BadInput, ManifestBoolParameterGivenAString) {
    expect_manifest_rejected(
        R"({"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": "core.truncated_mul", "params": {"signed": "yes"}}]})",
        {"blocks[0] (A)", "parameter 'signed' of core.truncated_mul must be a bool"});
}

// Experiment sections (issue 7 keys): thresholds, profiling, granularity, model, search.
TEST_F(BadInput, ManifestThresholdAbove100) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "exploration": {"max_drop": [1, 150]}})",
                             {"exploration", "'max_drop' must be a number or an array of numbers in [0, 100]"});
}

TEST_F(BadInput, ManifestThresholdNegative) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "exploration": {"max_drop": -0.5}})",
                             {"exploration", "'max_drop' must be a number or an array of numbers in [0, 100]"});
}

TEST_F(BadInput, ManifestZeroRepresentatives) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "profiling": {"representatives": 0}})",
                             {"profiling", "'representatives' must be in [1, 100000], got 0"});
}

TEST_F(BadInput, ManifestZeroPredictorImages) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "profiling": {"predictor_images": 0}})",
                             {"profiling", "'predictor_images' must be in [1, "});
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "profiling": {"predictor_images": 2.5}})",
                             {"profiling", "'predictor_images'"});
}

TEST_F(BadInput, ManifestUnknownGranularity) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "exploration": {"granularity": "pixel"}})",
                             {"'granularity' must be one of layer, filter, operation, got 'pixel'"});
}

TEST_F(BadInput, ManifestModelWithoutCheckpoint) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "model": {"arch": "lenet5"}})",
                             {"model", "missing required key 'checkpoint'"});
}

TEST_F(BadInput, ManifestEmptySearchList) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "search": []})", {"'search' must not be an empty array"});
}

TEST_F(BadInput, ManifestTrainingLearningRateZero) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "training": {"lr": 0}})", {"training", "'lr' must be in"});
}

// Found by fuzzing: a number too large for a double used to escape read_manifest (exit 3).
TEST_F(BadInput, ManifestNumberTooLarge) {
    expect_manifest_rejected(R"({"hawx": 1, "name": "t", "seed": 1e400})", {"malformed JSON", "1e400"});
}

// Found by fuzzing: std::regex_match on a huge name used to overflow the stack (SIGSEGV).
TEST_F(BadInput, ManifestOverlongName) {
    expect_manifest_rejected(R"({"hawx": 1, "name": ")" + std::string(200000, 'a') + R"("})", {"'name'"});
}

TEST_F(BadInput, ManifestMissingPluginFolder) {
    expect_manifest_rejected(
        R"({"hawx": 1, "name": "t", "plugins": {"paths": ["nowhere"]}, "blocks": [{"name": "A", "component": "nolib.x"}]})",
        {"plugin library 'nolib' not found", "nowhere"});
}

// ---- plugins, through `blocks list --manifest` (cli_test covers `plugins list` and `run`)

class BadPlugin : public BadInput, public ::testing::WithParamInterface<std::pair<const char*, const char*>> {};

TEST_P(BadPlugin, BlocksListNamingItFails) {
    const auto& [fixture, message] = GetParam();
    const std::string m = dir.file(
        "m.json", R"({"hawx": 1, "name": "t", "plugins": {"paths": [")" + hawx::test::fixture(fixture) +
                      R"("]}, "blocks": [{"name": "X", "component": ")" + std::string(fixture) + R"(.x"}]})");
    expect_rejected("blocks list --manifest '" + m + "'", {"hawx_" + std::string(fixture) + ".so", message});
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadPlugin,
    ::testing::Values(std::make_pair("badabi", "plugin ABI version 999 is not supported"),
                      std::make_pair("noentry", "entry point 'hawx_plugin_entry' missing"),
                      std::make_pair("throws", "plugin registration failed"),
                      std::make_pair("duplicate", "duplicate component name 'twice'")),
    [](const auto& info) { return std::string(info.param.first); });

// ---- table files -----------------------------------------------------------------------

TEST_F(BadInput, TableTooShort) {
    write_bytes(dir.path / "t.bin", table_bytes(1000));
    write_bytes(dir.path / "t.json", kSidecar);
    expect_table_rejected("t", {"t.bin", "table file has 2000 bytes, expected 131072"});
}

TEST_F(BadInput, TableTooLong) {
    write_bytes(dir.path / "t.bin", table_bytes(65537));
    write_bytes(dir.path / "t.json", kSidecar);
    expect_table_rejected("t", {"t.bin", "table file has 131074 bytes"});
}

TEST_F(BadInput, TableEmptyFile) {
    write_bytes(dir.path / "t.bin", "");
    write_bytes(dir.path / "t.json", kSidecar);
    expect_table_rejected("t", {"t.bin", "table file has 0 bytes"});
}

TEST_F(BadInput, TableSidecarMalformedJson) {
    write_bytes(dir.path / "t.bin", table_bytes(65536));
    write_bytes(dir.path / "t.json", R"({"format": "hawx-table-1",)");
    expect_table_rejected("t", {"t.json", "malformed JSON in table sidecar"});
}

// Was: nlohmann's type_error escaped from parse_sidecar and the message named no file.
TEST_F(BadInput, TableSidecarFormatOfWrongType) {
    write_bytes(dir.path / "t.bin", table_bytes(65536));
    write_bytes(dir.path / "t.json", R"({"format": 5, "signed": false})");
    expect_table_rejected("t", {"t.json", "malformed table sidecar", "type must be string"});
}

TEST_F(BadInput, TableSidecarUnknownKey) {
    write_bytes(dir.path / "t.bin", table_bytes(65536));
    write_bytes(dir.path / "t.json", R"({"format": "hawx-table-1", "signed": false, "colour": 1})");
    expect_table_rejected("t", {"t.json", "unknown key 'colour'"});
}

TEST_F(BadInput, TableCorruptedAgainstPublishedFigures) {
    std::string t = table_bytes(65536);
    t[2 * 0x0203] = '\x77';  // one corrupted entry: 2*3 = 6 -> 0x77
    write_bytes(dir.path / "t.bin", t);
    std::string side = kSidecar;
    side.insert(side.rfind('}'), R"(, "published": {"wce": 0})");
    write_bytes(dir.path / "t.json", side);
    expect_table_rejected("t", {"t.bin", "published WCE = 0", "disagrees with the table's computed WCE"});
}

TEST_F(BadInput, TableWithoutSidecarOrParameters) {
    write_bytes(dir.path / "t.bin", table_bytes(65536));
    expect_table_rejected("t", {"t.bin", "no sidecar", "'signedness'"});
}

// ---- datasets (the readers run inside `hawx train`; the checkpoint must not appear) -----

TEST_F(BadInput, IdxTruncatedImages) {
    const std::string img = idx_images(4, 28, 28);
    mnist_folder(dir.path / "d", img.substr(0, img.size() - 10), idx_labels(4), img, idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-images-idx3-ubyte", "truncated IDX image data"});
}

TEST_F(BadInput, IdxTruncatedHeader) {
    mnist_folder(dir.path / "d", idx_images(4, 28, 28), idx_labels(4).substr(0, 6), idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-labels-idx1-ubyte", "truncated IDX header"});
}

TEST_F(BadInput, IdxWrongMagic) {
    std::string img = idx_images(4, 28, 28);
    img[3] = '\x02';
    mnist_folder(dir.path / "d", img, idx_labels(4), idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-images-idx3-ubyte", "not an IDX image file (magic 0x00000802"});
}

TEST_F(BadInput, IdxImageLabelCountMismatch) {
    mnist_folder(dir.path / "d", idx_images(4, 28, 28), idx_labels(4), idx_images(4, 28, 28), idx_labels(3));
    expect_train_rejected("mnist", dir.path / "d", {"t10k-images-idx3-ubyte", "holds 4 images but", "holds 3 labels"});
}

TEST_F(BadInput, IdxCorruptGzip) {
    // gzip magic, then garbage: the stream is not inflatable.
    const std::string gz = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + std::string(64, '\xff');
    mnist_folder(dir.path / "d", gz, idx_labels(4), idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-images-idx3-ubyte", "corrupt gzip data"});
}

TEST_F(BadInput, IdxHeaderClaimsHugeCount) {
    mnist_folder(dir.path / "d", be32(0x803) + be32(0xFFFFFFFF) + be32(28) + be32(28), be32(0x801) + be32(0xFFFFFFFF),
                 idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-labels-idx1-ubyte", "truncated IDX label data"});
}

TEST_F(BadInput, IdxZeroRows) {
    mnist_folder(dir.path / "d", idx_images(4, 0, 28), idx_labels(4), idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-images-idx3-ubyte", "bad IDX image size 0x28"});
}

TEST_F(BadInput, EmptyTrainingSet) {
    mnist_folder(dir.path / "d", idx_images(0, 28, 28), idx_labels(0), idx_images(4, 28, 28), idx_labels(4));
    expect_train_rejected("mnist", dir.path / "d", {"train-images-idx3-ubyte", "no training images"});
}

TEST_F(BadInput, EmptyTestSet) {
    mnist_folder(dir.path / "d", idx_images(4, 28, 28), idx_labels(4), idx_images(0, 28, 28), idx_labels(0));
    expect_train_rejected("mnist", dir.path / "d", {"t10k-images-idx3-ubyte", "has no images"});
}

TEST_F(BadInput, CifarTruncatedBatch) {
    cifar_folder(dir.path / "d", cifar_record(1) + cifar_record(2).substr(0, 100));
    expect_train_rejected("cifar10", dir.path / "d", {"test_batch.bin", "not a multiple of the CIFAR-10 record size 3073"});
}

TEST_F(BadInput, CifarLabelOutOfRange) {
    cifar_folder(dir.path / "d", cifar_record(1) + cifar_record(12));
    expect_train_rejected("cifar10", dir.path / "d", {"test_batch.bin", "record 1 has label 12 (must be 0..9)"});
}

TEST_F(BadInput, CifarEmptyBatch) {
    cifar_folder(dir.path / "d", "");
    expect_train_rejected("cifar10", dir.path / "d", {"test_batch.bin", "empty CIFAR-10 batch file"});
}

TEST_F(BadInput, CifarMissingTestBatch) {
    cifar_folder(dir.path / "d", "", false);
    expect_train_rejected("cifar10", dir.path / "d", {"test_batch.bin", "no CIFAR-10 test batch found"});
}

TEST_F(BadInput, PpmTruncatedPixels) {
    gtsrb_folder(dir.path / "d", "0.ppm;5;4;0;0;4;3;1\n", ppm(5, 4).substr(0, 60));
    expect_train_rejected("gtsrb", dir.path / "d", {"0.ppm", "truncated PPM pixel data: expected 60 bytes"});
}

TEST_F(BadInput, PpmWrongMagic) {
    std::string img = ppm(5, 4);
    img[1] = '5';
    gtsrb_folder(dir.path / "d", "0.ppm;5;4;0;0;4;3;1\n", img);
    expect_train_rejected("gtsrb", dir.path / "d", {"0.ppm", "not a binary PPM file"});
}

TEST_F(BadInput, PpmUnsupportedMaxval) {
    gtsrb_folder(dir.path / "d", "0.ppm;5;4;0;0;4;3;1\n", "P6\n5 4\n65535\n" + std::string(120, 'x'));
    expect_train_rejected("gtsrb", dir.path / "d", {"0.ppm", "unsupported PPM maxval 65535"});
}

TEST_F(BadInput, GtsrbRoiOutsideImage) {
    gtsrb_folder(dir.path / "d", "0.ppm;5;4;0;0;5;3;1\n", ppm(5, 4));
    expect_train_rejected("gtsrb", dir.path / "d", {"0.ppm", "ROI (0,0)-(5,3) lies outside the 5x4 image"});
}

TEST_F(BadInput, GtsrbMissingImage) {
    gtsrb_folder(dir.path / "d", "1.ppm;5;4;0;0;4;3;1\n", ppm(5, 4));
    expect_train_rejected("gtsrb", dir.path / "d", {"1.ppm", "no such file"});
}

TEST_F(BadInput, GtsrbMissingColumn) {
    for (const char* sub : {"train/00000", "test"}) {
        write_bytes(dir.path / "d" / sub / "GT-00000.csv", "Filename;Width;Height;ClassId\n0.ppm;5;4;1\n");
        write_bytes(dir.path / "d" / sub / "0.ppm", ppm(5, 4));
    }
    expect_train_rejected("gtsrb", dir.path / "d", {"GT-00000.csv", "lacks the column 'Roi.X1'"});
}

// ---- checkpoints and configuration strings, through `hawx eval` -------------------------

/// A LeNet-5 checkpoint trained for one epoch on synthetic data, shared by the eval cases.
class BadEval : public BadInput {
protected:
    static TempDir* shared;
    static std::string checkpoint;

    static void SetUpTestSuite() {
        shared = new TempDir;
        checkpoint = (shared->path / "lenet.pt").string();
        const Result r = hawx("train --model lenet5 --dataset synthetic --epochs 1 --threads 1 --out '" + checkpoint + "'",
                              shared->str());
        ASSERT_EQ(r.code, 0) << r.out << r.err;
    }
    static void TearDownTestSuite() {
        delete shared;
        shared = nullptr;
    }

    void expect_eval_rejected(const std::string& args, const std::vector<std::string>& must_contain) {
        expect_rejected("eval --limit 20 --calibration 20 --threads 1 " + args, must_contain);
    }

    void expect_config_rejected(const std::string& config, const std::vector<std::string>& must_contain) {
        expect_eval_rejected("--checkpoint '" + checkpoint + "' --manifest '" HAWX_SOURCE_DIR
                             "/experiments/lenet5_blocks.json' --config '" + config + "'",
                             must_contain);
    }

    /// Rewrites the checkpoint with python's torch (skips when /usr/bin/python3 has none).
    std::string edited_checkpoint(const std::string& name, const std::string& python_edit) {
        if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) return "";
        const std::string out = (shared->path / name).string();
        const std::string cmd = "/usr/bin/python3 -c \"import torch; sd = torch.load('" + checkpoint + "'); " +
                                python_edit + "; torch.save(sd, '" + out + "')\" > /dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        return out;
    }
};
TempDir* BadEval::shared = nullptr;
std::string BadEval::checkpoint;

TEST_F(BadEval, CheckpointOfAnotherModel) {
    expect_eval_rejected("--checkpoint '" + checkpoint + "' --model vgg11", {"lenet.pt", "holds model lenet5, not vgg11"});
}

TEST_F(BadEval, TruncatedCheckpoint) {
    const std::string bytes = hawx::test::read_file(checkpoint);
    write_bytes(shared->path / "cut.pt", bytes.substr(0, bytes.size() / 2));
    expect_eval_rejected("--checkpoint '" + (shared->path / "cut.pt").string() + "'", {"cut.pt", "unreadable torch.save archive"});
}

TEST_F(BadEval, CheckpointThatIsNotATorchFile) {
    write_bytes(shared->path / "text.pt", "this is not a checkpoint\n");
    expect_eval_rejected("--checkpoint '" + (shared->path / "text.pt").string() + "'", {"text.pt", "neither a hawx checkpoint nor a TorchScript archive"});
}

TEST_F(BadEval, StateDictWithoutHawxMetadata) {
    const std::string ck = edited_checkpoint("plain.pt", "del sd['__hawx__']");
    if (ck.empty()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    expect_eval_rejected("--checkpoint '" + ck + "'", {"plain.pt", "not a hawx checkpoint"});
}

TEST_F(BadEval, NaNWeights) {
    const std::string ck = edited_checkpoint("nan.pt", "sd['conv2.weight'][0, 0, 0, 0] = float('nan')");
    if (ck.empty()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    expect_eval_rejected("--checkpoint '" + ck + "'", {"nan.pt", "'conv2.weight' contains NaN or Inf"});
}

TEST_F(BadEval, InfWeights) {
    const std::string ck = edited_checkpoint("inf.pt", "sd['fc1.bias'][3] = float('-inf')");
    if (ck.empty()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    expect_eval_rejected("--checkpoint '" + ck + "'", {"inf.pt", "'fc1.bias' contains NaN or Inf"});
}

TEST_F(BadEval, WeightOfTheWrongShape) {
    const std::string ck = edited_checkpoint("shape.pt", "sd['conv1.weight'] = torch.zeros(3, 3)");
    if (ck.empty()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    expect_eval_rejected("--checkpoint '" + ck + "'", {"shape.pt", "'conv1.weight' has shape [3, 3], lenet5 expects [6, 1, 5, 5]"});
}

TEST_F(BadEval, MissingWeight) {
    const std::string ck = edited_checkpoint("missing.pt", "del sd['fc3.bias']");
    if (ck.empty()) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    expect_eval_rejected("--checkpoint '" + ck + "'", {"missing.pt", "missing key 'fc3.bias' for lenet5"});
}

TEST_F(BadEval, ConfigOverlappingRanges) { expect_config_rejected("1-3:T4 3-5:T2", {"3-5:T2", "layer 3 is given twice"}); }

TEST_F(BadEval, ConfigMissingLayers) { expect_config_rejected("1-3:T4", {"1-3:T4", "layer 4 has no block"}); }

TEST_F(BadEval, ConfigReversedRange) { expect_config_rejected("3-1:T4 *:EX", {"3-1:T4", "empty range 3-1"}); }

TEST_F(BadEval, ConfigMalformedItem) { expect_config_rejected("1-5 T4", {"'1-5'", "expected LAYERS:BLOCK"}); }

TEST_F(BadEval, ConfigEmptyChoice) { expect_config_rejected("1-5:", {"'1-5:'", "expected LAYERS:BLOCK"}); }

TEST_F(BadEval, ConfigUnknownBlockInFilterMix) { expect_config_rejected("1:(T4,NOPE) 2-5:EX", {"1:(T4,NOPE)", "unknown block 'NOPE'"}); }

TEST_F(BadEval, ConfigWrongPerFilterCount) { expect_config_rejected("1:[T4,T2] 2-5:EX", {"1:[T4,T2]", "layer 1 has 6 filters, the list names 2"}); }

TEST_F(BadEval, ConfigUnbalancedBracket) { expect_config_rejected("1:(T4,T2 2-5:EX", {"1:(T4,T2", "unbalanced '('"}); }

TEST_F(BadEval, ConfigWithoutManifestNamesUnknownBlock) {
    expect_eval_rejected("--checkpoint '" + checkpoint + "' --config '*:T4'", {"*:T4", "unknown block 'T4'"});
}

// ---- C import ----------------------------------------------------------------------------

TEST_F(BadInput, ImportMalformedCircuit) {
    expect_rejected("blocks import-c '" HAWX_SOURCE_DIR "/tests/cimport/fixtures/malformed/bad_signature.c' --out '" +
                        (dir.path / "out").string() + "'",
                    {"bad_signature.c:7", "unsupported parameter type"});
    EXPECT_FALSE(fs::exists(dir.path / "out"));
}

TEST_F(BadInput, ImportMissingFile) {
    expect_rejected("blocks import-c '" + (dir.path / "none.c").string() + "' --out '" + (dir.path / "out").string() + "'",
                    {"none.c", "cannot open C file"});
}

// Was: std::regex recursion per character overflowed the stack (SIGSEGV) on a long line.
TEST_F(BadInput, ImportOverlongHeaderLine) {
    const std::string c = dir.file("mul8u_LONG.c", "// MAE% = " + std::string(200000, '1') +
                                                      "\nuint16_t mul8u_LONG(uint8_t A, uint8_t B) { return A * B; }\n");
    expect_rejected("blocks import-c '" + c + "' --out '" + (dir.path / "out").string() + "'",
                    {"mul8u_LONG.c:1", "header line for MAE% is 200010 characters long"});
}

}  // namespace
