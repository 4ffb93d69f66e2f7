// Tests for the torch-free dataset readers: every format round-trips byte for byte, and
// every corruption gives a one-line hawx::Error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "hawx/data/dataset.hpp"
#include "hawx/sdk/error.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = fs::temp_directory_path() /
                ("hawx_dataset_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

void write_bytes(const std::string& path, const Bytes& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    ASSERT_TRUE(out.good()) << path;
}

void write_text(const std::string& path, const std::string& text) {
    write_bytes(path, Bytes(text.begin(), text.end()));
}

void write_gz(const std::string& path, const Bytes& data) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    if (!data.empty()) {
        ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())),
                  static_cast<int>(data.size()));
    }
    ASSERT_EQ(gzclose(f), Z_OK);
}

Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void put_be32(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 24));
    b.push_back(static_cast<std::uint8_t>(v >> 16));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

Bytes idx_images(std::uint32_t magic, std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                 const Bytes& pixels) {
    Bytes b;
    put_be32(b, magic);
    put_be32(b, count);
    put_be32(b, rows);
    put_be32(b, cols);
    b.insert(b.end(), pixels.begin(), pixels.end());
    return b;
}

Bytes idx_labels(std::uint32_t magic, std::uint32_t count, const Bytes& labels) {
    Bytes b;
    put_be32(b, magic);
    put_be32(b, count);
    b.insert(b.end(), labels.begin(), labels.end());
    return b;
}

/// Runs f, which must throw hawx::Error with a one-line message containing every needle.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
    try {
        f();
        ADD_FAILURE() << "no hawx::Error thrown";
    } catch (const hawx::Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        for (const std::string& n : needles)
            EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
    }
}

// 3 images of 2x3 and their labels.
const Bytes kPixels = {0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 128, 127, 7};
const Bytes kLabels = {1, 0, 4};

void expect_small_idx(const hawx::Dataset& ds) {
    EXPECT_EQ(ds.size(), 3u);
    EXPECT_EQ(ds.channels, 1);
    EXPECT_EQ(ds.height, 2);
    EXPECT_EQ(ds.width, 3);
    EXPECT_EQ(ds.num_classes, 5);
    EXPECT_EQ(ds.images, kPixels);
    EXPECT_EQ(ds.labels, (std::vector<std::int64_t>{1, 0, 4}));
}

}  // namespace

// ---------------------------------------------------------------- IDX

TEST(Idx, ReadsPlainFiles) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 3, 2, 3, kPixels));
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_small_idx(hawx::read_idx(t.file("img"), t.file("lab")));
}

TEST(Idx, ReadsGzippedFiles) {
    TempDir t;
    write_gz(t.file("img.gz"), idx_images(0x803, 3, 2, 3, kPixels));
    write_gz(t.file("lab.gz"), idx_labels(0x801, 3, kLabels));
    expect_small_idx(hawx::read_idx(t.file("img.gz"), t.file("lab.gz")));
}

TEST(Idx, ReadsMixedGzippedAndPlain) {
    TempDir t;
    write_gz(t.file("img.gz"), idx_images(0x803, 3, 2, 3, kPixels));
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_small_idx(hawx::read_idx(t.file("img.gz"), t.file("lab")));
}

TEST(Idx, NumClassesIsMaxLabelPlusOne) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 2, 1, 1, {9, 8}));
    write_bytes(t.file("lab"), idx_labels(0x801, 2, {255, 3}));
    const hawx::Dataset ds = hawx::read_idx(t.file("img"), t.file("lab"));
    EXPECT_EQ(ds.num_classes, 256);
    EXPECT_EQ(ds.labels, (std::vector<std::int64_t>{255, 3}));
}

