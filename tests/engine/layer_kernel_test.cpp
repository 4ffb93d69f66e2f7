// Bit-exactness of the engine's layer kernels against the naive definition
// sum_k T_b(f,k)[a_k][w_fk] (plus the exact zero-point terms for unsigned blocks), for every
// granularity, path and layer geometry, and of the quantizer against its closed form.
#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/exact_mul.hpp>
#include <hawx/blocks/mitchell_mul.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/engine/layer_kernel.hpp>

#include <cstdlib>
#include <random>

#include "../blocks/block_test_util.hpp"
#include "kernel_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;
using namespace hawx::test;

namespace {

// Library: 0 exact, 1 truncated k=4, 2 BAM(1,6), 3 DRUM k=4 (rank-1 table), 4 Mitchell and
// 5 a random table (gather only).
BlockLibrary build_library(bool is_signed) {
    BlockLibrary lib;
    lib.push_back(compile_block(P<blocks::ExactMul>().b("signed", is_signed).make(), "EX"));
    lib.push_back(compile_block(P<blocks::TruncatedMul>().b("signed", is_signed).i("k", 4).make(), "T4"));
    lib.push_back(compile_block(P<blocks::BamMul>().b("signed", is_signed).i("hbl", 1).i("vbl", 6).make(), "BAM"));
    lib.push_back(compile_block(P<blocks::DrumMul>().b("signed", is_signed).i("k", 4).make(), "DRUM4"));
    lib.push_back(compile_block(P<blocks::MitchellMul>().b("signed", is_signed).make(), "MIT"));
    std::mt19937 rng(is_signed ? 11 : 12);
    std::vector<std::int32_t> t(65536);
    // Full-range entries: wider than int16 for unsigned, so the Int32 column layout is used.
    std::uniform_int_distribution<std::int32_t> d(is_signed ? -32768 : 0, is_signed ? 32767 : 70000);
    for (auto& v : t) v = d(rng);
    lib.push_back(compile_table(t, is_signed, "RND"));
    return lib;
}
const BlockLibrary& make_library(bool is_signed) {  // compiled once per signedness
    static const BlockLibrary s = build_library(true), u = build_library(false);
    return is_signed ? s : u;
}

class LayerKernelExact : public ::testing::TestWithParam<bool> {};

TEST_P(LayerKernelExact, EveryGranularityPathAndGeometryMatchesReference) {
    const bool is_signed = GetParam();
    const BlockLibrary& lib = make_library(is_signed);
    ASSERT_TRUE(lib[1]->separable) << "truncated multiplier should be separable";
    ASSERT_TRUE(lib[2]->separable) << "BAM should be separable";
    ASSERT_FALSE(lib[5]->separable) << "a random table cannot be low rank";
    // DRUM approximates each operand on its own, T = d(a) * d(w): rank 1 as a table, one
    // conv instead of the exact product plus two error terms.
    ASSERT_TRUE(lib[3]->table_form);
    EXPECT_EQ(lib[3]->terms(), 1);
    EXPECT_FALSE(lib[4]->separable || lib[4]->table_form) << "Mitchell's log multiplier is not low rank";
    const std::int32_t za = is_signed ? 0 : 7;
    std::uint32_t seed = 1;
    for (const Case& c : cases()) {
        const WeightQuant wq = random_weights(c.desc, is_signed, seed++);
        const at::Tensor codes = random_codes(c, 3, seed++);
        for (int b = 0; b < static_cast<int>(lib.size()); ++b)
            for (KernelPath path : {KernelPath::Auto, KernelPath::Gather})
                expect_exact(c.desc, wq, za, lib, {Granularity::Layer, {b}}, path, codes,
                             c.name + " layer " + lib[static_cast<std::size_t>(b)]->name + " " + to_string(path));
        for (Granularity g : {Granularity::Filter, Granularity::Operation}) {
            const std::string gn = to_string(g);
            // separable-only mix, gather-only mix, and everything mixed
            expect_exact(c.desc, wq, za, lib, assignment(c.desc, g, {0, 1, 2}, seed++), KernelPath::Separable, codes,
                         c.name + " " + gn + " separable mix");
            expect_exact(c.desc, wq, za, lib, assignment(c.desc, g, {3, 4, 5}, seed++), KernelPath::Auto, codes,
                         c.name + " " + gn + " gather mix");
            for (KernelPath path : {KernelPath::Auto, KernelPath::Gather})
                expect_exact(c.desc, wq, za, lib, assignment(c.desc, g, {0, 1, 2, 3, 4, 5}, seed++), path, codes,
                             c.name + " " + gn + " full mix " + to_string(path));
        }
    }
}

// The integer kernels (u8 x s8 VNNI products for separable terms, 64-wide byte lookups for
// 16-bit tables) against the reference and against the float path (HAWX_ENGINE_INT8=0), on
// ResNet-shaped layers whose sizes leave tails everywhere: rows not a multiple of the 12-row
// and 128-row blocks, filters not a multiple of 32, more than 128 gathered positions (the
// 16-bit partial sums are widened mid-way), stride-2, 1x1 shortcut, dilated and linear.
TEST(LayerKernel, IntegerKernelsMatchTheFloatPathAndTheReference) {
    __builtin_cpu_init();
    const bool vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    const bool vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
    const std::vector<Case> shapes = {{"conv3x3_c20_f37", conv(20, 37, 3, 1, 1, 1, 1), 9, 9},
                                      {"conv3x3_stride2", conv(16, 24, 3, 2, 1, 1, 1), 11, 10},
                                      {"shortcut1x1_stride2", conv(24, 40, 1, 2, 0, 1, 1), 8, 8},
                                      {"conv3x3_dilation2", conv(8, 33, 3, 1, 2, 2, 1), 9, 8},
                                      {"linear300", linear(300, 45), 1, 1}};
    const char* before = std::getenv("HAWX_ENGINE_INT8");
    const std::string saved = before ? before : "";
    const auto restore = [&] { before ? setenv("HAWX_ENGINE_INT8", saved.c_str(), 1) : unsetenv("HAWX_ENGINE_INT8"); };
    std::uint32_t seed = 40;
    for (bool is_signed : {true, false}) {
        const BlockLibrary& lib = make_library(is_signed);
        const std::int32_t za = is_signed ? 0 : 7;
        for (const Case& c : shapes) {
            const WeightQuant wq = random_weights(c.desc, is_signed, seed++);
            const at::Tensor codes = random_codes(c, c.desc.linear ? 130 : 2, seed++);
            for (int b : {0, 1, 3, 4}) {
                const std::string what = c.name + (is_signed ? " signed " : " unsigned ") + lib[static_cast<std::size_t>(b)]->name;
                for (const char* setting : {"1", "0"}) {
                    setenv("HAWX_ENGINE_INT8", setting, 1);
                    expect_exact(c.desc, wq, za, lib, {Granularity::Layer, {b}}, KernelPath::Auto, codes, what + " int8=" + setting);
                    const std::string d = LayerKernel(c.desc, wq, za, lib, {Granularity::Layer, {b}}, KernelPath::Auto).describe();
                    const bool on = std::string(setting) == "1";
                    // Signed exact and truncated terms fit u8 x s8: where the separable path is
                    // taken, the integer kernel must run (DRUM's d(a) spans 257 values: float).
                    if (is_signed && b <= 1 && vnni && d.find("separable") != std::string::npos) EXPECT_EQ(d.find("(int8 kernel") != std::string::npos, on) << what << "\n" << d;
                    if (!on) EXPECT_EQ(d.find("(int8 kernel"), std::string::npos) << what;
                }
                restore();
            }
            // Filter level: several filter groups, each its own integer product.
            expect_exact(c.desc, wq, za, lib, assignment(c.desc, Granularity::Filter, {0, 1, 3, 4}, seed++), KernelPath::Auto,
                         codes, c.name + " filter mix");
        }
    }
    if (!vnni || !vbmi) GTEST_SKIP() << "this CPU lacks AVX-512 VNNI/VBMI: only the float and scalar paths were checked";
}

INSTANTIATE_TEST_SUITE_P(Signedness, LayerKernelExact, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Signed" : "Unsigned"; });

// Fan-in 4608 (a VGG-11 3x3 conv on 512 channels) with full-scale weights: the separable
// path must split the reduction into chunks below 2^24 and return float64 accumulators.
TEST(LayerKernel, LargeFanInIsChunkedAndStaysExact) {
    const BlockLibrary& lib = make_library(true);
    for (const Case& c : {Case{"conv512", conv(512, 3, 3, 1, 1, 1, 1), 3, 3}, Case{"linear4608", linear(4608, 3), 1, 1}}) {
        at::manual_seed(5);
        // +-1 weights quantize to +-127 everywhere: the worst case for the bound.
        at::Tensor w = c.desc.linear ? at::ones({3, 4608}) : at::ones({3, 512, 3, 3});
        w[1].neg_();
        const WeightQuant wq = quantize_weights(w, true, "test");
        // All activations -128: |acc| reaches 4608 * 128 * 127, far beyond 2^24.
        at::Tensor codes = c.desc.linear ? at::full({2, 4608}, 0x80, at::kByte) : at::full({2, 512, 3, 3}, 0x80, at::kByte);
        codes.view(-1).slice(0, 0, 1000).random_(0, 256);
        const LayerKernel k(c.desc, wq, 0, lib, {Granularity::Layer, {1}}, KernelPath::Separable);
        EXPECT_NE(k.describe().find("chunks"), std::string::npos) << k.describe();
        const at::Tensor got = k.accumulate(codes);
        EXPECT_EQ(got.scalar_type(), at::kDouble);
        const at::Tensor ref = reference_accumulate(c.desc, wq, 0, lib, {Granularity::Layer, {1}}, codes);
        EXPECT_GT(ref.abs().max().item<std::int64_t>(), 1 << 24) << c.name;
        EXPECT_TRUE(at::equal(got.to(at::kLong), ref)) << c.name;
        expect_exact(c.desc, wq, 0, lib, {Granularity::Layer, {3}}, KernelPath::Auto, codes, c.name + " gather");
    }
}

TEST(LayerKernel, PathSelectionFollowsTheBlock) {
    const BlockLibrary& lib = make_library(true);
    // Auto takes the separable path where it is cheaper (DRUM4's table has rank 1; many filters)...
    const LayerDesc wide = conv(3, 64, 3, 1, 1, 1, 1);
    EXPECT_EQ(LayerKernel(wide, random_weights(wide, true, 3), 0, lib, {Granularity::Layer, {3}}, KernelPath::Auto)
                  .gathered_positions(),
              0);
    // ...and the gather path for a block without a separable form, or when a few filters make
    // the table lookups cheaper than expanding the terms.
    const LayerDesc l = conv(3, 4, 3, 1, 1, 1, 1);
    const WeightQuant wq = random_weights(l, true, 3);
    EXPECT_EQ(LayerKernel(l, wq, 0, lib, {Granularity::Layer, {5}}, KernelPath::Auto).gathered_positions(), 4 * 27);
    EXPECT_EQ(LayerKernel(l, wq, 0, lib, {Granularity::Layer, {1}}, KernelPath::Gather).gathered_positions(), 4 * 27);
    EXPECT_THROW(LayerKernel(l, wq, 0, lib, {Granularity::Layer, {5}}, KernelPath::Separable), Error);
}

TEST(LayerKernel, RejectsBadAssignments) {
    const BlockLibrary& lib = make_library(true);
    const LayerDesc l = conv(3, 4, 3, 1, 1, 1, 1);
    const WeightQuant wq = random_weights(l, true, 3);
    EXPECT_THROW(LayerKernel(l, wq, 0, lib, {Granularity::Filter, {1, 2}}, KernelPath::Auto), Error);
    EXPECT_THROW(LayerKernel(l, wq, 0, lib, {Granularity::Layer, {9}}, KernelPath::Auto), Error);
    BlockLibrary mixed = lib;
    mixed.push_back(exact_block(false));
    try {
        LayerKernel(l, wq, 0, mixed, {Granularity::Filter, {0, 6, 0, 0}}, KernelPath::Auto);
        ADD_FAILURE() << "mixing signed and unsigned blocks in a layer must be refused";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("mixes signed and unsigned"), std::string::npos) << e.what();
    }
}

TEST(Quantize, RoundsHalfToEvenAndClamps) {
    const ActQuant q = make_act_quant(true, -1.0f, 63.5f);  // scale 0.5
    ASSERT_FLOAT_EQ(q.scale, 0.5f);
    EXPECT_EQ(q.qmin, -2);  // the calibrated range: round(-1 / 0.5)
    EXPECT_EQ(q.qmax, 127);
    const at::Tensor x = at::tensor({0.25f, 0.75f, -0.25f, -0.75f, 1000.0f, -1000.0f, 1.0f});
    const at::Tensor c = quantize_codes(x, q, "x");
    const std::vector<int> want = {0, 2, 0, 0xFE, 127, 0xFE, 2};
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(c[static_cast<std::int64_t>(i)].item<int>(), want[i]) << i;
    EXPECT_THROW(quantize_codes(at::tensor({1.0f, NAN}), q, "x"), Error);

    const ActQuant u = make_act_quant(false, -2.0f, 3.1f);  // range 5.1, scale 0.02, zero 100
    EXPECT_FLOAT_EQ(u.scale, 0.02f);
    EXPECT_EQ(u.zero, 100);
    const at::Tensor cu = quantize_codes(at::tensor({0.0f, -2.0f, -5.0f, 3.1f, 9.0f}), u, "x");
    const std::vector<int> wantu = {100, 0, 0, 255, 255};
    for (std::size_t i = 0; i < wantu.size(); ++i) EXPECT_EQ(cu[static_cast<std::int64_t>(i)].item<int>(), wantu[i]) << i;
}

TEST(Quantize, WeightsPerChannelSymmetricAndAsymmetric) {
    const at::Tensor w = at::tensor({0.5f, -1.0f, 0.25f, 2.0f, 1.0f, 0.0f}).view({2, 3});
    const WeightQuant s = quantize_weights(w, true, "w");
    EXPECT_FLOAT_EQ(s.scale[0], 1.0f / 127);
    EXPECT_FLOAT_EQ(s.scale[1], 2.0f / 127);
    EXPECT_EQ(code_to_value(s.codes[0][1].item<std::uint8_t>(), 8, true), -127);
    EXPECT_EQ(code_to_value(s.codes[1][0].item<std::uint8_t>(), 8, true), 127);
    EXPECT_EQ(code_to_value(s.codes[1][2].item<std::uint8_t>(), 8, true), 0);
    const WeightQuant u = quantize_weights(w, false, "w");
    EXPECT_EQ(u.zero[0], 170);  // -(-1.0) / (1.5 / 255) = 170
    EXPECT_EQ(u.zero[1], 0);
    EXPECT_EQ(u.codes[0][1].item<std::uint8_t>(), 0);
    EXPECT_EQ(u.codes[1][0].item<std::uint8_t>(), 255);
    EXPECT_THROW(quantize_weights(at::tensor({1.0f, INFINITY}).view({1, 2}), true, "w"), Error);
}

// A conv -> ReLU -> linear network run through the LayerRunner seam: calibration, the
// int8-exact baseline close to float, and identical outputs from every kernel path.
TEST(Engine, PathsAgreeBitForBitOnATwoLayerNetwork) {
    at::manual_seed(3);
    LayerDesc c1 = conv(2, 5, 3, 1, 1, 1, 1);
    c1.index = 1;
    LayerDesc fc = linear(5 * 6 * 6, 4);
    fc.index = 2;
    const at::Tensor w1 = at::randn({5, 2, 3, 3}) * 0.3, b1 = at::randn({5}) * 0.1;
    const at::Tensor w2 = at::randn({4, 180}) * 0.1, b2 = at::randn({4}) * 0.1;
    const at::Tensor x = at::randn({8, 2, 6, 6});
    const auto run = [&](LayerRunner& r) {
        at::Tensor h = at::relu(r.forward(c1, x, w1, b1));
        return r.forward(fc, h.flatten(1), w2, b2);
    };
    for (bool is_signed : {true, false}) {
        std::vector<at::Tensor> outs;
        for (KernelPath path : {KernelPath::Auto, KernelPath::Gather, KernelPath::Reference}) {
            EngineOptions o;
            o.path = path;
            o.threads = 2;
            Engine e(make_library(is_signed), o);
            e.begin_calibration();
            const at::Tensor fl = run(e);
            e.finish_calibration();
            e.set_assignment(ModelAssignment::uniform(0, 2));
            const at::Tensor exact = run(e);
            // int8 quantization error: small relative to the output range
            EXPECT_LT((exact - fl).abs().max().item<float>(), 0.05f * fl.abs().max().item<float>());
            ModelAssignment mix;
            mix.layers.push_back(assignment(c1, Granularity::Filter, {1, 2, 3, 5}, 9));
            mix.layers.push_back(assignment(fc, Granularity::Operation, {0, 1, 4}, 10));
            e.set_assignment(mix);
            outs.push_back(run(e));
        }
        EXPECT_TRUE(at::equal(outs[0], outs[1])) << (is_signed ? "signed" : "unsigned") << " auto vs gather";
        EXPECT_TRUE(at::equal(outs[0], outs[2])) << (is_signed ? "signed" : "unsigned") << " auto vs reference";
    }
}

TEST(Engine, QuantizedModeNeedsCalibrationAndAnAssignment) {
    Engine e(make_library(true));
    LayerDesc l = linear(4, 2);
    const at::Tensor w = at::randn({2, 4}), x = at::randn({3, 4});
    e.set_mode(Mode::Quantized);
    EXPECT_THROW(e.forward(l, x, w, {}), Error);
    e.begin_calibration();
    e.forward(l, x, w, {});
    e.finish_calibration();
    EXPECT_THROW(e.forward(l, x, w, {}), Error);  // no assignment yet
    e.set_assignment(ModelAssignment::uniform(1, 1));
    EXPECT_EQ(e.forward(l, x, w, {}).sizes(), (std::vector<std::int64_t>{3, 2}));
    EXPECT_THROW(e.forward(l, x * NAN, w, {}), Error);
}

}  // namespace

