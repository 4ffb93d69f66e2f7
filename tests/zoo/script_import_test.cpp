// Bring your own PyTorch model: TorchScript files made by tests/zoo/script_models.py (scripted
// and traced LeNet-5, torchvision's ResNet-18, a model using matmul/addmm, and models the
// importer must refuse) imported as zoo networks. The float output equals PyTorch's, layer
// names and numbering follow the module structure and forward order, the int8-exact output
// equals the zoo's for the same weights, and approximate outputs equal the engine's bit-exact
// reference.
#include <gtest/gtest.h>

#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/engine.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>

#include "../blocks/block_test_util.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/script_network.hpp"
#include "torch_file.hpp"  // internal reader, for the reference input/output files
#include "zoo_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using hawx::Error;
using hawx::engine::Engine;
using hawx::engine::EngineOptions;
using hawx::engine::KernelPath;
using hawx::engine::ModelAssignment;
using hawx::zoo::ScriptNetwork;

// The models, made once per build and script version (ctest runs every test in its own
// process; the script takes a few seconds). "" when /usr/bin/python3 has no torch.
const std::string& models_dir() {
    static const std::string dir = []() -> std::string {
        const std::string script = HAWX_TEST_DATA_DIR "/script_models.py";
        const std::string text = hawx::test::slurp(script) + hawx::test::slurp(HAWX_TEST_DATA_DIR "/reference_models.py");
        const fs::path final_dir =
            fs::path(HAWX_BINARY_DIR) / "tests" / "zoo" / ("script_models-" + std::to_string(std::hash<std::string>{}(text)));
        if (fs::exists(final_dir / "done")) return final_dir.string();
        if (!hawx::test::python_has_torch()) return "";
        // Made beside the final folder (same file system) and renamed into place at the end.
        std::random_device rd;
        const fs::path work = final_dir.string() + ".tmp" + std::to_string(rd());
        fs::create_directories(work);
        const std::string log = (work / "python.log").string(), made = (work / "models").string();
        const std::string cmd =
            std::string(hawx::test::kTorchPython) + " '" + script + "' '" + made + "' > '" + log + "' 2>&1";
        if (std::system(cmd.c_str()) != 0) {
            const std::string out = hawx::test::slurp(log);
            fs::remove_all(work);
            throw std::runtime_error("script_models.py failed: " + out);
        }
        std::ofstream(made + "/done") << "ok\n";
        std::error_code ec;
        fs::rename(made, final_dir, ec);  // another test process may have won the race
        fs::remove_all(work, ec);
        if (!fs::exists(final_dir / "done")) throw std::runtime_error("cannot create " + final_dir.string());
        return final_dir.string();
    }();
    return dir;
}