TEST(Idx, BadMagic) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 3, 2, 3, kPixels));
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    write_bytes(t.file("badimg"), idx_images(0x801, 3, 2, 3, kPixels));
    write_bytes(t.file("badlab"), idx_labels(0x803, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("badimg"), t.file("lab")); },
                 {t.file("badimg"), "magic"});
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("badlab")); },
                 {t.file("badlab"), "magic"});
    // Gzipped with a bad magic, and files swapped.
    write_gz(t.file("badimg.gz"), idx_images(0x804, 3, 2, 3, kPixels));
    expect_error([&] { hawx::read_idx(t.file("badimg.gz"), t.file("lab")); },
                 {t.file("badimg.gz"), "magic"});
    expect_error([&] { hawx::read_idx(t.file("lab"), t.file("img")); }, {t.file("lab"), "magic"});
}

TEST(Idx, TruncatedImagesGiveExpectedAndActualBytes) {
    TempDir t;
    Bytes img = idx_images(0x803, 3, 2, 3, kPixels);
    img.pop_back();  // 33 of 34 bytes
    write_bytes(t.file("img"), img);
    write_gz(t.file("img.gz"), img);
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); },
                 {t.file("img"), "truncated", "expected 34", "got 33"});
    expect_error([&] { hawx::read_idx(t.file("img.gz"), t.file("lab")); },
                 {t.file("img.gz"), "truncated", "expected 34", "got 33"});
}

TEST(Idx, TruncatedLabelsAndHeaders) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 3, 2, 3, kPixels));
    write_bytes(t.file("lab"), idx_labels(0x801, 3, {1, 0}));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); },
                 {t.file("lab"), "expected 11", "got 10"});
    write_bytes(t.file("shortimg"), {0, 0, 8, 3, 0, 0, 0, 3, 0, 0});
    expect_error([&] { hawx::read_idx(t.file("shortimg"), t.file("lab")); },
                 {t.file("shortimg"), "header", "expected 16", "got 10"});
    write_bytes(t.file("empty"), {});
    expect_error([&] { hawx::read_idx(t.file("empty"), t.file("lab")); }, {t.file("empty")});
    write_bytes(t.file("shortlab"), {0, 0, 8, 1, 0});
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("shortlab")); },
                 {t.file("shortlab"), "header"});
}

TEST(Idx, CountMismatchNamesBothFiles) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 3, 2, 3, kPixels));
    write_bytes(t.file("lab"), idx_labels(0x801, 2, {1, 0}));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); },
                 {t.file("img"), t.file("lab"), "3 images", "2 labels"});
}

TEST(Idx, HugeClaimedCountIsAnErrorNotBadAlloc) {
    TempDir t;
    const std::uint32_t huge = 0x80000000u;
    write_bytes(t.file("img"), idx_images(0x803, huge, 28, 28, kPixels));
    write_gz(t.file("img.gz"), idx_images(0x803, huge, 65535, 65535, kPixels));
    Bytes labels(100, 1);
    write_bytes(t.file("lab"), idx_labels(0x801, huge, labels));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); },
                 {t.file("lab"), "truncated"});
    expect_error([&] { hawx::read_idx(t.file("img.gz"), t.file("lab")); }, {"truncated"});
    // Labels complete but images claiming far more than present.
    write_bytes(t.file("img3"), idx_images(0x803, 3, 60000, 60000, kPixels));
    write_bytes(t.file("lab3"), idx_labels(0x801, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("img3"), t.file("lab3")); },
                 {t.file("img3"), "truncated", "expected 10800000016", "got 34"});
}

TEST(Idx, ZeroSizedImagesAreRejected) {
    TempDir t;
    write_bytes(t.file("img"), idx_images(0x803, 3, 0, 3, {}));
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); }, {t.file("img"), "size"});
}

TEST(Idx, TrailingDataIsRejected) {
    TempDir t;
    Bytes img = idx_images(0x803, 3, 2, 3, kPixels);
    img.push_back(0);
    write_bytes(t.file("img"), img);
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("img"), t.file("lab")); },
                 {t.file("img"), "trailing"});
}

