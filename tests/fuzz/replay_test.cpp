// Replays every committed fuzz corpus file through its target's entry function, without
// libFuzzer: the corpora (hand-made seeds and every input that once crashed) are regression
// tests of the normal ctest run. A file must neither crash nor let anything but a one-line
// hawx::Error escape.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz_target.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file()) out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string replay(hawx::fuzz::Entry entry, const std::vector<std::uint8_t>& b) {
    try {
        entry(b.data(), b.size());
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "non-standard exception";
    }
    return "";
}

class Corpus : public ::testing::TestWithParam<hawx::fuzz::Target> {};

TEST_P(Corpus, EveryFileIsHandledCleanly) {
    const auto files = files_in(fs::path(HAWX_TEST_DATA_DIR) / "corpus" / GetParam().name);
    ASSERT_GE(files.size(), 3u) << "corpus of " << GetParam().name << " is missing or too small";
    for (const auto& f : files) {
        const std::string failure = replay(GetParam().entry, bytes_of(f));
        EXPECT_EQ(failure, "") << f;
    }
}

INSTANTIATE_TEST_SUITE_P(Fuzz, Corpus, ::testing::ValuesIn(hawx::fuzz::targets()),
                         [](const auto& info) { return std::string(info.param.name); });

// The harness itself must be able to fail: an escaped std::exception and a multi-line
// hawx::Error are both reported, a one-line hawx::Error is accepted.
TEST(FuzzHarness, RejectsForeignExceptionsAndMultiLineMessages) {
    EXPECT_NO_THROW(hawx::fuzz::expect_clean("t", [] { throw hawx::Error("x.json: bad"); }));
    EXPECT_THROW(hawx::fuzz::expect_clean("t", [] { throw hawx::Error("two\nlines"); }), hawx::fuzz::FuzzFailure);
    EXPECT_THROW(hawx::fuzz::expect_clean("t", [] { throw std::out_of_range("at"); }), hawx::fuzz::FuzzFailure);
    EXPECT_THROW(hawx::fuzz::expect_clean("t", [] { throw hawx::Error(""); }), hawx::fuzz::FuzzFailure);
}

// Found by fuzz_manifest: std::regex_match on the run or block name recursed once per
// character and overflowed the stack (SIGSEGV) for a name of ~100,000 characters.
TEST(FuzzRegression, ManifestLongNameOverflowsRegexStack) {
    const std::string text = R"({"hawx": 1, "name": ")" + std::string(200000, 'a') + R"("})";
    EXPECT_EQ(replay(hawx::fuzz::manifest_entry, std::vector<std::uint8_t>(text.begin(), text.end())), "");
}

// Found by fuzz_manifest from its seeds: a number too large for a double threw
// out_of_range.406, which escaped read_manifest (`hawx run` said "internal error", exit 3).
TEST(FuzzRegression, ManifestNumberOverflowEscapes) {
    const std::string text = R"({"hawx": 1, "name": "t", "seed": 1e400})";
    EXPECT_EQ(replay(hawx::fuzz::manifest_entry, std::vector<std::uint8_t>(text.begin(), text.end())), "");
}

}  // namespace