#define REQUIRE_MODELS()                                                                         \
    if (models_dir().empty()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch: no TorchScript models"

std::string model_file(const std::string& name) { return models_dir() + "/" + name; }

std::map<std::string, at::Tensor> io(const std::string& model) {
    std::map<std::string, at::Tensor> out;
    for (const auto& [k, t] : hawx::zoo::detail::read_torch_state_dict(model_file(model + ".io.pt"))) out[k] = t;
    return out;
}

std::vector<std::string> lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

std::vector<std::string> names(hawx::zoo::Network& net) {
    std::vector<std::string> out;
    for (const auto& d : net.layer_descs()) out.push_back(d.name);
    return out;
}

// One thread everywhere, as script_models.py, so float results can be compared bit for bit.
class ScriptImport : public ::testing::Test {
protected:
    void SetUp() override { at::set_num_threads(1); }
};

struct Variant {
    std::string model;
    std::string how;  // "script" or "trace"
    std::string file() const { return model + "." + how + ".pt"; }
};
void PrintTo(const Variant& v, std::ostream* os) { *os << v.file(); }

class ScriptImportModels : public ::testing::TestWithParam<Variant> {
protected:
    void SetUp() override { at::set_num_threads(1); }
};

TEST_P(ScriptImportModels, FloatOutputEqualsPyTorch) {
    REQUIRE_MODELS();
    const Variant& v = GetParam();
    auto net = ScriptNetwork::load(model_file(v.file()));
    const auto ref = io(v.model);
    at::NoGradGuard no_grad;
    const at::Tensor y = net->forward(ref.at("input"));
    ASSERT_EQ(y.sizes(), ref.at("output").sizes());
    const double diff = (y - ref.at("output")).abs().max().item<double>();
    const bool bitwise = at::equal(y, ref.at("output"));
    std::cout << "[ import ] " << v.file() << " vs PyTorch eager: max |diff| = " << diff
              << (bitwise ? " (bitwise identical)" : " (NOT bitwise identical)") << "\n";
    RecordProperty("bitwise", bitwise ? "yes" : "no");
    EXPECT_TRUE(bitwise) << "max |diff| " << diff;
    EXPECT_GT(ref.at("output").abs().max().item<double>(), 1e-3) << "a meaningful comparison";
}

TEST_P(ScriptImportModels, LayerNamesFollowModulesAndForwardOrder) {
    REQUIRE_MODELS();
    const Variant& v = GetParam();
    auto net = ScriptNetwork::load(model_file(v.file()));
    std::vector<std::string> expected = lines(model_file(v.model + ".layers.txt"));
    if (v.model == "linear_ops") expected = {"conv", "proj", "w", "head", "v"};  // parameters used by matmul/addmm
    EXPECT_EQ(names(*net), expected);
    const auto descs = net->layer_descs();
    for (std::size_t i = 0; i < descs.size(); ++i) {
        EXPECT_EQ(descs[i].index, static_cast<int>(i + 1));
        EXPECT_EQ(net->approx_layers()[i]->desc.name, descs[i].name);
        EXPECT_NE(net->layer_location(static_cast<int>(i + 1)), "unknown location") << descs[i].name;
    }
    // Geometry as the modules declare it; parameters under PyTorch's state-dict keys.
    const auto params = net->named_parameters();
    if (v.model == "resnet18") {
        ASSERT_EQ(descs.size(), 21u);
        EXPECT_EQ(descs[7].name, "layer2.0.downsample.0");
        EXPECT_EQ(descs[0].kernel, (std::array<std::int64_t, 2>{7, 7}));
        EXPECT_EQ(descs[0].stride, (std::array<std::int64_t, 2>{2, 2}));
        EXPECT_EQ(descs[0].padding, (std::array<std::int64_t, 2>{3, 3}));
        EXPECT_EQ(descs[7].kernel, (std::array<std::int64_t, 2>{1, 1}));
        EXPECT_EQ(descs[7].stride, (std::array<std::int64_t, 2>{2, 2}));
        EXPECT_EQ(descs[7].in_channels, 64);
        EXPECT_EQ(descs[7].out_channels, 128);
        EXPECT_TRUE(descs[20].linear);
        EXPECT_EQ(descs[20].in_channels, 512);
        EXPECT_EQ(descs[20].out_channels, 10);
        EXPECT_EQ(net->conv_bn_pairs().size(), 20u) << "every conv of ResNet-18 is followed by a BatchNorm";
        EXPECT_TRUE(params.contains("layer1.0.conv1.weight"));
        EXPECT_TRUE(params.contains("layer2.0.downsample.1.weight"));
        EXPECT_TRUE(net->named_buffers().contains("layer4.1.bn2.running_var"));
        EXPECT_EQ(net->model_options().in_channels, 3);
        EXPECT_EQ(net->model_options().input_size, 32);  // accepts any; 32 is the first tried
    }
    if (v.model == "lenet5") {
        ASSERT_EQ(descs.size(), 5u);
        EXPECT_EQ(descs[0].kernel, (std::array<std::int64_t, 2>{5, 5}));
        EXPECT_EQ(descs[2].in_channels, 400);
        EXPECT_EQ(net->model_options().in_channels, 1);
        EXPECT_EQ(net->model_options().input_size, 32);
        EXPECT_TRUE(params.contains("fc3.bias"));
    }
    if (v.model == "linear_ops") {
        ASSERT_EQ(descs.size(), 5u);
        EXPECT_EQ(descs[0].stride, (std::array<std::int64_t, 2>{1, 2}));
        EXPECT_EQ(descs[0].padding, (std::array<std::int64_t, 2>{1, 0}));
        EXPECT_EQ(descs[1].in_channels, 448);
        EXPECT_EQ(descs[1].out_channels, 24);
        EXPECT_TRUE(params.contains("w.bias")) << "addmm's bias belongs to the layer";
        EXPECT_FALSE(params.contains("v.bias"));
        EXPECT_EQ(net->model_options().input_size, 16);  // the first size tried that it accepts
    }
    EXPECT_EQ(net->model_options().num_classes, 10);
    EXPECT_EQ(net->model_name(), "torchscript:" + v.file());
}

INSTANTIATE_TEST_SUITE_P(Models, ScriptImportModels,
                         ::testing::Values(Variant{"lenet5", "script"}, Variant{"lenet5", "trace"},
                                           Variant{"resnet18", "script"}, Variant{"resnet18", "trace"},
                                           Variant{"linear_ops", "script"}, Variant{"linear_ops", "trace"}),
                         [](const auto& info) { return info.param.model + "_" + info.param.how; });

// The rewritten graph calls the engine's operators and nothing else computes a layer.
TEST_F(ScriptImport, GraphCallsApproximateOperators) {
    REQUIRE_MODELS();
    auto net = ScriptNetwork::load(model_file("resnet18.script.pt"));
    const std::string g = net->graph_text();
    const auto count = [&](const std::string& s) {
        std::size_t n = 0;
        for (auto p = g.find(s); p != std::string::npos; p = g.find(s, p + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("hawx::approx_conv2d("), 20u);
    EXPECT_EQ(count("hawx::approx_linear("), 1u);
    EXPECT_EQ(count("hawx::approx_batch_norm("), 20u);
    EXPECT_EQ(count("aten::conv2d("), 0u);
    EXPECT_EQ(count("aten::linear("), 0u);
    EXPECT_EQ(count("aten::batch_norm("), 0u);
}

// Folding goes through the zoo's fold_batchnorm, as for a zoo model.
TEST_F(ScriptImport, BatchNormFoldsLikeZoo) {
    REQUIRE_MODELS();
    auto net = ScriptNetwork::load(model_file("resnet18.trace.pt"));
    const auto ref = io("resnet18");
    hawx::zoo::fold_batchnorm(*net);
    EXPECT_TRUE(net->batchnorm_folded());
    for (const auto& [conv, bn] : net->conv_bn_pairs()) EXPECT_TRUE(bn->folded());
    at::NoGradGuard no_grad;
    const at::Tensor y = net->forward(ref.at("input"));
    const double diff = (y - ref.at("output")).abs().max().item<double>();
    std::cout << "[ import ] resnet18 folded vs PyTorch: max |diff| = " << diff << "\n";
    EXPECT_LT(diff, 1e-3 * std::max(1.0, ref.at("output").abs().max().item<double>()));
}

hawx::engine::BlockLibrary library() {
    static const hawx::engine::BlockLibrary lib = [] {
        hawx::engine::BlockLibrary l;
        l.push_back(hawx::engine::exact_block(true));
        l.push_back(hawx::engine::compile_block(
            hawx::test::P<hawx::blocks::TruncatedMul>().b("signed", true).i("k", 3).make(), "T3"));
        std::mt19937 rng(7);
        std::uniform_int_distribution<std::int32_t> d(-32768, 32767);
        std::vector<std::int32_t> t(65536);
        for (auto& x : t) x = d(rng);
        l.push_back(hawx::engine::compile_table(t, true, "RND"));
        return l;
    }();
    return lib;
}

EngineOptions engine_options(KernelPath path) {
    EngineOptions o;
    o.threads = 1;
    o.path = path;
    return o;
}

// Calibrates `engine` on `x` (BatchNorm folded first) and returns the output with every layer on `block`.
at::Tensor quantized(hawx::zoo::Network& net, Engine& engine, const at::Tensor& x, int block) {
    hawx::zoo::fold_batchnorm(net);
    net.eval();
    net.set_runner(&engine);
    at::NoGradGuard no_grad;
    engine.begin_calibration();
    net.forward(x);
    engine.finish_calibration();
    engine.set_assignment(ModelAssignment::uniform(block, net.layer_descs().size()));
    return net.forward(x);
}

TEST_F(ScriptImport, Int8ExactEqualsZooLeNetWithSameWeights) {
    REQUIRE_MODELS();
    const at::Tensor x = io("lenet5").at("input");
    auto zoo = hawx::zoo::make_model("lenet5", hawx::zoo::ModelOptions{1, 32, 10, 1.0});
    hawx::zoo::load_state_dict(*zoo, model_file("lenet5.state_dict.pt"));
    Engine ze(library(), engine_options(KernelPath::Auto));
    const at::Tensor expected = quantized(*zoo, ze, x, 0);
    for (const char* how : {"script", "trace"}) {
        auto net = ScriptNetwork::load(model_file(std::string("lenet5.") + how + ".pt"));
        const auto a = net->layer_descs(), b = zoo->layer_descs();
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].name, b[i].name);
            EXPECT_EQ(a[i].fan_in(), b[i].fan_in());
            EXPECT_EQ(a[i].out_channels, b[i].out_channels);
            EXPECT_EQ(a[i].linear, b[i].linear);
        }
        Engine e(library(), engine_options(KernelPath::Auto));
        const at::Tensor y = quantized(*net, e, x, 0);
        EXPECT_TRUE(at::equal(y, expected)) << how << ": max |diff| " << (y - expected).abs().max().item<double>();
        // Approximate, too: same integers through the same block.
        e.set_assignment(ModelAssignment::uniform(1, a.size()));
        ze.set_assignment(ModelAssignment::uniform(1, b.size()));
        at::NoGradGuard no_grad;
        EXPECT_TRUE(at::equal(net->forward(x), zoo->forward(x))) << how << " with T3";
        ze.set_assignment(ModelAssignment::uniform(0, b.size()));
    }
}

