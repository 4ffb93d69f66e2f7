#pragma once
/// \file
/// Reading and writing 8x8 block tables in TFApprox's binary layout:
/// 65,536 entries of 16 bits, little-endian (131,072 bytes), entry index (a << 8) | b where
/// a and b are the operands' byte patterns (two's complement when signed); entries are
/// uint16 for unsigned blocks and int16 for signed ones. Which operand is `a` (the
/// activation or the weight) is not in the file: it comes from the sidecar or parameters.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "hawx/sdk/error.hpp"

namespace hawx {

inline constexpr std::size_t kTableEntries = 65536;
inline constexpr std::size_t kTableFileBytes = 2 * kTableEntries;

/// Writes `size` bytes to `path` through `path + ".tmp"` and a rename, so that either the
/// complete file appears or the previous one stays. Throws hawx::Error naming the file.
inline void write_file_bytes_atomic(const std::string& path, const void* data, std::size_t size) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path + ": cannot write");
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
        out.flush();
        if (!out) {
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw Error(path + ": write failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw Error(path + ": cannot rename temporary file into place");
    }
}

/// Reads a table file; entries are returned as values (sign-extended when `is_signed`),
/// in file order. Throws hawx::Error naming the file when it cannot be read or its size
/// is not 131,072 bytes.
inline std::vector<std::int32_t> read_table_file(const std::string& path, bool is_signed) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open table file");
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() != kTableFileBytes)
        throw Error(path + ": table file has " + std::to_string(bytes.size()) + " bytes, expected " +
                    std::to_string(kTableFileBytes) + " (256x256 entries of 16 bits)");
    std::vector<std::int32_t> t(kTableEntries);
    for (std::size_t i = 0; i < kTableEntries; ++i) {
        const std::uint16_t u = static_cast<std::uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
        t[i] = is_signed ? static_cast<std::int32_t>(static_cast<std::int16_t>(u)) : static_cast<std::int32_t>(u);
    }
    return t;
}

/// Writes entries (values, in file order) to `path` atomically (temporary file, then
/// rename): either the complete file appears or the old one is left untouched. Throws
/// hawx::Error naming the file when an entry does not fit 16 bits of the given
/// signedness or the file cannot be written.
inline void write_table_file(const std::string& path, const std::vector<std::int32_t>& table, bool is_signed) {
    if (table.size() != kTableEntries)
        throw Error(path + ": a table file holds 65536 entries, got " + std::to_string(table.size()));
    std::vector<unsigned char> bytes(kTableFileBytes);
    const std::int32_t lo = is_signed ? -32768 : 0, hi = is_signed ? 32767 : 65535;
    for (std::size_t i = 0; i < kTableEntries; ++i) {
        if (table[i] < lo || table[i] > hi)
            throw Error(path + ": entry " + std::to_string(i) + " = " + std::to_string(table[i]) + " does not fit " +
                        (is_signed ? "int16" : "uint16"));
        const std::uint16_t u = static_cast<std::uint16_t>(table[i]);
        bytes[2 * i] = static_cast<unsigned char>(u & 0xff);
        bytes[2 * i + 1] = static_cast<unsigned char>(u >> 8);
    }
    write_file_bytes_atomic(path, bytes.data(), bytes.size());
}

}  // namespace hawx
