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

namespace fs = std::filesystem;

namespace hawx {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;

/// Makes arbitrary file content safe to quote in a one-line message.
std::string printable(const std::string& s, std::size_t max_len = 40) {
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

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
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

namespace {

struct Image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb;  // HWC, row-major
};

Image read_ppm(const std::string& path) {
    const std::string data = read_whole_file(path);
    std::size_t pos = 0;
    auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    if (data.size() < 3 || data[0] != 'P' || data[1] != '6' ||
        !(is_space(data[2]) || data[2] == '#'))
        throw Error(path + ": not a binary PPM file (magic '" + printable(data.substr(0, 3)) +
                    "', expected 'P6')");
    pos = 2;
    auto next_number = [&](const char* what) -> std::uint64_t {
        // Skip whitespace and comments (from '#' to the end of the line).
        while (pos < data.size()) {
            if (is_space(data[pos])) {
                ++pos;
            } else if (data[pos] == '#') {
                while (pos < data.size() && data[pos] != '\n' && data[pos] != '\r') ++pos;
            } else {
                break;
            }
        }
        if (pos >= data.size())
            throw Error(path + ": truncated PPM header (missing " + what + ")");
        std::uint64_t v = 0;
        std::size_t digits = 0;
        while (pos < data.size() && data[pos] >= '0' && data[pos] <= '9') {
            if (v > 1000000000) throw Error(path + ": PPM " + what + " is too large");
            v = v * 10 + static_cast<std::uint64_t>(data[pos] - '0');
            ++pos;
            ++digits;
        }
        if (digits == 0)
            throw Error(path + ": bad PPM header: expected " + what + ", found '" +
                        printable(data.substr(pos, 8)) + "'");
        if (pos < data.size() && !is_space(data[pos]) && data[pos] != '#')
            throw Error(path + ": bad PPM header: " + what + " followed by '" +
                        printable(data.substr(pos, 1)) + "'");
        return v;
    };
    const std::uint64_t w = next_number("width");
    const std::uint64_t h = next_number("height");
    const std::uint64_t maxval = next_number("maxval");
    if (w == 0 || h == 0 || w > 65535 || h > 65535)
        throw Error(path + ": bad PPM size " + std::to_string(w) + "x" + std::to_string(h) +
                    " (must be 1..65535)");
    if (maxval != 255)
        throw Error(path + ": unsupported PPM maxval " + std::to_string(maxval) +
                    " (only 255 is supported)");
    // Exactly one whitespace byte separates the header from the pixels.
    if (pos >= data.size() || !is_space(data[pos]))
        throw Error(path + ": truncated PPM header (no whitespace after maxval)");
    ++pos;
    const std::uint64_t need = w * h * 3;
    const std::uint64_t have = data.size() - pos;
    if (have < need)
        throw Error(path + ": truncated PPM pixel data: expected " + std::to_string(need) +
                    " bytes, got " + std::to_string(have));
    Image img;
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.rgb.assign(data.begin() + static_cast<std::ptrdiff_t>(pos),
                   data.begin() + static_cast<std::ptrdiff_t>(pos + need));
    return img;
}

/// Source index and fraction (numerator over den) for each output coordinate of a
/// half-pixel-centre bilinear resize from `in` to `out` samples.
struct Tap {
    int i0, i1;
    std::int64_t frac;  // weight of i1, over den
};

std::vector<Tap> taps(int in, int out, std::int64_t& den) {
    // src = (d + 0.5) * in / out - 0.5 = ((2d + 1) * in - out) / (2 * out)
    den = 2 * static_cast<std::int64_t>(out);
    std::vector<Tap> t(static_cast<std::size_t>(out));
    for (int d = 0; d < out; ++d) {
        const std::int64_t num = (2 * static_cast<std::int64_t>(d) + 1) * in - out;
        Tap& tap = t[static_cast<std::size_t>(d)];
        if (num <= 0) {
            tap.i0 = 0;
            tap.frac = 0;
        } else {
            tap.i0 = static_cast<int>(num / den);
            tap.frac = num % den;
        }
        if (tap.i0 >= in - 1) {
            tap.i0 = in - 1;
            tap.frac = 0;
        }
        tap.i1 = std::min(tap.i0 + 1, in - 1);
    }
    return t;
}

/// Crops [x1..x2] x [y1..y2] (inclusive) out of img and resizes it to out x out, writing
/// CHW planes into dst.
void crop_resize(const Image& img, int x1, int y1, int x2, int y2, int out, std::uint8_t* dst) {
    const int cw = x2 - x1 + 1;
    const int ch = y2 - y1 + 1;
    std::int64_t dx = 0, dy = 0;
    const std::vector<Tap> tx = taps(cw, out, dx);
    const std::vector<Tap> ty = taps(ch, out, dy);
    const std::int64_t total = dx * dy;
    auto px = [&](int x, int y, int c) -> std::int64_t {
        return img.rgb[(static_cast<std::size_t>(y1 + y) * static_cast<std::size_t>(img.width) +
                        static_cast<std::size_t>(x1 + x)) * 3 + static_cast<std::size_t>(c)];
    };
    const std::size_t plane = static_cast<std::size_t>(out) * static_cast<std::size_t>(out);
    for (int c = 0; c < 3; ++c) {
        for (int oy = 0; oy < out; ++oy) {
            const Tap& a = ty[static_cast<std::size_t>(oy)];
            for (int ox = 0; ox < out; ++ox) {
                const Tap& b = tx[static_cast<std::size_t>(ox)];
                const std::int64_t top = px(b.i0, a.i0, c) * (dx - b.frac) + px(b.i1, a.i0, c) * b.frac;
                const std::int64_t bot = px(b.i0, a.i1, c) * (dx - b.frac) + px(b.i1, a.i1, c) * b.frac;
                const std::int64_t sum = top * (dy - a.frac) + bot * a.frac;
                const std::int64_t v = (2 * sum + total) / (2 * total);  // round half up
                dst[static_cast<std::size_t>(c) * plane + static_cast<std::size_t>(oy) * out +
                    static_cast<std::size_t>(ox)] = static_cast<std::uint8_t>(std::min<std::int64_t>(v, 255));
            }
        }
    }
}

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
    return s.substr(b, e - b);
}

std::vector<std::string> split_semicolons(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t p = line.find(';', start);
        if (p == std::string::npos) {
            out.push_back(trim(line.substr(start)));
            return out;
        }
        out.push_back(trim(line.substr(start, p - start)));
        start = p + 1;
    }
}