struct ApproxCase {
    std::string file;
    int block;
};
void PrintTo(const ApproxCase& c, std::ostream* os) { *os << c.file << " block " << c.block; }
class ScriptImportApprox : public ::testing::TestWithParam<ApproxCase> {
protected:
    void SetUp() override { at::set_num_threads(1); }
};

TEST_P(ScriptImportApprox, AutoPathEqualsBitExactReference) {
    REQUIRE_MODELS();
    const ApproxCase& c = GetParam();
    at::Tensor x = io(c.file.substr(0, c.file.find('.'))).at("input");
    // The reference path is a naive loop: a small batch, and a 16x16 crop for ResNet-18.
    std::optional<hawx::zoo::ModelOptions> options;
    x = x.slice(0, 0, 2);
    if (c.file.rfind("resnet18", 0) == 0) {
        x = x.slice(0, 0, 1).slice(2, 0, 16).slice(3, 0, 16).contiguous();
        options = hawx::zoo::ModelOptions{3, 16, 10, 1.0};
    }
    at::Tensor out[2];
    int i = 0;
    for (KernelPath path : {KernelPath::Auto, KernelPath::Reference}) {
        auto net = ScriptNetwork::load(model_file(c.file), options);
        Engine e(library(), engine_options(path));
        out[i++] = quantized(*net, e, x, c.block);
    }
    EXPECT_TRUE(at::equal(out[0], out[1])) << "max |diff| " << (out[0] - out[1]).abs().max().item<double>();
    // The block matters: the approximate output is not the exact one.
    auto net = ScriptNetwork::load(model_file(c.file), options);
    Engine e(library(), engine_options(KernelPath::Auto));
    EXPECT_FALSE(at::equal(quantized(*net, e, x, 0), out[0]));
}