namespace {

// Profile mode: the forward value is the quantized output, and backward gives dL/dy of every
// layer output by the straight-through estimator; checked against the closed form of the
// cross-entropy gradient and the chain rule through ReLU and the linear layer.
TEST(Engine, ProfileModeRecordsCodesAndStraightThroughGradients) {
    at::manual_seed(4);
    LayerDesc c1 = conv(2, 5, 3, 1, 1, 1, 1);
    c1.index = 1;
    LayerDesc fc = linear(5 * 6 * 6, 4);
    fc.index = 2;
    const at::Tensor w1 = at::randn({5, 2, 3, 3}) * 0.3, b1 = at::randn({5}) * 0.1;
    const at::Tensor w2 = at::randn({4, 180}) * 0.1, b2 = at::randn({4}) * 0.1;
    const at::Tensor x = at::randn({8, 2, 6, 6}).set_requires_grad(true);
    const at::Tensor labels = at::randint(0, 4, {8}, at::kLong);
    EngineOptions o;
    o.threads = 2;
    Engine e(make_library(true), o);
    const auto run = [&] {
        at::Tensor h = at::relu(e.forward(c1, x, w1, b1));
        return e.forward(fc, h.flatten(1), w2, b2);
    };
    e.begin_calibration();
    run();
    e.finish_calibration();
    e.set_assignment(ModelAssignment::uniform(1, 2));
    at::Tensor quantized;
    {
        at::NoGradGuard ng;
        quantized = run();
    }
    e.set_mode(Mode::Profile);
    const at::Tensor out = run();
    EXPECT_TRUE(at::equal(out.detach(), quantized)) << "profile forward differs from the quantized one";
    at::cross_entropy_loss(out, labels).backward();
    ASSERT_EQ(e.profile().size(), 2u);
    const LayerProfile& p1 = e.profile()[0];
    const LayerProfile& p2 = e.profile()[1];
    const at::Tensor g2 = (at::softmax(out.detach(), 1) - at::one_hot(labels, 4).to(at::kFloat)) / 8.0;
    EXPECT_TRUE(at::allclose(p2.grad(), g2, 1e-5, 1e-7));
    const at::Tensor y1 = p1.output.detach();
    const at::Tensor g1 = at::mm(g2, w2).view({8, 5, 6, 6}) * (y1 > 0).to(at::kFloat);
    EXPECT_TRUE(at::allclose(p1.grad(), g1, 1e-5, 1e-7));
    EXPECT_TRUE(at::equal(p1.codes, quantize_codes(x.detach(), p1.act, "x")));
    EXPECT_EQ(p2.codes.sizes(), (std::vector<std::int64_t>{8, 180}));
    ASSERT_TRUE(x.grad().defined());  // the gradient reaches the input through the float layers
}

}  // namespace