TEST(Idx, CorruptGzipIsAnError) {
    TempDir t;
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    write_gz(t.file("img.gz"), idx_images(0x803, 3, 2, 3, kPixels));
    Bytes gz = read_bytes(t.file("img.gz"));
    ASSERT_GT(gz.size(), 20u);
    // Damage the CRC trailer: the data inflates but fails its check.
    Bytes bad_crc = gz;
    bad_crc[bad_crc.size() - 8] ^= 0xff;
    write_bytes(t.file("crc.gz"), bad_crc);
    expect_error([&] { hawx::read_idx(t.file("crc.gz"), t.file("lab")); }, {t.file("crc.gz")});
    // Cut the compressed stream short.
    Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
    write_bytes(t.file("cut.gz"), cut);
    expect_error([&] { hawx::read_idx(t.file("cut.gz"), t.file("lab")); }, {t.file("cut.gz")});
    // Garbage after the gzip magic.
    write_bytes(t.file("junk.gz"), {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff});
    expect_error([&] { hawx::read_idx(t.file("junk.gz"), t.file("lab")); }, {t.file("junk.gz")});
}

TEST(Idx, MissingFile) {
    TempDir t;
    write_bytes(t.file("lab"), idx_labels(0x801, 3, kLabels));
    expect_error([&] { hawx::read_idx(t.file("nope"), t.file("lab")); }, {t.file("nope")});
    expect_error([&] { hawx::read_idx(t.path().string(), t.file("lab")); }, {t.path().string()});
}

// ---------------------------------------------------------------- CIFAR-10

namespace {
Bytes cifar_record(std::uint8_t label, std::uint8_t salt) {
    Bytes r{label};
    for (int i = 0; i < 3072; ++i) r.push_back(static_cast<std::uint8_t>((i * 7 + salt) & 0xff));
    return r;
}
}  // namespace

TEST(Cifar10, ReadsBatchesInOrder) {
    TempDir t;
    Bytes a = cifar_record(3, 1);
    const Bytes a2 = cifar_record(0, 2);
    a.insert(a.end(), a2.begin(), a2.end());
    write_bytes(t.file("data_batch_1.bin"), a);
    write_bytes(t.file("test_batch.bin"), cifar_record(9, 3));
    const hawx::Dataset ds =
        hawx::read_cifar10({t.file("data_batch_1.bin"), t.file("test_batch.bin")});
    ASSERT_EQ(ds.size(), 3u);
    EXPECT_EQ(ds.channels, 3);
    EXPECT_EQ(ds.height, 32);
    EXPECT_EQ(ds.width, 32);
    EXPECT_EQ(ds.num_classes, 10);
    EXPECT_EQ(ds.labels, (std::vector<std::int64_t>{3, 0, 9}));
    ASSERT_EQ(ds.images.size(), 3u * 3072u);
    const std::uint8_t salts[3] = {1, 2, 3};
    for (std::size_t n = 0; n < 3; ++n)
        for (std::size_t i = 0; i < 3072; ++i)
            ASSERT_EQ(ds.images[n * 3072 + i], static_cast<std::uint8_t>((i * 7 + salts[n]) & 0xff))
                << n << " " << i;
}