INSTANTIATE_TEST_SUITE_P(Models, ScriptImportApprox,
                         ::testing::Values(ApproxCase{"lenet5.script.pt", 1}, ApproxCase{"lenet5.trace.pt", 2},
                                           ApproxCase{"linear_ops.trace.pt", 1}, ApproxCase{"resnet18.trace.pt", 1}),
                         [](const auto& info) {
                             std::string s = info.param.file.substr(0, info.param.file.size() - 3) + "_block" +
                                             std::to_string(info.param.block);
                             for (auto& ch : s)
                                 if (ch == '.') ch = '_';
                             return s;
                         });

// Gradients flow through the imported layers as through zoo ones (gradient profiling).
TEST_F(ScriptImport, InputGradientEqualsZoo) {
    REQUIRE_MODELS();
    auto zoo = hawx::zoo::make_model("lenet5", hawx::zoo::ModelOptions{1, 32, 10, 1.0});
    hawx::zoo::load_state_dict(*zoo, model_file("lenet5.state_dict.pt"));
    auto net = ScriptNetwork::load(model_file("lenet5.script.pt"));
    const at::Tensor x = io("lenet5").at("input");
    at::Tensor grads[2];
    hawx::zoo::Network* nets[2] = {zoo.get(), net.get()};
    for (int i = 0; i < 2; ++i) {
        for (int repeat = 0; repeat < 3; ++repeat) {  // the graph executor optimises after a few runs
            at::Tensor xi = x.clone().requires_grad_(true);
            nets[i]->forward(xi).square().sum().backward();
            grads[i] = xi.grad();
        }
    }
    EXPECT_TRUE(at::equal(grads[0], grads[1])) << "max |diff| " << (grads[0] - grads[1]).abs().max().item<double>();
    EXPECT_TRUE(net->named_parameters()["conv1.weight"].grad().defined());
}

