#pragma once
/// \file
/// A stable hash (std::hash may differ between builds): table checksums, experiment identity.
#include <cstddef>
#include <cstdint>

namespace hawx {

/// FNV-1a, 64 bit, over `n` bytes, continuing from `h`.
constexpr std::uint64_t kFnv1aOffset = 1469598103934665603ull;
inline std::uint64_t fnv1a_bytes(const void* data, std::size_t n, std::uint64_t h = kFnv1aOffset) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

}  // namespace hawx