TEST(Cifar10, Errors) {
    TempDir t;
    write_bytes(t.file("good.bin"), cifar_record(1, 0));
    Bytes odd = cifar_record(1, 0);
    odd.push_back(0);
    write_bytes(t.file("odd.bin"), odd);
    expect_error([&] { hawx::read_cifar10({t.file("good.bin"), t.file("odd.bin")}); },
                 {t.file("odd.bin"), "3073", "3074"});
    Bytes short_rec = cifar_record(1, 0);
    short_rec.resize(3000);
    write_bytes(t.file("short.bin"), short_rec);
    expect_error([&] { hawx::read_cifar10({t.file("short.bin")}); }, {t.file("short.bin"), "3073"});
    Bytes bad_label = cifar_record(1, 0);
    const Bytes r2 = cifar_record(10, 0);
    bad_label.insert(bad_label.end(), r2.begin(), r2.end());
    write_bytes(t.file("label.bin"), bad_label);
    expect_error([&] { hawx::read_cifar10({t.file("label.bin")}); },
                 {t.file("label.bin"), "record 1", "label 10"});
    write_bytes(t.file("empty.bin"), {});
    expect_error([&] { hawx::read_cifar10({t.file("empty.bin")}); }, {t.file("empty.bin")});
    expect_error([&] { hawx::read_cifar10({t.file("missing.bin")}); }, {t.file("missing.bin")});
    expect_error([&] { hawx::read_cifar10({}); }, {"no batch"});
}

// ---------------------------------------------------------------- GTSRB

namespace {

// A 4x4 RGB test image: R(x,y) = 10x + 40y + 1, G(x,y) = 255 - (x + 4y), B listed below.
const int kB[4][4] = {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 16}};
int R(int x, int y) { return 10 * x + 40 * y + 1; }
int G(int x, int y) { return 255 - (x + 4 * y); }

Bytes ppm_4x4(const std::string& header = "P6\n# a comment\n4 4 # trailing comment\n255\n") {
    Bytes b(header.begin(), header.end());
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) {
            b.push_back(static_cast<std::uint8_t>(R(x, y)));
            b.push_back(static_cast<std::uint8_t>(G(x, y)));
            b.push_back(static_cast<std::uint8_t>(kB[y][x]));
        }
    return b;
}

const std::string kHeader = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n";

std::uint8_t at(const hawx::Dataset& ds, std::size_t n, int c, int y, int x) {
    return ds.images[n * ds.image_bytes() +
                     static_cast<std::size_t>((c * ds.height + y) * ds.width + x)];
}

}  // namespace

TEST(Gtsrb, CropWithoutScalingIsExact) {
    TempDir t;
    write_bytes(t.file("img/a.ppm"), ppm_4x4());
    write_text(t.file("img/GT.csv"), kHeader + "a.ppm;4;4;1;1;2;2;7\r\n");
    const hawx::Dataset ds = hawx::read_gtsrb_csv(t.file("img/GT.csv"), 2);
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds.channels, 3);
    EXPECT_EQ(ds.height, 2);
    EXPECT_EQ(ds.width, 2);
    EXPECT_EQ(ds.num_classes, 8);
    EXPECT_EQ(ds.labels[0], 7);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 2; ++x) {
            EXPECT_EQ(at(ds, 0, 0, y, x), R(x + 1, y + 1));
            EXPECT_EQ(at(ds, 0, 1, y, x), G(x + 1, y + 1));
            EXPECT_EQ(at(ds, 0, 2, y, x), kB[y + 1][x + 1]);
        }
}

TEST(Gtsrb, DownscaleAveragesBlocksRoundingHalfUp) {
    TempDir t;
    write_bytes(t.file("a.ppm"), ppm_4x4());
    write_text(t.file("GT.csv"), kHeader + "a.ppm;4;4;0;0;3;3;0\n");
    const hawx::Dataset ds = hawx::read_gtsrb_csv(t.file("GT.csv"), 2);
    ASSERT_EQ(ds.images.size(), 12u);
    // Sample points (0.5, 0.5), (2.5, 0.5), ...: the mean of each 2x2 block.
    // R blocks: (1+11+41+51)/4 = 26, (21+31+61+71)/4 = 46, 106, 126.
    EXPECT_EQ(ds.images, (Bytes{26, 46, 106, 126,
                                // G: 255 - {2.5, 4.5, 10.5, 12.5} -> 252.5, 250.5, 244.5, 242.5
                                253, 251, 245, 243,
                                // B: 2.5 -> 3, 4.5 -> 5, 10.5 -> 11, 12.75 -> 13
                                3, 5, 11, 13}));
}