// ---------------------------------------------------------------------------------------
// Refusals: one line naming the file, the op and where it is in the exported source.

std::string refusal(const std::string& file) {
    return hawx::test::error_of<Error>([&] { ScriptNetwork::load(model_file(file)); });
}

TEST_F(ScriptImport, RefusesTransposedConvolution) {
    REQUIRE_MODELS();
    for (const char* file : {"transposed.script.pt", "transposed.trace.pt"}) {
        const std::string m = refusal(file);
        std::cout << "[ refusal ] " << m << "\n";
        EXPECT_TRUE(hawx::test::one_line(m)) << m;
        EXPECT_NE(m.find(file), std::string::npos) << m;
        EXPECT_NE(m.find("transposed convolutions are not supported"), std::string::npos) << m;
        EXPECT_NE(m.find(std::string(file).find("script") != std::string::npos ? "aten::conv_transpose2d at "
                                                                               : "aten::_convolution at "),
                  std::string::npos)
            << m;
        EXPECT_NE(m.find("conv.py:"), std::string::npos) << m;
    }
    // The scripted one also says where the user's model called it.
    EXPECT_NE(refusal("transposed.script.pt").find("called from "), std::string::npos);
    EXPECT_NE(refusal("transposed.script.pt").find("script_models.py:"), std::string::npos);
}

TEST_F(ScriptImport, RefusesWeightComputedAtRunTime) {
    REQUIRE_MODELS();
    const std::string m = refusal("runtime_weight.script.pt");
    std::cout << "[ refusal ] " << m << "\n";
    EXPECT_TRUE(hawx::test::one_line(m)) << m;
    EXPECT_NE(m.find("aten::conv2d at "), std::string::npos) << m;
    EXPECT_NE(m.find("script_models.py:"), std::string::npos) << m;
    EXPECT_NE(m.find("weight is computed at run time (by aten::mul at "), std::string::npos) << m;
}

TEST_F(ScriptImport, RefusesConvolutionInDataDependentLoop) {
    REQUIRE_MODELS();
    const std::string m = refusal("loop.script.pt");
    std::cout << "[ refusal ] " << m << "\n";
    EXPECT_TRUE(hawx::test::one_line(m)) << m;
    EXPECT_NE(m.find("aten::conv2d at "), std::string::npos) << m;
    EXPECT_NE(m.find("inside a loop whose trip count depends on run-time values"), std::string::npos) << m;
    EXPECT_NE(m.find("prim::Loop at "), std::string::npos) << m;
    EXPECT_NE(m.find("script_models.py:"), std::string::npos) << m;
}

TEST_F(ScriptImport, RefusesModelTracedInTrainingMode) {
    REQUIRE_MODELS();
    const std::string m = refusal("train_mode.trace.pt");
    std::cout << "[ refusal ] " << m << "\n";
    EXPECT_TRUE(hawx::test::one_line(m)) << m;
    EXPECT_NE(m.find("aten::batch_norm at "), std::string::npos) << m;
    EXPECT_NE(m.find("training mode"), std::string::npos) << m;
}

TEST_F(ScriptImport, OptionsAreChecked) {
    REQUIRE_MODELS();
    const std::string f = model_file("lenet5.script.pt");
    auto net = ScriptNetwork::load(f, hawx::zoo::ModelOptions{1, 32, 10, 1.0});
    EXPECT_EQ(net->layer_descs().size(), 5u);
    const std::string classes =
        hawx::test::error_of<Error>([&] { ScriptNetwork::load(f, hawx::zoo::ModelOptions{1, 32, 7, 1.0}); });
    EXPECT_NE(classes.find("returns 10 classes, the options say 7"), std::string::npos) << classes;
    const std::string size =
        hawx::test::error_of<Error>([&] { ScriptNetwork::load(f, hawx::zoo::ModelOptions{1, 28, 10, 1.0}); });
    EXPECT_NE(size.find("does not accept input [1, 1, 28, 28]"), std::string::npos) << size;
    EXPECT_TRUE(hawx::test::one_line(size)) << size;
    // ResNet-18 has adaptive pooling: another size is taken as given.
    auto r = ScriptNetwork::load(model_file("resnet18.trace.pt"), hawx::zoo::ModelOptions{3, 64, 10, 1.0});
    EXPECT_EQ(r->model_options().input_size, 64);
}

