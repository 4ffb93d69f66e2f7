#pragma once
/// \file
/// Small text and number helpers shared by every layer above the SDK (one copy each):
/// fixed-point formatting, CSV fields (RFC 4180), FNV-1a hashing, elapsed time, and Spearman's
/// rank correlation. Torch-free.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "hawx/sdk/hash.hpp"

namespace hawx {

/// `v` with `digits` decimals ("%.*f"); non-finite values as printf writes them ("nan", "inf").
std::string fixed(double v, int digits);
/// As fixed(), but "-" for a non-finite value (table cells).
std::string fixed_or_dash(double v, int digits);
/// "12.34%" for a percentage.
std::string percent(double v);
/// "%.9g": the shortest form keeping 9 significant digits (scores can be tiny).
std::string sig9(double v);
/// Text that reads back as exactly `v` ("%.10g" when that suffices, else "%.17g"); "NaN" for NaN.
std::string exact_number(double v);

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF; quotes doubled.
std::string csv_field(const std::string& s);

/// FNV-1a, 64 bit, continuing from `h` (a stable hash: std::hash may differ between builds).
std::uint64_t fnv1a(const std::string& s, std::uint64_t h = kFnv1aOffset);
/// 16 lower-case hex digits.
std::string hex16(std::uint64_t v);

/// Seconds elapsed since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

/// Spearman's rank correlation of x and y (ties share their mean rank). NaN when fewer than
/// two values or either side is constant (the correlation is undefined there).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace hawx
