// Importing state dicts saved by PyTorch (torch.save(model.state_dict())): the zoo model with
// the imported weights reproduces PyTorch's output.
#include <gtest/gtest.h>

#include <iostream>

#include "torch_file.hpp"  // internal reader, to read the reference input/output files
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "zoo_test_util.hpp"

namespace {

using hawx::test::ZooTempDir;

// Runs tests/zoo/reference_models.py once per test program; "" when python has no torch.
const std::string& reference_dir() {
    static ZooTempDir dir;
    static const std::string path = [] {
        if (!hawx::test::python_has_torch()) return std::string();
        const std::string log = dir.file("python.log");
        const std::string cmd = std::string(hawx::test::kTorchPython) + " '" HAWX_TEST_DATA_DIR
                                "/reference_models.py' '" + dir.path.string() + "' > '" + log + "' 2>&1";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("reference_models.py failed: " + hawx::test::slurp(log));
        return dir.path.string();
    }();
    return path;
}

std::map<std::string, at::Tensor> io(const std::string& name) {
    std::map<std::string, at::Tensor> out;
    for (const auto& [k, t] : hawx::zoo::detail::read_torch_state_dict(reference_dir() + "/" + name + ".io.pt"))
        out[k] = t;
    return out;
}

struct Reference {
    const char* model;
    hawx::zoo::ModelOptions options;
};

void PrintTo(const Reference& r, std::ostream* os) { *os << r.model; }

class ImportPyTorch : public ::testing::TestWithParam<Reference> {};

TEST_P(ImportPyTorch, ReproducesPyTorchOutput) {
    if (reference_dir().empty()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch: no PyTorch reference";
    const auto& r = GetParam();
    auto net = hawx::zoo::make_model(r.model, r.options);
    hawx::zoo::load_state_dict(*net, reference_dir() + "/" + r.model + ".state_dict.pt");
    const auto ref = io(r.model);
    net->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor y = net->forward(ref.at("input"));
    ASSERT_EQ(y.sizes(), ref.at("output").sizes());
    const double diff = (y - ref.at("output")).abs().max().item<double>();
    const bool bitwise = at::equal(y, ref.at("output"));
    std::cout << "[ zoo ] " << r.model << " vs PyTorch: max |diff| = " << diff << (bitwise ? " (bitwise identical)" : "")
              << "\n";
    RecordProperty("max_abs_diff", std::to_string(diff));
    RecordProperty("bitwise", bitwise ? "yes" : "no");
    EXPECT_LE(diff, 1e-5);
    EXPECT_GT(ref.at("output").abs().max().item<double>(), 1e-3) << "a meaningful comparison";
}

hawx::zoo::ModelOptions opts(int in, int size, double width) {
    hawx::zoo::ModelOptions o;
    o.in_channels = in;
    o.input_size = size;
    o.num_classes = 10;
    o.width = width;
    return o;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ImportPyTorch,
                         ::testing::Values(Reference{"lenet5", opts(1, 32, 1.0)},
                                           Reference{"resnet18", opts(3, 16, 0.125)}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(ZooStateDict, PyTorchStateDictHasNoCheckpointMetadata) {
    if (reference_dir().empty()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch: no PyTorch reference";
    const std::string path = reference_dir() + "/lenet5.state_dict.pt";
    auto net = hawx::zoo::make_model("lenet5", opts(1, 32, 1.0));
    const std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*net, path); });
    EXPECT_EQ(e.rfind(path + ": not a hawx checkpoint", 0), 0u) << e;
    // ... and another model's state dict names the first missing key.
    auto vgg = hawx::zoo::make_model("vgg11", opts(1, 32, 0.125));
    const std::string m = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::load_state_dict(*vgg, path); });
    EXPECT_NE(m.find(path + ": missing key '"), std::string::npos) << m;
}

TEST(ZooStateDict, ReadsOwnCheckpointsAsStateDicts) {
    ZooTempDir dir;
    auto a = hawx::zoo::make_model("efficientnet_lite0", opts(3, 16, 0.125));
    hawx::zoo::save_checkpoint(*a, dir.file("e.pt"));
    auto b = hawx::zoo::make_model("efficientnet_lite0", opts(3, 16, 0.125));
    hawx::zoo::load_state_dict(*b, dir.file("e.pt"));  // the metadata key is skipped
    const auto pa = a->named_parameters(), pb = b->named_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::equal(pa[i].value(), pb[i].value())) << pa.keys()[i];
}

}  // namespace