TEST(Gtsrb, UpscaleIsBilinearWithHalfPixelCentres) {
    TempDir t;
    // Crop the 2x2 ROI (2,0)-(3,1): R = [[21, 31], [61, 71]].
    write_bytes(t.file("a.ppm"), ppm_4x4());
    write_text(t.file("GT.csv"), kHeader + "a.ppm;4;4;2;0;3;1;1\n");
    const hawx::Dataset ds = hawx::read_gtsrb_csv(t.file("GT.csv"), 4);
    ASSERT_EQ(ds.images.size(), 48u);
    // Sample x = (ox + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1);
    // same for y. R row 0: 21, 23.5, 28.5, 31; row 3: 61, 63.5, 68.5, 71.
    // Rows 1, 2 mix with weights .75/.25 and .25/.75: 31, 33.5, 38.5, 41 / 51, 53.5, 58.5, 61.
    const Bytes r = {21, 24, 29, 31, 31, 34, 39, 41, 51, 54, 59, 61, 61, 64, 69, 71};
    EXPECT_EQ(Bytes(ds.images.begin(), ds.images.begin() + 16), r);
    // B crop = [[2, 3], [6, 7]]: row 0: 2, 2.25, 2.75, 3; row 1: 3, 3.25, 3.75, 4;
    // row 2: 5, 5.25, 5.75, 6; row 3: 6, 6.25, 6.75, 7.
    const Bytes b = {2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7};
    EXPECT_EQ(Bytes(ds.images.begin() + 32, ds.images.end()), b);
}

TEST(Gtsrb, HandMadeTwoByTwoUpscale) {
    TempDir t;
    // A 2x2 image whose R plane is [[0, 100], [200, 40]].
    Bytes b = {'P', '6', ' ', '2', ' ', '2', ' ', '2', '5', '5', '\n'};
    const std::uint8_t rv[4] = {0, 100, 200, 40};
    for (std::uint8_t v : rv) {
        b.push_back(v);
        b.push_back(0);
        b.push_back(255);
    }
    write_bytes(t.file("s.ppm"), b);
    write_text(t.file("GT.csv"), "ClassId;Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n"
                                 "2;s.ppm;2;2;0;0;1;1\n");
    const hawx::Dataset ds = hawx::read_gtsrb_csv(t.file("GT.csv"), 4);
    // Row 0: 0, 25, 75, 100; row 3: 200, 160, 80, 40;
    // row 1 = .75 row0 + .25 row3 = 50, 58.75, 76.25, 85; row 2 = 150, 126.25, 78.75, 55.
    const Bytes r = {0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40};
    EXPECT_EQ(Bytes(ds.images.begin(), ds.images.begin() + 16), r);
    EXPECT_EQ(Bytes(ds.images.begin() + 16, ds.images.begin() + 32), Bytes(16, 0));
    EXPECT_EQ(Bytes(ds.images.begin() + 32, ds.images.end()), Bytes(16, 255));
    EXPECT_EQ(ds.labels, (std::vector<std::int64_t>{2}));
    EXPECT_EQ(ds.num_classes, 3);
}

TEST(Gtsrb, SeveralRowsAndDefaultSize) {
    TempDir t;
    write_bytes(t.file("a.ppm"), ppm_4x4());
    write_text(t.file("GT.csv"), kHeader + "a.ppm;4;4;0;0;3;3;5\n\na.ppm;4;4;1;1;1;1;42\n");
    const hawx::Dataset ds = hawx::read_gtsrb_csv(t.file("GT.csv"));
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.height, 32);
    EXPECT_EQ(ds.width, 32);
    EXPECT_EQ(ds.num_classes, 43);
    EXPECT_EQ(ds.images.size(), 2u * 3 * 32 * 32);
    // The single-pixel ROI becomes a constant image.
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                ASSERT_EQ(at(ds, 1, c, y, x), c == 0 ? R(1, 1) : c == 1 ? G(1, 1) : kB[1][1]);
}

