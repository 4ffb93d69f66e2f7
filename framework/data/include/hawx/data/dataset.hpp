#pragma once
/// \file
/// Dataset readers for the approximate inference engine. Torch-free: plain bytes in,
/// plain bytes out. Every malformed input gives a hawx::Error whose message is one line
/// naming the offending file and the problem; readers never crash and never exit().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hawx {

/// A labelled image dataset held in memory.
struct Dataset {
    std::string name;
    int channels = 0;
    int height = 0;
    int width = 0;
    /// size() * channels * height * width bytes; each image is CHW, each plane row-major.
    std::vector<std::uint8_t> images;
    /// One label per image, each in [0, num_classes).
    std::vector<std::int64_t> labels;
    int num_classes = 0;

    std::size_t size() const { return labels.size(); }
    /// Bytes per image (channels * height * width).
    std::size_t image_bytes() const {
        return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
               static_cast<std::size_t>(width);
    }
};

/// MNIST / Fashion-MNIST IDX files (images: magic 0x00000803, labels: magic 0x00000801),
/// gzipped (detected by the gzip magic 1f 8b) or plain. Result is 1 x rows x cols,
/// num_classes = max label + 1. Memory use is bounded by the data actually present, so a
/// corrupt header claiming billions of images is an error, not a bad_alloc.
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

/// CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin): records of one label byte
/// (0..9) followed by 3072 pixel bytes (1024 R, 1024 G, 1024 B, 32x32 row-major), read in
/// the given order. Result is 3 x 32 x 32 with 10 classes.
Dataset read_cifar10(const std::vector<std::string>& batch_paths);

/// GTSRB annotation CSV (semicolon separated, header
/// `Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId`, columns found by name).
/// Each listed binary PPM (P6, maxval 255, `#` comments allowed in the header) is read
/// relative to the CSV's folder, cropped to the ROI (X2/Y2 inclusive) and resized to
/// out_size x out_size (1..4096).
///
/// Resizing is bilinear with half-pixel centres (the convention of OpenCV INTER_LINEAR and
/// PyTorch interpolate(align_corners=false), without antialiasing): output pixel (x, y)
/// samples source point ((x + 0.5) * in_w / out_w - 0.5, likewise for y), coordinates
/// clamped to the crop's edges, and the weighted sum is rounded half up. It is computed
/// in exact integer arithmetic, so results are bit-identical on every platform.
/// Result is 3 x out_size x out_size (RGB), num_classes = max ClassId + 1.
Dataset read_gtsrb_csv(const std::string& csv_path, int out_size = 32);

/// GTSRB from a folder: `root` may be a CSV file (same as read_gtsrb_csv), or a folder
/// holding GT-*.csv annotation files directly or one level down (the training layout
/// root/00000/GT-00000.csv, ...). All CSVs found are read in sorted path order.
Dataset read_gtsrb(const std::string& root, int out_size = 32);

/// Deterministic, learnable synthetic data for tests: each class has a fixed random
/// binary template (pixel 48 or 208), each image is its class's template plus uniform
/// noise in [-32, 32], labels drawn at random. Everything comes from std::mt19937_64(seed)
/// with our own mapping to bytes, so it does not depend on the standard library's
/// distributions. Same seed -> same dataset; different seeds -> different data.
Dataset synthetic_dataset(std::size_t n, int channels, int height, int width, int num_classes,
                          std::uint64_t seed);

/// Fashion-MNIST training (60000) or test (10000) set from
/// /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz,
/// or from the folder named by the environment variable HAWX_FASHION_MNIST_DIR.
Dataset fashion_mnist(bool train);

}  // namespace hawx