TEST_F(ScriptImport, LoadAnyModelTakesCheckpointsAndTorchScript) {
    REQUIRE_MODELS();
    hawx::test::ZooTempDir tmp;
    at::manual_seed(3);
    auto zoo = hawx::zoo::make_model("lenet5", hawx::zoo::ModelOptions{1, 32, 10, 1.0});
    hawx::zoo::save_checkpoint(*zoo, tmp.file("lenet.ckpt"));
    hawx::zoo::CheckpointMeta meta;
    auto a = hawx::zoo::load_any_model(tmp.file("lenet.ckpt"), &meta);
    EXPECT_EQ(a->model_name(), "lenet5");
    EXPECT_EQ(meta.model, "lenet5");
    EXPECT_EQ(dynamic_cast<ScriptNetwork*>(a.get()), nullptr);

    auto b = hawx::zoo::load_any_model(model_file("resnet18.script.pt"), &meta);
    ASSERT_NE(dynamic_cast<ScriptNetwork*>(b.get()), nullptr);
    EXPECT_FALSE(b->is_training());
    EXPECT_EQ(meta.model, "torchscript:resnet18.script.pt");
    EXPECT_EQ(meta.options, b->model_options());
    EXPECT_FALSE(meta.input.has_value());
    EXPECT_TRUE(hawx::zoo::is_torchscript_file(model_file("resnet18.script.pt")));
    EXPECT_FALSE(hawx::zoo::is_torchscript_file(tmp.file("lenet.ckpt")));
    EXPECT_FALSE(hawx::zoo::is_torchscript_file(model_file("lenet5.state_dict.pt")));

    std::ofstream(tmp.file("junk.pt")) << "not a model\n";
    const std::string junk = hawx::test::error_of<Error>([&] { hawx::zoo::load_any_model(tmp.file("junk.pt")); });
    EXPECT_TRUE(hawx::test::one_line(junk)) << junk;
    EXPECT_NE(junk.find("junk.pt: neither a hawx checkpoint nor a TorchScript archive"), std::string::npos) << junk;
    const std::string missing = hawx::test::error_of<Error>([&] { hawx::zoo::load_any_model(tmp.file("none.pt")); });
    EXPECT_NE(missing.find("none.pt: cannot open file"), std::string::npos) << missing;
    const std::string state_dict =
        hawx::test::error_of<Error>([&] { hawx::zoo::load_any_model(model_file("lenet5.state_dict.pt")); });
    EXPECT_NE(state_dict.find("not a hawx checkpoint"), std::string::npos) << state_dict;
}

TEST_F(ScriptImport, ImportLeavesGlobalGeneratorAlone) {
    REQUIRE_MODELS();
    at::manual_seed(11);
    const at::Tensor a = at::rand({8});
    at::manual_seed(11);
    auto net = ScriptNetwork::load(model_file("lenet5.trace.pt"));
    EXPECT_TRUE(at::equal(at::rand({8}), a));
}

TEST_F(ScriptImport, OperatorsNeedALiveNetwork) {
    REQUIRE_MODELS();
    std::int64_t id = 0;
    {
        auto net = ScriptNetwork::load(model_file("lenet5.trace.pt"));
        id = net->network_id();
        EXPECT_NE(net->graph_text().find("hawx::approx_linear(%"), std::string::npos);
        // Operators reach a layer by (network id, layer index): this is layer 3 (fc1).
        EXPECT_EQ(ScriptNetwork::run_layer(id, 3, at::zeros({1, 400})).sizes(), (std::vector<std::int64_t>{1, 120}));
        EXPECT_NE(hawx::test::error_of<Error>([&] { ScriptNetwork::run_layer(id, 99, at::zeros({1, 400})); })
                      .find("no layer 99"),
                  std::string::npos);
    }
    const std::string m = hawx::test::error_of<Error>([&] { ScriptNetwork::run_layer(id, 3, at::zeros({1, 400})); });
    EXPECT_NE(m.find("no imported network with id"), std::string::npos) << m;
}

}  // namespace
