#include "hawx/data/datasets.hpp"

#include <filesystem>
#include <vector>

#include "hawx/sdk/error.hpp"

namespace fs = std::filesystem;

namespace hawx {

std::string dataset_label(const Dataset& d) { return d.name.empty() ? std::string("dataset") : "dataset '" + d.name + "'"; }

const char* dataset_names() { return "fashion-mnist, mnist, cifar10, gtsrb, synthetic"; }

void check_dataset_name(const std::string& name) {
    for (const char* n : {"fashion-mnist", "mnist", "cifar10", "gtsrb", "synthetic"})
        if (name == n) return;
    throw Error("unknown dataset '" + name + "' (datasets: " + dataset_names() + ")");
}

ImageShape native_image_shape(const std::string& name) {
    check_dataset_name(name);
    if (name == "cifar10") return {3, 32};
    if (name == "gtsrb") return {3, 0};
    return {1, 28};  // fashion-mnist, mnist, synthetic
}

namespace {

// The first of `names` that exists in `dir`.
std::string find_file(const std::string& dir, const std::vector<std::string>& names, const std::string& what) {
    for (const auto& n : names)
        if (fs::is_regular_file(fs::path(dir) / n)) return (fs::path(dir) / n).string();
    throw Error(dir + ": no " + what + " found (looked for " + names.front() + " and variants)");
}

Dataset read_idx_in(const std::string& dir, const std::string& prefix) {
    const std::string images = find_file(
        dir, {prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte", prefix + "-images.idx3-ubyte"},
        prefix + " images");
    const std::string labels = find_file(
        dir, {prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte", prefix + "-labels.idx1-ubyte"},
        prefix + " labels");
    return read_idx(images, labels);
}

Dataset slice(const Dataset& d, std::size_t begin, std::size_t end, const std::string& name) {
    Dataset out;
    out.name = name;
    out.channels = d.channels;
    out.height = d.height;
    out.width = d.width;
    out.num_classes = d.num_classes;
    const std::size_t bytes = d.image_bytes();
    out.images.assign(d.images.begin() + static_cast<std::ptrdiff_t>(begin * bytes),
                      d.images.begin() + static_cast<std::ptrdiff_t>(end * bytes));
    out.labels.assign(d.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                      d.labels.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
}

}  // namespace

std::pair<Dataset, Dataset> split_train_val(const Dataset& data, std::size_t val_size) {
    if (val_size >= data.size())
        throw Error(dataset_label(data) + ": validation size " + std::to_string(val_size) + " leaves no training images (" +
                    std::to_string(data.size()) + " in all)");
    const std::size_t cut = data.size() - val_size;
    return {slice(data, 0, cut, data.name + ":train"), slice(data, cut, data.size(), data.name + ":val")};
}

Dataset head(const Dataset& data, std::size_t n) {
    if (n == 0 || n >= data.size()) return data;
    return slice(data, 0, n, data.name);
}


DatasetSplits load_dataset(const std::string& name, const std::string& dir, int input_size, std::uint64_t seed) {
    check_dataset_name(name);
    DatasetSplits s;
    if (name == "fashion-mnist" || name == "mnist") {
        if (dir.empty() && name == "mnist") throw Error("dataset mnist needs a data folder with its IDX files (--data-dir)");
        if (dir.empty()) {
            s.train = fashion_mnist(true);
            s.test = fashion_mnist(false);
        } else {
            s.train = read_idx_in(dir, "train");
            s.test = read_idx_in(dir, "t10k");
        }
    } else if (name == "cifar10") {
        if (dir.empty()) throw Error("dataset cifar10 needs a data folder with the CIFAR-10 binary batches (--data-dir)");
        std::string root = dir;
        if (!fs::exists(fs::path(root) / "data_batch_1.bin") && fs::exists(fs::path(root) / "cifar-10-batches-bin"))
            root = (fs::path(root) / "cifar-10-batches-bin").string();
        std::vector<std::string> batches;
        for (int i = 1; i <= 5; ++i) batches.push_back(find_file(root, {"data_batch_" + std::to_string(i) + ".bin"}, "CIFAR-10 training batch"));
        s.train = read_cifar10(batches);
        s.test = read_cifar10({find_file(root, {"test_batch.bin"}, "CIFAR-10 test batch")});
    } else if (name == "gtsrb") {
        if (dir.empty()) throw Error("dataset gtsrb needs a data folder with train/ and test/, or Final_Training/ and Final_Test/ (--data-dir)");
        auto pick = [&](const std::vector<std::string>& candidates, const char* what) {
            for (const auto& c : candidates)
                if (fs::exists(fs::path(dir) / c)) return (fs::path(dir) / c).string();
            throw Error(dir + ": no GTSRB " + std::string(what) + " folder (" + candidates.front() + " or " +
                        candidates.back() + ")");
        };
        s.train = read_gtsrb(pick({"train", "Final_Training/Images"}, "training"), input_size);
        s.test = read_gtsrb(pick({"test", "Final_Test/Images"}, "test"), input_size);
    } else if (name == "synthetic") {
        // One draw split in two: the classes' templates must be shared by train and test.
        Dataset all = synthetic_dataset(6000, 1, 28, 28, 10, seed);
        all.name = "synthetic";
        auto [train, test] = split_train_val(all, 1000);
        s.train = std::move(train);
        s.test = std::move(test);
    } else {
        throw Error("unknown dataset '" + name + "' (datasets: " + dataset_names() + ")");
    }
    if (s.train.name.empty() || name == "synthetic") s.train.name = name + ":train";
    if (s.test.name.empty() || name == "synthetic") s.test.name = name + ":test";
    return s;
}


}  // namespace hawx
