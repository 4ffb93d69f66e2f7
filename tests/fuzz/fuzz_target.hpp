#pragma once
// Fuzz targets: one entry function per parser of untrusted input. Each is linked twice:
// into a libFuzzer binary (libfuzzer_main.cpp, clang, scripts/fuzz.sh) and into the
// corpus replay test (replay_test.cpp, the project's normal compiler), so every committed
// corpus file is a regression test in the normal ctest run.
//
// Contract checked by every target: the parser either succeeds or throws hawx::Error with
// a non-empty one-line message. Any other exception, or a message breaking that rule,
// becomes FuzzFailure, which is deliberately not a hawx::Error: libFuzzer reports it as a
// crash (uncaught exception), the replay test as a failure.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <hawx/sdk/error.hpp>

namespace hawx::fuzz {

struct FuzzFailure : std::logic_error {
    using std::logic_error::logic_error;
};

using Entry = void (*)(const std::uint8_t* data, std::size_t size);

void manifest_entry(const std::uint8_t* data, std::size_t size);
void table_entry(const std::uint8_t* data, std::size_t size);
void idx_entry(const std::uint8_t* data, std::size_t size);
void cifar_entry(const std::uint8_t* data, std::size_t size);
void gtsrb_entry(const std::uint8_t* data, std::size_t size);
void cimport_entry(const std::uint8_t* data, std::size_t size);
void config_entry(const std::uint8_t* data, std::size_t size);

struct Target {
    const char* name;  ///< also the corpus folder: tests/fuzz/corpus/<name>/
    Entry entry;
};

inline const std::vector<Target>& targets() {
    static const std::vector<Target> all = {{"manifest", manifest_entry}, {"table", table_entry},
                                            {"idx", idx_entry},           {"cifar", cifar_entry},
                                            {"gtsrb", gtsrb_entry},       {"cimport", cimport_entry},
                                            {"config", config_entry}};
    return all;
}

/// Runs f; hawx::Error with a one-line message is an accepted outcome, anything else
/// becomes FuzzFailure naming the target.
/// `multi_line_ok` relaxes the one-line rule for a parser with a known, reported defect.
template <class F>
void expect_clean(const char* target, F&& f, bool multi_line_ok = false) {
    try {
        f();
    } catch (const hawx::Error& e) {
        const std::string m = e.what();
        if (m.empty() || (!multi_line_ok && m.find('\n') != std::string::npos))
            throw FuzzFailure(std::string(target) + ": hawx::Error message is not one line: \"" + m + "\"");
    } catch (const FuzzFailure&) {
        throw;
    } catch (const std::exception& e) {
        throw FuzzFailure(std::string(target) + ": escaped exception that is not hawx::Error: " + e.what());
    }
}

/// A private scratch folder (created on first use, removed at exit); the readers under
/// test take file names, so inputs are written here first.
const std::string& scratch_dir();
/// Writes bytes to scratch_dir()/name (replacing it) and returns the path.
std::string scratch_file(const std::string& name, const std::uint8_t* data, std::size_t size);
/// Removes scratch_dir()/name if present.
void scratch_remove(const std::string& name);

/// Splits an input into two parts: the first two bytes (little-endian) give the length of
/// part one (clamped to what is there), part two is the rest.
struct Split {
    const std::uint8_t* first;
    std::size_t first_size;
    const std::uint8_t* second;
    std::size_t second_size;
};
Split split2(const std::uint8_t* data, std::size_t size);

}  // namespace hawx::fuzz