TEST(Gtsrb, FolderLayout) {
    TempDir t;
    write_bytes(t.file("00000/a.ppm"), ppm_4x4());
    write_text(t.file("00000/GT-00000.csv"), kHeader + "a.ppm;4;4;1;1;2;2;0\n");
    write_bytes(t.file("00001/b.ppm"), ppm_4x4());
    write_text(t.file("00001/GT-00001.csv"), kHeader + "b.ppm;4;4;0;0;1;1;1\n");
    const hawx::Dataset ds = hawx::read_gtsrb(t.path().string(), 2);
    EXPECT_EQ(ds.labels, (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(ds.num_classes, 2);
    EXPECT_EQ(at(ds, 0, 0, 0, 0), R(1, 1));
    EXPECT_EQ(at(ds, 1, 0, 0, 0), R(0, 0));
    TempDir empty;
    expect_error([&] { hawx::read_gtsrb(empty.path().string()); }, {empty.path().string()});
}

TEST(Gtsrb, MalformedPpm) {
    TempDir t;
    auto csv_for = [&](const std::string& name) {
        write_text(t.file(name + ".csv"), kHeader + name + ";4;4;0;0;3;3;0\n");
        return t.file(name + ".csv");
    };
    write_bytes(t.file("p3.ppm"), ppm_4x4("P3\n4 4\n255\n"));
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("p3.ppm")); }, {t.file("p3.ppm"), "P6"});
    Bytes trunc = ppm_4x4();
    trunc.resize(trunc.size() - 1);
    write_bytes(t.file("trunc.ppm"), trunc);
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("trunc.ppm")); },
                 {t.file("trunc.ppm"), "truncated", "expected 48", "got 47"});
    write_bytes(t.file("maxval.ppm"), ppm_4x4("P6 4 4 65535\n"));
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("maxval.ppm")); },
                 {t.file("maxval.ppm"), "maxval 65535"});
    write_bytes(t.file("maxval15.ppm"), ppm_4x4("P6 4 4 15\n"));
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("maxval15.ppm")); },
                 {t.file("maxval15.ppm"), "maxval"});
    write_text(t.file("hdr.ppm"), "P6\n4 # only width\n");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("hdr.ppm")); }, {t.file("hdr.ppm"), "header"});
    write_text(t.file("alpha.ppm"), "P6\n4 x4\n255\n");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("alpha.ppm")); },
                 {t.file("alpha.ppm"), "header"});
    write_text(t.file("zero.ppm"), "P6\n0 4\n255\n");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("zero.ppm")); }, {t.file("zero.ppm"), "size"});
    write_text(t.file("huge.ppm"), "P6\n99999999999999999999 4\n255\n");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("huge.ppm")); }, {t.file("huge.ppm")});
    write_text(t.file("nosep.ppm"), "P6 4 4 255");
    write_text(t.file("p64.ppm"), "P64 4 255\n");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("p64.ppm")); }, {t.file("p64.ppm"), "P6"});
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("nosep.ppm")); }, {t.file("nosep.ppm")});
    write_text(t.file("empty.ppm"), "");
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("empty.ppm")); }, {t.file("empty.ppm")});
    expect_error([&] { hawx::read_gtsrb_csv(csv_for("missing.ppm")); }, {t.file("missing.ppm")});
}

TEST(Gtsrb, RoiOutsideImageAndSizeMismatch) {
    TempDir t;
    write_bytes(t.file("a.ppm"), ppm_4x4());
    const std::vector<std::string> rows = {"a.ppm;4;4;0;0;4;3;0", "a.ppm;4;4;0;0;3;4;0",
                                           "a.ppm;4;4;2;0;1;3;0", "a.ppm;4;4;0;3;3;2;0"};
    for (const std::string& row : rows) {
        write_text(t.file("GT.csv"), kHeader + row + "\n");
        expect_error([&] { hawx::read_gtsrb_csv(t.file("GT.csv")); }, {t.file("a.ppm"), "ROI"});
    }
    write_text(t.file("GT.csv"), kHeader + "a.ppm;5;4;0;0;3;3;0\n");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("GT.csv")); }, {t.file("a.ppm"), "5x4"});
}

