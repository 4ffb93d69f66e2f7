// Checkpoints: round trip, torch.load compatibility, rejection of wrong or broken files.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/utils.h>

#include <fstream>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "zoo_test_util.hpp"

namespace {

using hawx::test::error_of;
using hawx::test::ZooTempDir;

hawx::zoo::ModelOptions opts(int in, int size, double width) {
    hawx::zoo::ModelOptions o;
    o.in_channels = in;
    o.input_size = size;
    o.num_classes = 10;
    o.width = width;
    return o;
}

at::Tensor run(hawx::zoo::Network& net, const at::Tensor& x) {
    net.eval();
    torch::NoGradGuard no_grad;
    return net.forward(x);
}

// Rewrites a checkpoint's dict through `edit` (to make broken files).
template <typename F>
void rewrite(const std::string& from, const std::string& to, F edit) {
    std::ifstream in(from, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    c10::Dict<std::string, at::Tensor> d;
    for (const auto& e : torch::jit::pickle_load(bytes).toGenericDict())
        d.insert(e.key().toStringRef(), e.value().toTensor().clone());
    edit(d);
    const auto out = torch::jit::pickle_save(c10::IValue(d));
    std::ofstream(to, std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
}

TEST(ZooCheckpoint, RoundTripGivesIdenticalOutputs) {
    ZooTempDir dir;
    const std::string path = dir.file("resnet.pt");
    torch::manual_seed(1);
    auto a = hawx::zoo::make_model("resnet18", opts(3, 16, 0.125));
    {  // non-default BatchNorm statistics
        torch::NoGradGuard no_grad;
        for (const auto& [conv, bn] : a->conv_bn_pairs()) bn->running_var.uniform_(0.5, 2.0);
    }
    hawx::InputSpec spec;
    spec.channels = 3;
    spec.size = 16;
    spec.mean = {0.1f, 0.2f, 0.3f};
    spec.std = {0.9f, 0.8f, 0.7f};
    hawx::zoo::save_checkpoint(*a, path, spec, {{"epochs", 7}});
    for (const auto& f : std::filesystem::directory_iterator(dir.path))
        EXPECT_EQ(f.path().filename(), "resnet.pt") << "no temporary file left behind";

    torch::manual_seed(2);
    auto b = hawx::zoo::make_model("resnet18", opts(3, 16, 0.125));
    const at::Tensor x = at::randn({3, 3, 16, 16});
    EXPECT_FALSE(at::equal(run(*a, x), run(*b, x)));
    const hawx::zoo::CheckpointMeta meta = hawx::zoo::load_checkpoint(*b, path);
    EXPECT_TRUE(at::equal(run(*a, x), run(*b, x)));
    EXPECT_EQ(meta.model, "resnet18");
    EXPECT_EQ(meta.options, opts(3, 16, 0.125));
    ASSERT_TRUE(meta.input.has_value());
    EXPECT_EQ(meta.input->mean, spec.mean);
    EXPECT_EQ(meta.input->std, spec.std);
    EXPECT_EQ(meta.training.at("epochs"), 7);

    hawx::zoo::CheckpointMeta m2;
    auto c = hawx::zoo::load_model(path, &m2);
    EXPECT_TRUE(at::equal(run(*a, x), run(*c, x)));
    EXPECT_EQ(m2.model, "resnet18");
}

TEST(ZooCheckpoint, FoldedCheckpointLoadsIntoAFreshNetwork) {
    ZooTempDir dir;
    const std::string path = dir.file("vgg.pt");
    torch::manual_seed(4);
    auto a = hawx::zoo::make_model("vgg11", opts(1, 16, 0.125));
    const at::Tensor x = at::randn({2, 1, 16, 16});
    const at::Tensor before = run(*a, x);
    hawx::zoo::fold_batchnorm(*a);
    hawx::zoo::save_checkpoint(*a, path);
    EXPECT_TRUE(hawx::zoo::read_checkpoint_meta(path).batchnorm_folded);
    auto b = hawx::zoo::make_model("vgg11", opts(1, 16, 0.125));
    hawx::zoo::load_checkpoint(*b, path);
    EXPECT_TRUE(b->batchnorm_folded());
    EXPECT_TRUE(at::equal(run(*a, x), run(*b, x)));
    EXPECT_TRUE(at::allclose(before, run(*b, x), 1e-4, 1e-4));
}

TEST(ZooCheckpoint, PythonTorchLoadReadsIt) {
    if (!hawx::test::python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch";
    ZooTempDir dir;
    const std::string path = dir.file("lenet.pt");
    auto net = hawx::zoo::make_model("lenet5", opts(1, 32, 1.0));
    hawx::zoo::save_checkpoint(*net, path, std::nullopt, {{"note", "hi"}});
    const std::string out = dir.file("out.txt");
    const std::string cmd = std::string(hawx::test::kTorchPython) +
                            " -c \"import json, sys, torch; d = torch.load(sys.argv[1]); "
                            "m = json.loads(bytes(d['__hawx__'].numpy()).decode()); "
                            "print(len(d), tuple(d['fc1.weight'].shape), d['conv1.weight'].requires_grad, "
                            "m['model'], m['training']['note'])\" '" +
                            path + "' > '" + out + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << hawx::test::slurp(out);
    EXPECT_EQ(hawx::test::slurp(out), "11 (120, 400) False lenet5 hi\n");
}

TEST(ZooCheckpoint, OtherModelOrOptionsAreRejectedNamingTheFile) {
    ZooTempDir dir;
    const std::string path = dir.file("lenet.pt");
    auto lenet = hawx::zoo::make_model("lenet5", opts(1, 32, 1.0));
    hawx::zoo::save_checkpoint(*lenet, path);

    auto vgg = hawx::zoo::make_model("vgg11", opts(1, 32, 0.125));
    std::string e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*vgg, path); });
    EXPECT_EQ(e, path + ": checkpoint holds model 'lenet5', not 'vgg11'");

    auto wide = hawx::zoo::make_model("lenet5", opts(1, 32, 0.5));
    e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*wide, path); });
    EXPECT_EQ(e, path +
                     ": checkpoint options (in_channels=1 input_size=32 num_classes=10 width=1) differ from the "
                     "network's (in_channels=1 input_size=32 num_classes=10 width=0.5)");
}