namespace {

// Non-negative activations (after a ReLU): every partial sum lies between minus the negative
// and plus the positive products, so the kernel needs fewer chunks than the magnitude bound
// would, and must still be exact at the extremes of that bound.
TEST(LayerKernel, SignAwareBoundNeedsFewerChunksAndStaysExact) {
    const BlockLibrary& lib = make_library(true);
    const LayerDesc l = linear(4608, 2);
    at::Tensor w = at::ones({2, 4608});
    w[0].slice(0, 1, 4608, 2).neg_();  // both filters alternate signs
    w[1].slice(0, 0, 4608, 2).neg_();
    const WeightQuant wq = quantize_weights(w, true, "test");
    const LayerKernel full(l, wq, 0, lib, {Granularity::Layer, {1}}, KernelPath::Separable);
    const LayerKernel relu(l, wq, 0, lib, {Granularity::Layer, {1}}, KernelPath::Separable, {0, 127});
    const auto chunks = [](const LayerKernel& k) { return k.describe().substr(k.describe().rfind(", ") + 2); };
    EXPECT_NE(chunks(full), chunks(relu)) << full.describe() << relu.describe();
    at::Tensor codes = at::full({3, 4608}, 127, at::kByte);  // the positive extreme
    codes[1].random_(0, 128);
    codes[2].slice(0, 1, 4608, 2).fill_(0);  // only filter 1's negative products are active
    const at::Tensor ref = reference_accumulate(l, wq, 0, lib, {Granularity::Layer, {1}}, codes);
    EXPECT_GT(ref.abs().max().item<std::int64_t>(), 1 << 24);
    EXPECT_TRUE(at::equal(relu.accumulate(codes).to(at::kLong), ref));
    // codes outside the promised range are refused
    EXPECT_THROW(relu.accumulate(at::full({1, 4608}, 0xFF, at::kByte)), Error);
}

}  // namespace