TEST(Gtsrb, MalformedCsv) {
    TempDir t;
    write_bytes(t.file("a.ppm"), ppm_4x4());
    write_text(t.file("nocls.csv"), "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n"
                                    "a.ppm;4;4;0;0;3;3\n");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("nocls.csv")); },
                 {t.file("nocls.csv"), "ClassId"});
    for (const char* bad : {"abc", "-1", "3x", "", "1.5", "99999999999999999999"}) {
        write_text(t.file("num.csv"), kHeader + "a.ppm;4;4;0;0;3;" + std::string(bad) + ";0\n");
        expect_error([&] { hawx::read_gtsrb_csv(t.file("num.csv")); },
                     {t.file("num.csv") + ":2", "Roi.Y2"});
    }
    write_text(t.file("few.csv"), kHeader + "a.ppm;4;4;0;0\n");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("few.csv")); }, {t.file("few.csv") + ":2"});
    write_text(t.file("noname.csv"), kHeader + ";4;4;0;0;3;3;0\n");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("noname.csv")); }, {t.file("noname.csv")});
    write_text(t.file("empty.csv"), "");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("empty.csv")); }, {t.file("empty.csv")});
    expect_error([&] { hawx::read_gtsrb_csv(t.file("missing.csv")); }, {t.file("missing.csv")});
    write_text(t.file("ok.csv"), kHeader + "a.ppm;4;4;0;0;3;3;0\n");
    expect_error([&] { hawx::read_gtsrb_csv(t.file("ok.csv"), 0); }, {"size"});
}

// ---------------------------------------------------------------- synthetic

TEST(Synthetic, DeterministicPerSeedAndDifferentAcrossSeeds) {
    const hawx::Dataset a = hawx::synthetic_dataset(50, 3, 8, 8, 4, 1);
    const hawx::Dataset b = hawx::synthetic_dataset(50, 3, 8, 8, 4, 1);
    const hawx::Dataset c = hawx::synthetic_dataset(50, 3, 8, 8, 4, 2);
    ASSERT_EQ(a.size(), 50u);
    EXPECT_EQ(a.images.size(), 50u * 3 * 8 * 8);
    EXPECT_EQ(a.channels, 3);
    EXPECT_EQ(a.height, 8);
    EXPECT_EQ(a.width, 8);
    EXPECT_EQ(a.num_classes, 4);
    EXPECT_EQ(a.images, b.images);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_NE(a.images, c.images);
    std::vector<int> seen(4, 0);
    for (std::int64_t l : a.labels) {
        ASSERT_GE(l, 0);
        ASSERT_LT(l, 4);
        ++seen[static_cast<std::size_t>(l)];
    }
    for (int s : seen) EXPECT_GT(s, 0);
    EXPECT_EQ(hawx::synthetic_dataset(0, 1, 2, 2, 3, 5).size(), 0u);
}