void check_out_size(int out_size) {
    if (out_size < 1 || out_size > 4096)
        throw Error("GTSRB: output size " + std::to_string(out_size) + " must be 1..4096");
}

/// Appends the images listed in one GTSRB CSV to ds; returns the largest ClassId seen.
long append_gtsrb_csv(const std::string& csv_path, int out_size, Dataset& ds) {
    const std::string text = read_whole_file(csv_path);
    std::vector<std::string> lines;
    {
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t p = text.find('\n', start);
            if (p == std::string::npos) p = text.size();
            lines.push_back(text.substr(start, p - start));
            start = p + 1;
        }
    }
    if (lines.empty() || trim(lines[0]).empty())
        throw Error(csv_path + ": empty GTSRB annotation file (no header line)");
    std::string header = lines[0];
    if (header.size() >= 3 && header.compare(0, 3, "\xEF\xBB\xBF") == 0) header.erase(0, 3);
    const std::vector<std::string> cols = split_semicolons(header);
    static const char* const kNames[] = {"Filename", "Width",   "Height",  "Roi.X1",
                                         "Roi.Y1",   "Roi.X2", "Roi.Y2", "ClassId"};
    std::size_t idx[8];
    for (int k = 0; k < 8; ++k) {
        const auto it = std::find(cols.begin(), cols.end(), kNames[k]);
        if (it == cols.end())
            throw Error(csv_path + ": header line lacks the column '" + kNames[k] + "'");
        idx[k] = static_cast<std::size_t>(it - cols.begin());
    }
    const std::size_t need_fields = *std::max_element(idx, idx + 8) + 1;
    const fs::path folder = fs::path(csv_path).parent_path();
    const std::size_t plane = static_cast<std::size_t>(out_size) * static_cast<std::size_t>(out_size);
    long max_class = -1;

    for (std::size_t ln = 1; ln < lines.size(); ++ln) {
        if (trim(lines[ln]).empty()) continue;
        const std::string where = csv_path + ":" + std::to_string(ln + 1);
        const std::vector<std::string> f = split_semicolons(lines[ln]);
        if (f.size() < need_fields)
            throw Error(where + ": expected " + std::to_string(cols.size()) + " fields, got " +
                        std::to_string(f.size()));
        long v[8] = {0};
        for (int k = 1; k < 8; ++k) {
            const std::string& s = f[idx[k]];
            const char* b = s.data();
            const char* e = s.data() + s.size();
            const auto r = std::from_chars(b, e, v[k]);
            if (s.empty() || r.ec != std::errc() || r.ptr != e || v[k] < 0 || v[k] > 1000000)
                throw Error(where + ": bad " + kNames[k] + " '" + printable(s) +
                            "' (expected an integer 0..1000000)");
        }
        const std::string& name = f[idx[0]];
        if (name.empty()) throw Error(where + ": empty Filename");
        const std::string img_path = (folder / name).string();
        const Image img = read_ppm(img_path);
        if (v[1] != img.width || v[2] != img.height)
            throw Error(img_path + ": image is " + std::to_string(img.width) + "x" +
                        std::to_string(img.height) + " but " + where + " says " +
                        std::to_string(v[1]) + "x" + std::to_string(v[2]));
        const long x1 = v[3], y1 = v[4], x2 = v[5], y2 = v[6];
        if (x1 > x2 || y1 > y2 || x2 >= img.width || y2 >= img.height)
            throw Error(img_path + ": ROI (" + std::to_string(x1) + "," + std::to_string(y1) +
                        ")-(" + std::to_string(x2) + "," + std::to_string(y2) +
                        ") lies outside the " + std::to_string(img.width) + "x" +
                        std::to_string(img.height) + " image (" + where + ")");
        const std::size_t base = ds.images.size();
        ds.images.resize(base + 3 * plane);
        crop_resize(img, static_cast<int>(x1), static_cast<int>(y1), static_cast<int>(x2),
                    static_cast<int>(y2), out_size, ds.images.data() + base);
        ds.labels.push_back(v[7]);
        max_class = std::max(max_class, v[7]);
    }
    return max_class;
}

