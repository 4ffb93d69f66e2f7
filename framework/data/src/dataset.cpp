#include "hawx/data/dataset.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <system_error>

#include "hawx/sdk/error.hpp"
#include "read_util.hpp"

namespace fs = std::filesystem;

namespace hawx {

namespace detail {

/// Makes arbitrary file content safe to quote in a one-line message.
std::string printable(const std::string& s, std::size_t max_len) {
    std::string out;
    for (char ch : s) {
        if (out.size() >= max_len) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}

/// Reads a whole regular file; the allocation is bounded by the file's real size.
std::string read_whole_file(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw Error(path + ": cannot open: no such file");
    if (fs::is_directory(status)) throw Error(path + ": cannot open: is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
    std::string data;
    char buf[1 << 16];
    while (in) {
        in.read(buf, sizeof buf);
        data.append(buf, static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw Error(path + ": read error");
    return data;
}

}  // namespace detail

using detail::printable;
using detail::read_whole_file;

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;


std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}


/// A byte stream over a plain or gzip-compressed file (detected by the magic 1f 8b).
class ByteSource {
public:
    explicit ByteSource(const std::string& path) : path_(path) {
        std::error_code ec;
        const auto status = fs::status(path, ec);
        if (ec || !fs::exists(status)) throw Error(path + ": cannot open: no such file");
        if (fs::is_directory(status)) throw Error(path + ": cannot open: is a directory");
        file_ = std::fopen(path.c_str(), "rb");
        if (!file_) throw Error(path + ": cannot open: " + std::strerror(errno));
        unsigned char magic[2] = {0, 0};
        const std::size_t got = std::fread(magic, 1, 2, file_);
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            std::fclose(file_);
            file_ = nullptr;
            gz_ = gzopen(path.c_str(), "rb");
            if (!gz_) throw Error(path + ": cannot open gzip file");
        } else {
            std::rewind(file_);
        }
    }
    ~ByteSource() {
        if (file_) std::fclose(file_);
        if (gz_) gzclose(gz_);
    }
    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;

    bool gzipped() const { return gz_ != nullptr; }

    /// Reads up to n bytes; fewer only at end of data. Throws on corrupt gzip data.
    std::size_t read(void* dst, std::size_t n) {
        if (file_) {
            const std::size_t got = std::fread(dst, 1, n, file_);
            if (got < n && std::ferror(file_)) throw Error(path_ + ": read error");
            return got;
        }
        std::size_t done = 0;
        while (done < n) {
            const unsigned want = static_cast<unsigned>(std::min(n - done, kChunk));
            const int got = gzread(gz_, static_cast<char*>(dst) + done, want);
            if (got < 0) throw Error(path_ + ": corrupt gzip data: " + gz_message());
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }

    /// Reads up to n bytes, growing the buffer only as data actually arrives.
    std::vector<std::uint8_t> read_upto(std::size_t n) {
        std::vector<std::uint8_t> out;
        while (out.size() < n) {
            const std::size_t old = out.size();
            const std::size_t want = std::min(n - old, kChunk);
            out.resize(old + want);
            const std::size_t got = read(out.data() + old, want);
            out.resize(old + got);
            if (got < want) break;
        }
        return out;
    }

    /// Describes why a gzip stream ended early, or "" when it ended cleanly.
    std::string gz_message() const {
        if (!gz_) return "";
        int errnum = Z_OK;
        const char* msg = gzerror(gz_, &errnum);
        if (errnum == Z_OK || !msg) return "";
        return printable(msg, 80);
    }

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    gzFile gz_ = nullptr;
};

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

std::string truncated(const std::string& path, const ByteSource& src, const std::string& what,
                      std::uint64_t expected, std::uint64_t actual) {
    std::string msg = path + ": truncated " + what + ": expected " + std::to_string(expected) +
                      " bytes" + (src.gzipped() ? " (decompressed)" : "") + ", got " +
                      std::to_string(actual);
    const std::string why = src.gz_message();
    if (!why.empty()) msg += " (gzip: " + why + ")";
    return msg;
}

void expect_end(const std::string& path, ByteSource& src, std::uint64_t expected) {
    std::uint8_t extra[1];
    if (src.read(extra, 1) != 0)
        throw Error(path + ": unexpected trailing data after the " + std::to_string(expected) +
                    " bytes announced by the IDX header");
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
    ByteSource img(images_path);
    ByteSource lab(labels_path);

    std::uint8_t ih[16];
    const std::size_t ihn = img.read(ih, 16);
    if (ihn < 4) throw Error(truncated(images_path, img, "IDX header", 16, ihn));
    if (be32(ih) != 0x00000803)
        throw Error(images_path + ": not an IDX image file (magic " + hex32(be32(ih)) +
                    ", expected 0x00000803)");
    if (ihn < 16) throw Error(truncated(images_path, img, "IDX header", 16, ihn));
    std::uint8_t lh[8];
    const std::size_t lhn = lab.read(lh, 8);
    if (lhn < 4) throw Error(truncated(labels_path, lab, "IDX header", 8, lhn));
    if (be32(lh) != 0x00000801)
        throw Error(labels_path + ": not an IDX label file (magic " + hex32(be32(lh)) +
                    ", expected 0x00000801)");
    if (lhn < 8) throw Error(truncated(labels_path, lab, "IDX header", 8, lhn));

    const std::uint64_t count = be32(ih + 4);
    const std::uint64_t rows = be32(ih + 8);
    const std::uint64_t cols = be32(ih + 12);
    const std::uint64_t lcount = be32(lh + 4);
    if (rows == 0 || cols == 0 || rows > 65535 || cols > 65535)
        throw Error(images_path + ": bad IDX image size " + std::to_string(rows) + "x" +
                    std::to_string(cols) + " (must be 1..65535)");
    if (count != lcount)
        throw Error(images_path + ": holds " + std::to_string(count) + " images but " +
                    labels_path + " holds " + std::to_string(lcount) + " labels");

    // count < 2^32 and rows*cols < 2^32, so the product fits in 64 bits.
    const std::uint64_t payload = count * rows * cols;
    if (payload > std::numeric_limits<std::size_t>::max() / 2)
        throw Error(images_path + ": IDX header claims an impossible data size");

    Dataset ds;
    std::vector<std::uint8_t> lbytes = lab.read_upto(static_cast<std::size_t>(lcount));
    if (lbytes.size() < lcount)
        throw Error(truncated(labels_path, lab, "IDX label data", 8 + lcount, 8 + lbytes.size()));
    expect_end(labels_path, lab, 8 + lcount);

    ds.images = img.read_upto(static_cast<std::size_t>(payload));
    if (ds.images.size() < payload)
        throw Error(
            truncated(images_path, img, "IDX image data", 16 + payload, 16 + ds.images.size()));
    expect_end(images_path, img, 16 + payload);

    // Labels are bytes, so always in 0..255; num_classes = max label + 1.
    int max_label = -1;
    ds.labels.resize(lbytes.size());
    for (std::size_t i = 0; i < lbytes.size(); ++i) {
        ds.labels[i] = lbytes[i];
        max_label = std::max(max_label, static_cast<int>(lbytes[i]));
    }
    ds.num_classes = max_label + 1;
    ds.channels = 1;
    ds.height = static_cast<int>(rows);
    ds.width = static_cast<int>(cols);
    ds.name = fs::path(images_path).filename().string();
    return ds;
}

Dataset read_cifar10(const std::vector<std::string>& batch_paths) {
    constexpr std::size_t kRecord = 1 + 3072;
    if (batch_paths.empty()) throw Error("read_cifar10: no batch files given");
    Dataset ds;
    ds.name = "cifar10";
    ds.channels = 3;
    ds.height = 32;
    ds.width = 32;
    ds.num_classes = 10;
    for (const std::string& path : batch_paths) {
        const std::string data = read_whole_file(path);
        if (data.empty()) throw Error(path + ": empty CIFAR-10 batch file");
        if (data.size() % kRecord != 0)
            throw Error(path + ": size " + std::to_string(data.size()) +
                        " bytes is not a multiple of the CIFAR-10 record size 3073");
        const std::size_t n = data.size() / kRecord;
        const std::size_t base = ds.images.size();
        ds.images.resize(base + n * 3072);
        ds.labels.reserve(ds.labels.size() + n);
        for (std::size_t r = 0; r < n; ++r) {
            const auto* rec = reinterpret_cast<const std::uint8_t*>(data.data()) + r * kRecord;
            if (rec[0] > 9)
                throw Error(path + ": record " + std::to_string(r) + " has label " +
                            std::to_string(rec[0]) + " (must be 0..9)");
            ds.labels.push_back(rec[0]);
            std::memcpy(ds.images.data() + base + r * 3072, rec + 1, 3072);
        }
    }
    return ds;
}

Dataset synthetic_dataset(std::size_t n, int channels, int height, int width, int num_classes,
                          std::uint64_t seed) {
    if (channels < 1 || height < 1 || width < 1)
        throw Error("synthetic dataset: bad image shape " + std::to_string(channels) + "x" +
                    std::to_string(height) + "x" + std::to_string(width));
    if (num_classes < 1 || num_classes > 65536)
        throw Error("synthetic dataset: num_classes " + std::to_string(num_classes) +
                    " must be 1..65536");
    const std::uint64_t per = static_cast<std::uint64_t>(channels) *
                              static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width);
    constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 32;
    if (per > kMaxBytes || (n != 0 && per * n / n != per) || per * n > kMaxBytes ||
        per * static_cast<std::uint64_t>(num_classes) > kMaxBytes)
        throw Error("synthetic dataset: " + std::to_string(n) + " images of " +
                    std::to_string(per) + " bytes exceed the 4 GiB limit");
    std::mt19937_64 rng(seed);
    // Class templates: one random bit per pixel -> 48 or 208.
    std::vector<std::uint8_t> tmpl(static_cast<std::size_t>(per) * static_cast<std::size_t>(num_classes));
    for (std::size_t i = 0; i < tmpl.size(); i += 64) {
        std::uint64_t bits = rng();
        for (std::size_t j = i; j < std::min(tmpl.size(), i + 64); ++j, bits >>= 1)
            tmpl[j] = (bits & 1) ? 208 : 48;
    }
    Dataset ds;
    ds.name = "synthetic-" + std::to_string(seed);
    ds.channels = channels;
    ds.height = height;
    ds.width = width;
    ds.num_classes = num_classes;
    ds.labels.resize(n);
    ds.images.resize(static_cast<std::size_t>(per * n));
    for (std::size_t s = 0; s < n; ++s) {
        // Multiply-shift maps 32 random bits onto [0, num_classes) without libstdc++ code.
        const std::uint64_t label = ((rng() >> 32) * static_cast<std::uint64_t>(num_classes)) >> 32;
        ds.labels[s] = static_cast<std::int64_t>(label);
        const std::uint8_t* t = tmpl.data() + label * per;
        std::uint8_t* dst = ds.images.data() + s * per;
        std::uint64_t bits = 0;
        int left = 0;
        for (std::uint64_t p = 0; p < per; ++p) {
            if (left == 0) {
                bits = rng();
                left = 8;
            }
            // Noise in [-32, 32] from 8 random bits: (b * 65) >> 8 is in [0, 64].
            const int noise = static_cast<int>(((bits & 0xff) * 65) >> 8) - 32;
            bits >>= 8;
            --left;
            dst[p] = static_cast<std::uint8_t>(t[p] + noise);  // 16..240, never wraps
        }
    }
    return ds;
}

Dataset fashion_mnist(bool train) {
    const char* env = std::getenv("HAWX_FASHION_MNIST_DIR");
    const std::string dir =
        (env && *env) ? std::string(env) : std::string("/usr/share/datasets/fashion-mnist");
    const std::string prefix = train ? "train" : "t10k";
    const std::string images = dir + "/" + prefix + "-images-idx3-ubyte.gz";
    const std::string labels = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
    for (const std::string& p : {images, labels}) {
        std::error_code ec;
        if (!fs::exists(p, ec))
            throw Error(p + ": Fashion-MNIST file not found; install the Debian package "
                            "dataset-fashion-mnist (or set HAWX_FASHION_MNIST_DIR)");
    }
    Dataset ds = read_idx(images, labels);
    ds.name = train ? "fashion-mnist-train" : "fashion-mnist-test";
    return ds;
}

}  // namespace hawx