TEST(Synthetic, IsLearnableByNearestCentroid) {
    const hawx::Dataset ds = hawx::synthetic_dataset(400, 1, 6, 6, 5, 123);
    const std::size_t per = ds.image_bytes();
    std::vector<std::vector<double>> mean(5, std::vector<double>(per, 0.0));
    std::vector<int> count(5, 0);
    for (std::size_t n = 0; n < 200; ++n) {
        const auto l = static_cast<std::size_t>(ds.labels[n]);
        ++count[l];
        for (std::size_t p = 0; p < per; ++p) mean[l][p] += ds.images[n * per + p];
    }
    for (std::size_t l = 0; l < 5; ++l)
        for (double& v : mean[l]) v /= std::max(count[l], 1);
    int correct = 0;
    for (std::size_t n = 200; n < 400; ++n) {
        std::size_t best = 0;
        double best_d = 1e300;
        for (std::size_t l = 0; l < 5; ++l) {
            double d = 0;
            for (std::size_t p = 0; p < per; ++p) {
                const double e = ds.images[n * per + p] - mean[l][p];
                d += e * e;
            }
            if (d < best_d) {
                best_d = d;
                best = l;
            }
        }
        correct += best == static_cast<std::size_t>(ds.labels[n]);
    }
    EXPECT_GE(correct, 190);
}

TEST(Synthetic, BadParameters) {
    expect_error([] { hawx::synthetic_dataset(1, 0, 2, 2, 2, 0); }, {"shape"});
    expect_error([] { hawx::synthetic_dataset(1, 1, 2, 2, 0, 0); }, {"num_classes"});
    expect_error([] { hawx::synthetic_dataset(std::size_t{1} << 40, 3, 64, 64, 2, 0); },
                 {"limit"});
}

// ---------------------------------------------------------------- Fashion-MNIST

namespace {
class EnvGuard {
public:
    explicit EnvGuard(const char* value) {
        const char* old = std::getenv("HAWX_FASHION_MNIST_DIR");
        had_ = old != nullptr;
        if (had_) old_ = old;
        ::setenv("HAWX_FASHION_MNIST_DIR", value, 1);
    }
    ~EnvGuard() {
        if (had_)
            ::setenv("HAWX_FASHION_MNIST_DIR", old_.c_str(), 1);
        else
            ::unsetenv("HAWX_FASHION_MNIST_DIR");
    }

private:
    bool had_ = false;
    std::string old_;
};
}  // namespace

TEST(FashionMnist, MissingFolderNamesPackage) {
    TempDir t;
    EnvGuard env(t.path().c_str());
    expect_error([] { hawx::fashion_mnist(true); },
                 {t.file("train-images-idx3-ubyte.gz"), "dataset-fashion-mnist"});
    expect_error([] { hawx::fashion_mnist(false); },
                 {t.file("t10k-images-idx3-ubyte.gz"), "dataset-fashion-mnist"});
}

TEST(FashionMnist, EnvOverrideReadsThatFolder) {
    TempDir t;
    write_gz(t.file("t10k-images-idx3-ubyte.gz"), idx_images(0x803, 3, 2, 3, kPixels));
    write_gz(t.file("t10k-labels-idx1-ubyte.gz"), idx_labels(0x801, 3, kLabels));
    EnvGuard env(t.path().c_str());
    const hawx::Dataset ds = hawx::fashion_mnist(false);
    expect_small_idx(ds);
    EXPECT_EQ(ds.name, "fashion-mnist-test");
}

TEST(FashionMnist, InstalledDataset) {
    const char* dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz"))
        GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
    EnvGuard env(dir);
    const hawx::Dataset train = hawx::fashion_mnist(true);
    EXPECT_EQ(train.size(), 60000u);
    EXPECT_EQ(train.channels, 1);
    EXPECT_EQ(train.height, 28);
    EXPECT_EQ(train.width, 28);
    EXPECT_EQ(train.num_classes, 10);
    EXPECT_EQ(train.images.size(), 60000u * 28 * 28);
    EXPECT_EQ(train.labels[0], 9);  // "Ankle boot"
    const hawx::Dataset test = hawx::fashion_mnist(false);
    EXPECT_EQ(test.size(), 10000u);
    EXPECT_EQ(test.channels, 1);
    EXPECT_EQ(test.height, 28);
    EXPECT_EQ(test.width, 28);
    EXPECT_EQ(test.num_classes, 10);
    EXPECT_EQ(test.images.size(), 10000u * 28 * 28);
}