TEST(ZooCheckpoint, BrokenFilesAreRejectedAndChangeNothing) {
    ZooTempDir dir;
    const std::string good = dir.file("good.pt");
    torch::manual_seed(8);
    auto net = hawx::zoo::make_model("lenet5", opts(1, 32, 1.0));
    hawx::zoo::save_checkpoint(*net, good);
    const at::Tensor x = at::randn({1, 1, 32, 32});
    const at::Tensor ref = run(*net, x);

    struct Case {
        std::string name;
        std::function<void(c10::Dict<std::string, at::Tensor>&)> edit;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"nan.pt", [](auto& d) { d.at("fc2.weight")[3][4].fill_(NAN); }, ": key 'fc2.weight' contains NaN or Inf"},
        {"inf.pt", [](auto& d) { d.at("conv1.bias")[0].fill_(INFINITY); }, ": key 'conv1.bias' contains NaN or Inf"},
        {"missing.pt", [](auto& d) { d.erase("fc3.bias"); }, ": missing key 'fc3.bias' for lenet5"},
        {"extra.pt", [](auto& d) { d.insert("fc4.weight", at::zeros({2})); }, ": unexpected key 'fc4.weight' for lenet5"},
        {"shape.pt", [](auto& d) { d.insert_or_assign("fc1.bias", at::zeros({121})); },
         ": key 'fc1.bias' has shape [121], lenet5 expects [120]"},
        {"nometa.pt", [](auto& d) { d.erase(hawx::zoo::kCheckpointMetaKey); }, ": not a hawx checkpoint"},
    };
    for (const auto& c : cases) {
        const std::string path = dir.file(c.name);
        rewrite(good, path, c.edit);
        torch::manual_seed(99);
        auto target = hawx::zoo::make_model("lenet5", opts(1, 32, 1.0));
        const at::Tensor untouched = run(*target, x);
        const std::string e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*target, path); });
        EXPECT_EQ(e.rfind(path + c.message, 0), 0u) << c.name << ": " << e;
        EXPECT_TRUE(hawx::test::one_line(e)) << e;
        EXPECT_TRUE(at::equal(run(*target, x), untouched)) << c.name << ": a failed load changes nothing";
    }

    // Not a checkpoint at all, truncated, missing.
    const std::string junk = dir.file("junk.pt");
    std::ofstream(junk) << "hello";
    std::string e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*net, junk); });
    EXPECT_EQ(e, junk + ": not a torch.save file (no zip archive)");
    const std::string cut = dir.file("cut.pt");
    {
        const std::string bytes = hawx::test::slurp(good);
        std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*net, cut); });
    EXPECT_EQ(e.rfind(cut + ": ", 0), 0u) << e;
    EXPECT_TRUE(hawx::test::one_line(e)) << e;
    e = error_of<hawx::Error>([&] { hawx::zoo::load_checkpoint(*net, dir.file("none.pt")); });
    EXPECT_EQ(e, dir.file("none.pt") + ": cannot open file");
    EXPECT_TRUE(at::equal(run(*net, x), ref));

    // Saving NaN weights is refused and writes nothing.
    {
        torch::NoGradGuard no_grad;
        net->named_parameters()["fc1.weight"][0][0].fill_(NAN);
    }
    const std::string bad = dir.file("bad.pt");
    e = error_of<hawx::Error>([&] { hawx::zoo::save_checkpoint(*net, bad); });
    EXPECT_EQ(e, bad + ": not saved, 'fc1.weight' contains NaN or Inf");
    EXPECT_FALSE(std::filesystem::exists(bad));
}

}  // namespace
