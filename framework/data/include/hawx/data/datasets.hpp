#pragma once
/// \file
/// The datasets HAWX reads by name, split into training, validation and test sets (torch-free).
#include <cstdint>
#include <string>
#include <utility>

#include "hawx/data/dataset.hpp"

namespace hawx {

struct DatasetSplits {
    Dataset train, test;
};

/// "fashion-mnist, mnist, cifar10, gtsrb, synthetic"
const char* dataset_names();
/// Throws hawx::Error listing the known names when `name` is not one of them.
void check_dataset_name(const std::string& name);

/// The image shape a dataset's files hold (channels, square size); size 0 when it varies
/// (GTSRB: resized to the model's input size). Throws like check_dataset_name.
struct ImageShape {
    int channels = 0, size = 0;
};
ImageShape native_image_shape(const std::string& name);

/// Loads a dataset by name:
/// - fashion-mnist: the Debian package (or `dir` with the four IDX files, gzipped or not);
/// - mnist: IDX files in `dir` (train-*/t10k-*);
/// - cifar10: the binary batches in `dir` (or `dir`/cifar-10-batches-bin);
/// - gtsrb: `dir` with train/ and test/ (or Final_Training/Images and Final_Test/Images),
///   images resized to input_size;
/// - synthetic: 6000 generated 1x28x28 images in 10 classes from `seed` (5000 train, 1000 test).
/// Throws hawx::Error naming the dataset or file on any problem.
DatasetSplits load_dataset(const std::string& name, const std::string& dir, int input_size, std::uint64_t seed);

/// "dataset '<name>'" (or "dataset" when unnamed), for messages.
std::string dataset_label(const Dataset& d);

/// Holds out the LAST `val_size` images of a training set as the validation split (model and
/// configuration selection uses it; test sets only report). Returns {train, validation},
/// each named "<name>:train" / "<name>:val". Throws hawx::Error if val_size >= data.size().
std::pair<Dataset, Dataset> split_train_val(const Dataset& data, std::size_t val_size);

/// The first `n` images of `data` (all of them when n is 0 or >= size()).
Dataset head(const Dataset& data, std::size_t n);

}  // namespace hawx
