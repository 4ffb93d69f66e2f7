#pragma once
// Helpers for the block tests: parameters filled from a component's schema defaults.
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>
#include <hawx/sdk/params.hpp>

namespace hawx::test {

/// Parameters of component T: its declared defaults, then the given overrides (which must
/// be declared parameters), as the core would hand them to the factory.
template <class T>
class P {
public:
    P() {
        for (const auto& s : T::describe().params)
            if (s.default_value) params_.set(s.name, *s.default_value);
    }
    P& b(const std::string& k, bool v) { return put(k, v); }
    P& i(const std::string& k, std::int64_t v) { return put(k, v); }
    P& f(const std::string& k, double v) { return put(k, v); }
    P& s(const std::string& k, const std::string& v) { return put(k, v); }
    const Params& get() const { return params_; }
    T make() const { return T(params_); }

private:
    P& put(const std::string& k, ParamValue v) {
        bool declared = false;
        for (const auto& s : T::describe().params) declared = declared || s.name == k;
        if (!declared) throw std::logic_error("test uses undeclared parameter '" + k + "'");
        params_.set(k, std::move(v));
        return *this;
    }
    Params params_;
};

/// Calls f(activation, weight) for every operand pair of block b.
template <class F>
void for_all_pairs(const ApproxBlock& b, F f) {
    const int na = b.activation_bits(), nw = b.weight_bits();
    for (std::int32_t a = operand_min(na, b.is_signed()); a <= operand_max(na, b.is_signed()); ++a)
        for (std::int32_t w = operand_min(nw, b.is_signed()); w <= operand_max(nw, b.is_signed()); ++w) f(a, w);
}

/// Table entry of (a, w) in block_table order.
inline std::int32_t entry(const std::vector<std::int32_t>& t, const ApproxBlock& b, std::int32_t a, std::int32_t w) {
    return t[(value_to_code(a, b.activation_bits()) << b.weight_bits()) | value_to_code(w, b.weight_bits())];
}

/// A scratch folder removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("hawx_blocks_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

/// Runs f, expects a hawx::Error, returns its message ("" and a failure otherwise).
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected hawx::Error, got std::exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "expected hawx::Error, nothing was thrown";
    return "";
}

}  // namespace hawx::test
