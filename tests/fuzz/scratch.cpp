// Scratch files for the fuzz targets whose parsers read from disk.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

namespace {

struct Scratch {
    std::string path;
    Scratch() {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/hawx_fuzz_XXXXXX";
        if (!mkdtemp(templ.data())) throw std::runtime_error("fuzz: cannot create a scratch folder under " + templ);
        path = templ;
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

const std::string& scratch_dir() {
    static const Scratch s;
    return s.path;
}

std::string scratch_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
    const std::string p = scratch_dir() + "/" + name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    // A failed write would make the parser test something else than the input: stop loudly.
    if (!out) throw FuzzFailure("fuzz: cannot write scratch file " + p);
    return p;
}

void scratch_remove(const std::string& name) {
    std::error_code ec;
    std::filesystem::remove(scratch_dir() + "/" + name, ec);
}

Split split2(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return {data, 0, data, 0};
    std::size_t n = static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8);
    n = std::min(n, size - 2);
    return {data + 2, n, data + 2 + n, size - 2 - n};
}

}  // namespace hawx::fuzz
