// GTSRB: annotation CSVs, binary PPM images, ROI crop and exact-integer bilinear resize.
#include "hawx/data/dataset.hpp"

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

using detail::printable;
using detail::read_whole_file;

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

}  // namespace hawx