Dataset gtsrb_from_csvs(const std::vector<std::string>& csvs, int out_size,
                        const std::string& name) {
    check_out_size(out_size);
    Dataset ds;
    ds.name = name;
    ds.channels = 3;
    ds.height = out_size;
    ds.width = out_size;
    long max_class = -1;
    for (const std::string& csv : csvs)
        max_class = std::max(max_class, append_gtsrb_csv(csv, out_size, ds));
    ds.num_classes = static_cast<int>(max_class + 1);
    return ds;
}

}  // namespace

Dataset read_gtsrb_csv(const std::string& csv_path, int out_size) {
    return gtsrb_from_csvs({csv_path}, out_size, "gtsrb");
}

Dataset read_gtsrb(const std::string& root, int out_size) {
    std::error_code ec;
    const auto status = fs::status(root, ec);
    if (ec || !fs::exists(status)) throw Error(root + ": GTSRB folder not found");
    if (!fs::is_directory(status)) return read_gtsrb_csv(root, out_size);
    std::vector<std::string> csvs;
    auto scan = [&](const fs::path& dir) {
        std::error_code e;
        for (fs::directory_iterator it(dir, e), end; !e && it != end; it.increment(e)) {
            const std::string fn = it->path().filename().string();
            std::error_code fe;
            if (it->is_regular_file(fe) && fn.size() > 7 && fn.compare(0, 3, "GT-") == 0 &&
                fn.compare(fn.size() - 4, 4, ".csv") == 0)
                csvs.push_back(it->path().string());
        }
    };
    scan(root);
    {
        std::error_code e;
        for (fs::directory_iterator it(root, e), end; !e && it != end; it.increment(e)) {
            std::error_code de;
            if (it->is_directory(de)) scan(it->path());
        }
    }
    std::sort(csvs.begin(), csvs.end());
    if (csvs.empty()) throw Error(root + ": no GT-*.csv annotation files found");
    return gtsrb_from_csvs(csvs, out_size, "gtsrb");
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
