// Approximation-aware fine-tuning (issue 19): with the exact block it is ordinary
// quantization-aware training (a float fake-quant reference written here); the slope
// gradient equals finite differences of the engine's own output where the table is smooth
// (the straight-through one does not); a fine-tune killed after an epoch resumes to the
// identical weights.
#include <gtest/gtest.h>
#include <unistd.h>
#include <torch/torch.h>

#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/data/datasets.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/pipeline/finetune.hpp>
#include <hawx/pipeline/predictor.hpp>
#include <hawx/pipeline/searches.hpp>
#include <hawx/sdk/error.hpp>
#include <hawx/zoo/network.hpp>
#include <hawx/zoo/quantized.hpp>
#include <hawx/zoo/train.hpp>

#include "../blocks/block_test_util.hpp"
#include "zoo_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;
using hawx::test::ZooTempDir;

namespace {

// The textbook fake-quant layer: operands rounded to the engine's grids (activations per
// tensor with the engine's calibrated quantizer, weights per filter symmetric, max|w| / 127),
// the layer computed on the integer levels (in double, exact) and rescaled once in float32
// as integer hardware does, gradients straight through the rounding (zero where the
// activation clips) to the float layer on the fake-quantized operands.
class FakeQuantRunner : public LayerRunner {
public:
    explicit FakeQuantRunner(const Engine& e) : engine_(e) {}
    at::Tensor forward(const LayerDesc& l, const at::Tensor& input, const at::Tensor& w, const at::Tensor& b) override {
        const ActQuant& q = engine_.act_quant(l.index, true);
        const at::Tensor x = l.linear ? input.reshape({input.size(0), -1}) : input;
        const at::Tensor level = at::round(x.detach() * q.inv_scale);
        const at::Tensor inside = ((level >= q.qmin) & (level <= q.qmax)).to(at::kFloat);
        const at::Tensor lx = level.clamp(q.qmin, q.qmax);
        const at::Tensor amax = w.detach().abs().reshape({w.size(0), -1}).amax(1);
        std::vector<std::int64_t> shape(static_cast<std::size_t>(w.dim()), 1);
        shape[0] = w.size(0);
        const at::Tensor s = (amax / 127.0f).view(shape);
        const at::Tensor lw = at::round(w.detach() * (1.0f / s)).clamp(-127, 127);
        const at::Tensor acc = float_forward(l, lx.to(at::kDouble), lw.to(at::kDouble), {});
        std::vector<std::int64_t> out(static_cast<std::size_t>(acc.dim()), 1);
        out[1] = w.size(0);
        at::Tensor value = (acc * (s.reshape({-1}) * q.scale).to(at::kDouble).view(out)).to(at::kFloat);
        if (b.defined()) value = value + b.detach().view(out);
        const at::Tensor grad = float_forward(l, lx * q.scale + (x - x.detach()) * inside, lw * s + (w - w.detach()), b);
        return value + (grad - grad.detach());
    }

private:
    const Engine& engine_;
};

std::shared_ptr<zoo::Network> lenet(std::uint64_t seed) {
    torch::manual_seed(seed);
    zoo::ModelOptions o;
    o.in_channels = 1;
    o.input_size = 32;
    return zoo::make_model("lenet5", o);
}

const Dataset& synthetic() {
    static const Dataset d = head(load_dataset("synthetic", "", 32, 5).train, 384);
    return d;
}

InputSpec spec32() {
    InputSpec s;
    s.channels = 1;
    s.size = 32;
    s.mean = {0.5f};
    s.std = {0.5f};
    return s;
}

zoo::TrainOptions sgd(int epochs) {
    zoo::TrainOptions o;
    o.epochs = epochs;
    o.batch_size = 64;
    o.optimizer = "sgd";
    o.momentum = 0;
    o.lr = 0.05;
    o.schedule = "constant";
    o.val_size = 0;
    o.threads = 1;
    o.progress = false;
    o.folded = true;
    return o;
}

TEST(Finetune, ExactBlockIsOrdinaryQuantizationAwareTraining) {
    const InputSpec spec = spec32();
    auto a = lenet(11), b = lenet(11);
    Engine eng({exact_block(true)}, EngineOptions{1});
    zoo::calibrate(*a, eng, synthetic(), spec, 256);
    zoo::fold_batchnorm(*b);
    eng.set_assignment(ModelAssignment::uniform(0, a->layer_descs().size()));
    eng.set_mode(Mode::Train);
    FakeQuantRunner ref(eng);
    b->set_runner(&ref);
    const zoo::TrainResult ra = zoo::train(*a, synthetic(), spec, sgd(4));
    const zoo::TrainResult rb = zoo::train(*b, synthetic(), spec, sgd(4));
    ASSERT_EQ(ra.epochs.size(), 4u);
    // Forward values agree bit for bit (integer sums rescaled once), so do the gradients: the
    // curves may only differ by float reassociation.
    for (std::size_t e = 0; e < 4; ++e)
        EXPECT_NEAR(ra.epochs[e].train_loss, rb.epochs[e].train_loss, 1e-4 * rb.epochs[e].train_loss) << "epoch " << e + 1;
    EXPECT_LT(ra.epochs[3].train_loss, ra.epochs[0].train_loss) << "it trains";
    const auto pa = a->parameters(), pb = b->parameters();
    for (std::size_t i = 0; i < pa.size(); ++i)
        EXPECT_LT((pa[i] - pb[i]).abs().max().item<float>(), 1e-4f) << "parameter " << i;
    // Back in Quantized mode the engine computes with the trained weights (the optimizer
    // stepped them in place, version unchanged): as a fresh engine with the same ranges does.
    torch::NoGradGuard no_grad;
    const at::Tensor x = to_input(synthetic(), 0, 32, spec);
    eng.set_mode(Mode::Quantized);
    const at::Tensor trained = a->forward(x);
    Engine fresh({exact_block(true)}, EngineOptions{1});
    fresh.load_calibration(eng.calibration_json());
    fresh.set_assignment(eng.assignment());
    fresh.set_mode(Mode::Quantized);
    a->set_runner(&fresh);
    EXPECT_TRUE(torch::equal(trained, a->forward(x)));
}

// T = a*w + a^2 - w^2 (signed codes): smooth, its error slopes are 2a and -2w, which central
// differences reproduce exactly away from the ends of the code range.
std::shared_ptr<const CompiledBlock> smooth_block() {
    std::vector<std::int32_t> t(65536);
    for (int a = -128; a < 128; ++a)
        for (int w = -128; w < 128; ++w) t[((a & 0xFF) << 8) | (w & 0xFF)] = a * w + a * a - w * w;
    return compile_table(std::move(t), true, "SMOOTH");
}

TEST(Finetune, SlopeGradientIsTheFiniteDifferenceOfTheEngineOutput) {
    LayerDesc d;
    d.index = 1;
    d.linear = true;
    d.in_channels = 12;
    d.out_channels = 3;
    EngineOptions opt;
    opt.threads = 1;
    Engine eng({smooth_block()}, opt);
    torch::manual_seed(3);
    // Operands on their quantization grids, 1 to 100 codes from zero, so one code step either
    // way stays inside the range and the grid (the calibration sees +-127 codes).
    const float sa = 0.02f;
    const at::Tensor xc = torch::randint(-100, 101, {2, 12}).to(at::kFloat);
    at::Tensor wc = torch::randint(-100, 101, {3, 12}).to(at::kFloat);
    wc.select(1, 11).fill_(127);  // the filter maxima fix each weight scale at 0.01
    const at::Tensor g = torch::randn({2, 3});
    const at::Tensor bias = torch::zeros({3});
    eng.begin_calibration();
    at::Tensor range = torch::zeros({1, 12});
    range[0][0] = -127 * sa;
    range[0][1] = 127 * sa;
    eng.forward(d, range, wc * 0.01f, bias);
    eng.finish_calibration();
    ASSERT_FLOAT_EQ(eng.act_quant(1, true).scale, sa);
    eng.set_assignment(ModelAssignment::uniform(0, 1));
    const auto loss = [&](const at::Tensor& x, const at::Tensor& w) { return (eng.forward(d, x, w, bias) * g).sum(); };
    const auto grads = [&](GradientRule rule) {
        eng.set_gradient_rule(rule);
        eng.set_mode(Mode::Train);
        at::Tensor x = (xc * sa).requires_grad_(true), w = (wc * 0.01f).requires_grad_(true);
        loss(x, w).backward();
        return std::make_pair(x.grad(), w.grad());
    };
    const auto [gx, gw] = grads(GradientRule::SlopeTable);
    const auto [sx, sw] = grads(GradientRule::StraightThrough);
    eng.set_mode(Mode::Quantized);
    torch::NoGradGuard no_grad;
    double worst_slope = 0, worst_ste = 0;
    for (std::int64_t i = 0; i < 12; ++i) {
        const at::Tensor step = torch::zeros({2, 12});
        step.select(1, i).fill_(1.0f);
        const at::Tensor up = loss((xc + step) * sa, wc * 0.01f), down = loss((xc - step) * sa, wc * 0.01f);
        // Both images' inputs i moved together: the sum of their gradients.
        const double fd = (up - down).item<double>() / (2 * sa);
        worst_slope = std::max(worst_slope, std::abs(gx.select(1, i).sum().item<double>() - fd) / (1 + std::abs(fd)));
        worst_ste = std::max(worst_ste, std::abs(sx.select(1, i).sum().item<double>() - fd) / (1 + std::abs(fd)));
    }
    for (std::int64_t f = 0; f < 3; ++f)
        for (std::int64_t k = 0; k < 11; ++k) {
            const at::Tensor step = torch::zeros({3, 12});
            step[f][k] = 1.0f;
            const double fd =
                (loss(xc * sa, (wc + step) * 0.01f) - loss(xc * sa, (wc - step) * 0.01f)).item<double>() / (2 * 0.01);
            worst_slope = std::max(worst_slope, std::abs(gw[f][k].item<double>() - fd) / (1 + std::abs(fd)));
            worst_ste = std::max(worst_ste, std::abs(sw[f][k].item<double>() - fd) / (1 + std::abs(fd)));
        }
    EXPECT_LT(worst_slope, 1e-3);
    EXPECT_GT(worst_ste, 0.1) << "the straight-through gradient ignores the error's slope";
}

TEST(Finetune, SlopeFactorsOfATruncatedMultiplierAreExactAtItsRank) {
    const auto t4 = compile_block(P<blocks::TruncatedMul>().i("k", 4).make(), "T4");
    const SlopeFactors f = factor_slopes(*t4, 8);
    EXPECT_LE(f.rank_a(), 9);
    EXPECT_LT(f.dropped_a, 1e-6);
    EXPECT_FALSE(f.straight_through);
    const at::Tensor m = table_slope(*t4, true);
    const at::Tensor back = f.p.t().to(at::kDouble).mm(f.q.to(at::kDouble));
    EXPECT_LT((m - back).abs().max().item<double>(), 1e-5 * m.abs().max().item<double>());
    // The full slope is the product's slope plus the error's: w along a.
    const at::Tensor w = at::arange(256, at::kDouble);
    EXPECT_TRUE(at::allclose(m - error_slope(*t4, true), at::where(w > 127, w - 256, w).expand({256, 256})));
    // An exact block and zero error terms give the product's own factors.
    const SlopeFactors ex = factor_slopes(*exact_block(true), 8);
    EXPECT_TRUE(ex.straight_through);
    EXPECT_EQ(ex.rank_a() + ex.rank_w(), 2);
    EXPECT_EQ(ex.dropped_a + ex.dropped_w, 0.0);
    const SlopeFactors none = factor_slopes(*t4, 0);
    EXPECT_TRUE(none.straight_through);
    EXPECT_EQ(none.dropped_a, 1.0);
    // Fewer error terms than the block has: the best approximation of the full slope, which is
    // never worse than the product plus the same number of the error's best terms.
    const SlopeFactors one = factor_slopes(*t4, 1);
    EXPECT_EQ(one.rank_a(), 2);
    const at::Tensor e = error_slope(*t4, true);
    const auto svd = at::linalg_svd(e, false);
    const double best_error_term = std::sqrt(1.0 - std::pow(std::get<1>(svd)[0].item<double>() / e.norm().item<double>(), 2));
    EXPECT_GT(one.dropped_a, 0.0);
    EXPECT_LE(one.dropped_a, best_error_term + 1e-6);
}

// The slope backward of a grouped, strided, padded convolution, layer-, filter- and
// operation-level block mixes, against the dense slope tables applied product by product
// (im2col, one table lookup per product, col2im): no factorization, no stacking. Unsigned
// operands have zero points, and the padding holds the activation's zero point.
void check_dense_slope_gradient(bool is_signed) {
    LayerDesc d;
    d.index = 1;
    d.in_channels = 4;
    d.out_channels = 6;
    d.kernel = {3, 3};
    d.stride = {2, 2};
    d.padding = {1, 1};
    d.groups = 2;
    const BlockLibrary lib = {exact_block(is_signed),
                              compile_block(P<blocks::TruncatedMul>().b("signed", is_signed).i("k", 3).make(), "T3"),
                              compile_block(P<blocks::TruncatedMul>().b("signed", is_signed).i("k", 5).make(), "T5")};
    EngineOptions o;
    o.threads = 1;
    o.slope_rank = 16;
    o.gradient = GradientRule::SlopeTable;
    Engine eng(lib, o);
    for (int b = 1; b < 3; ++b) ASSERT_LT(eng.slope_factors(b).dropped_a + eng.slope_factors(b).dropped_w, 1e-6);
    torch::manual_seed(5);
    const std::int64_t N = 2, C = 4, Cg = 2, F = 6, H = 7, K = Cg * 9;
    const at::Tensor x0 = torch::randn({N, C, H, H});
    const at::Tensor w0 = torch::randn({F, Cg, 3, 3}) * 0.3;
    const at::Tensor bias = torch::zeros({F});
    eng.begin_calibration();
    eng.forward(d, x0, w0, bias);
    eng.finish_calibration();
    const ActQuant aq = eng.act_quant(1, is_signed);
    const WeightQuant wq = quantize_weights(w0, is_signed, "w");
    const auto values = [&](const at::Tensor& codes) { return is_signed ? codes.view(at::kChar).to(at::kFloat) : codes.to(at::kFloat); };
    const at::Tensor a_val = values(quantize_codes(x0, aq, "x"));
    const at::Tensor w_val = values(wq.codes).to(at::kLong).reshape({F, K});
    const float za = static_cast<float>(aq.zero);
    // [N, C*9, L], the padding at the zero point's value
    const at::Tensor cols = at::im2col(a_val - za, {3, 3}, {1, 1}, {1, 1}, {2, 2}) + za;
    if (!is_signed) {
        ASSERT_NE(aq.zero, 0);
        ASSERT_TRUE(std::any_of(wq.zero.begin(), wq.zero.end(), [](std::int32_t z) { return z != 0; }));
    }
    const std::int64_t L = cols.size(2);
    std::vector<at::Tensor> ea, ew;
    for (const auto& blk : lib) {
        ea.push_back(error_slope(*blk, true).to(at::kFloat).reshape({-1}));
        ew.push_back(error_slope(*blk, false).to(at::kFloat).reshape({-1}));
    }
    const auto check = [&](const LayerAssignment& a, const char* what, bool exact = false) {
        ModelAssignment m;
        m.layers = {a};
        eng.set_assignment(m);
        eng.set_mode(Mode::Train);
        const at::Tensor g = torch::randn({N, F, 4, 4});
        const auto grads = [&](GradientRule rule) {
            eng.set_gradient_rule(rule);
            const at::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
            (eng.forward(d, x, w, bias) * g).sum().backward();
            return std::make_pair(x.grad(), w.grad());
        };
        const auto [ste_x, ste_w] = grads(GradientRule::StraightThrough);
        const auto [got_x, got_w] = grads(GradientRule::SlopeTable);
        const at::Tensor gl = g.reshape({N, F, L});
        at::Tensor gx_cols = torch::zeros({N, C * 9, L}), gw = torch::zeros({F, K});
        for (std::int64_t f = 0; f < F; ++f) {
            const std::int64_t grp = f / (F / 2);
            const at::Tensor av = cols.narrow(1, grp * K, K);  // [N, K, L]
            const at::Tensor idx = av.to(at::kLong).bitwise_and(255) * 256 + w_val[f].bitwise_and(255).view({1, K, 1});
            at::Tensor sa = torch::zeros({N, K, L}), sw = torch::zeros({N, K, L});
            for (std::int64_t k = 0; k < K; ++k) {
                const int b = a.granularity == Granularity::Layer    ? a.units[0]
                              : a.granularity == Granularity::Filter ? a.units[static_cast<std::size_t>(f)]
                                                                     : a.units[static_cast<std::size_t>(f * K + k)];
                sa.select(1, k).copy_(at::take(ea[static_cast<std::size_t>(b)], idx.select(1, k)));
                sw.select(1, k).copy_(at::take(ew[static_cast<std::size_t>(b)], idx.select(1, k)));
            }
            const at::Tensor gf = gl.select(1, f).unsqueeze(1);  // [N, 1, L]
            const float zw = static_cast<float>(wq.zero[static_cast<std::size_t>(f)]);
            gx_cols.narrow(1, grp * K, K).add_(gf * wq.scale[static_cast<std::size_t>(f)] *
                                               (w_val[f].to(at::kFloat).view({1, K, 1}) - zw + sa));
            gw[f] = (gf * aq.scale * (av - za + sw)).sum(at::IntArrayRef{0, 2});
        }
        const at::Tensor gx = at::col2im(gx_cols, {H, H}, {3, 3}, {1, 1}, {1, 1}, {2, 2});
        const auto rel = [](const at::Tensor& got, const at::Tensor& want) {
            return ((got - want).abs().max() / want.abs().max()).item<double>();
        };
        EXPECT_LT(rel(got_x, gx), 1e-4) << what;
        EXPECT_LT(rel(got_w, gw.view(w0.sizes())), 1e-4) << what;
        if (exact) {
            // The exact block: the straight-through gradient is the table's.
            EXPECT_LT(rel(ste_x, gx), 1e-4) << what;
            EXPECT_LT(rel(ste_w, gw.view(w0.sizes())), 1e-4) << what;
        } else {
            // The slope terms matter here: the straight-through gradient alone is far off.
            EXPECT_GT(rel(ste_x, gx), 1e-2) << what;
            EXPECT_GT(rel(ste_w, gw.view(w0.sizes())), 1e-2) << what;
        }
    };
    check({Granularity::Layer, {0}}, "layer EX", true);
    check({Granularity::Layer, {1}}, "layer T3");
    check({Granularity::Filter, {1, 2, 0, 2, 1, 1}}, "filters T3/T5/EX");
    std::vector<int> ops(static_cast<std::size_t>(F * K));
    for (std::size_t i = 0; i < ops.size(); ++i) ops[i] = static_cast<int>((i * 7 + i / 5) % 3);
    check({Granularity::Operation, ops}, "operations EX/T3/T5");
}

TEST(Finetune, SlopeGradientOfAGroupedConvolutionMatchesTheDenseTables) { check_dense_slope_gradient(true); }
TEST(Finetune, UnsignedSlopeGradientWithZeroPointsMatchesTheDenseTables) { check_dense_slope_gradient(false); }

// A truncated multiplier's slope has rank 1 + (k - 1) inside the operand range and one more
// with the one-sided differences at its two ends: the interior factors need a term fewer, and
// the end rows are added product by product. Checked on a fully connected layer (the conv
// layers above take the same path) whose activations and weights hold every end code they
// can: the clip of the activation range and each filter's extreme weights.
void check_dense_linear_slope(bool is_signed) {
    const auto t3 = compile_block(P<blocks::TruncatedMul>().b("signed", is_signed).i("k", 3).make(), "T3");
    const SlopeFactors f = factor_slopes(*t3, 16);
    ASSERT_TRUE(f.interior.has_value());
    EXPECT_EQ(f.terms(), 4);
    EXPECT_EQ(f.interior->terms(), 3);
    EXPECT_LT(f.dropped_a + f.dropped_w + f.interior->dropped_a + f.interior->dropped_w, 1e-6);
    ASSERT_EQ(f.interior->ends_a.size(), 2u);
    LayerDesc d;
    d.index = 1;
    d.linear = true;
    d.in_channels = 40;
    d.out_channels = 5;
    EngineOptions o;
    o.threads = 2;
    o.slope_rank = 16;
    o.gradient = GradientRule::SlopeTable;
    const BlockLibrary lib = {exact_block(is_signed), t3};
    Engine eng(lib, o);
    torch::manual_seed(11);
    const std::int64_t N = 16, C = 40, F = 5;
    at::Tensor x0 = torch::randn({N, C});
    x0[0][0] = x0.abs().max() + 0.5;  // the largest magnitude positive: the top code is used
    const at::Tensor w0 = torch::randn({F, C}) * 0.3;
    const at::Tensor bias = torch::zeros({F});
    eng.begin_calibration();
    eng.forward(d, x0, w0, bias);
    eng.finish_calibration();
    const ActQuant aq = eng.act_quant(1, is_signed);
    const WeightQuant wq = quantize_weights(w0, is_signed, "w");
    const at::Tensor a_codes = quantize_codes(x0, aq, "x"), w_codes = wq.codes;
    const std::uint8_t top = is_signed ? 127 : 255;
    ASSERT_GT((a_codes == top).sum().item<std::int64_t>(), 0);
    ASSERT_GE((w_codes == top).sum().item<std::int64_t>(), is_signed ? 1 : F);
    if (!is_signed) ASSERT_GE((w_codes == 0).sum().item<std::int64_t>(), F);  // each filter's minimum
    const auto values = [&](const at::Tensor& c) { return is_signed ? c.view(at::kChar).to(at::kFloat) : c.to(at::kFloat); };
    const at::Tensor av = values(a_codes), wv = values(w_codes);
    const at::Tensor ea = error_slope(*t3, true).to(at::kFloat).reshape({-1});
    const at::Tensor ew = error_slope(*t3, false).to(at::kFloat).reshape({-1});
    const at::Tensor g = torch::randn({N, F});
    ModelAssignment m;
    m.layers = {{Granularity::Filter, {1, 0, 1, 1, 1}}};
    eng.set_assignment(m);
    eng.set_mode(Mode::Train);
    const at::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    (eng.forward(d, x, w, bias) * g).sum().backward();
    at::Tensor gx = torch::zeros({N, C}), gw = torch::zeros({F, C});
    const float za = static_cast<float>(aq.zero);
    for (std::int64_t fi = 0; fi < F; ++fi) {
        const bool approx = fi != 1;
        const at::Tensor idx = a_codes.to(at::kLong) * 256 + w_codes[fi].to(at::kLong).view({1, C});  // [N, C]
        const at::Tensor sa = approx ? at::take(ea, idx) : torch::zeros({N, C});
        const at::Tensor sw = approx ? at::take(ew, idx) : torch::zeros({N, C});
        const at::Tensor gf = g.select(1, fi).unsqueeze(1);  // [N, 1]
        const float zw = static_cast<float>(wq.zero[static_cast<std::size_t>(fi)]);
        gx += gf * wq.scale[static_cast<std::size_t>(fi)] * (wv[fi].view({1, C}) - zw + sa);
        gw[fi] = (gf * aq.scale * (av - za + sw)).sum(0);
    }
    // The activation quantizer passes the gradient where it does not clip.
    const float lo = (static_cast<float>(aq.qmin) - za - 0.5f) * aq.scale, hi = (static_cast<float>(aq.qmax) - za + 0.5f) * aq.scale;
    gx = at::where((x0 >= lo).logical_and(x0 <= hi), gx, torch::zeros_like(gx));
    const auto rel = [](const at::Tensor& got, const at::Tensor& want) {
        return ((got - want).abs().max() / want.abs().max()).item<double>();
    };
    EXPECT_LT(rel(x.grad(), gx), 1e-4);
    EXPECT_LT(rel(w.grad(), gw), 1e-4);
}

TEST(Finetune, SlopeGradientOfALinearLayerWithEndCodesMatchesTheDenseTables) {
    check_dense_linear_slope(true);
    check_dense_linear_slope(false);
}

zoo::TrainOptions adam(int epochs, const std::string& state) {
    zoo::TrainOptions o = sgd(epochs);
    o.optimizer = "adam";
    o.lr = 1e-3;
    o.schedule = "cosine";
    o.state_path = state;
    o.state_tag = "test";
    return o;
}

TEST(Finetune, AKilledFinetuneResumesToTheIdenticalWeights) {
    ZooTempDir dir;
    const InputSpec spec = spec32();
    const BlockLibrary lib = {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 5).make(), "T5")};
    pipeline::FinetuneData fd;
    fd.train = &synthetic();
    fd.calibration = &synthetic();
    fd.calibration_n = 256;
    fd.spec = spec;
    const auto run = [&](zoo::Network& net, const std::string& state, int kill_after) {
        EngineOptions eo{1};
        eo.gradient = GradientRule::SlopeTable;
        Engine eng(lib, eo);
        return pipeline::finetune(net, eng, ModelAssignment::uniform(1, net.layer_descs().size()), fd, adam(3, state),
                                  [&](const zoo::EpochStats& e, const zoo::EvalResult&) {
                                      if (e.epoch == kill_after) throw std::runtime_error("killed");
                                  });
    };
    auto whole = lenet(5);
    const zoo::TrainResult rw = run(*whole, dir.file("whole.state"), 0);
    auto killed = lenet(5);
    EXPECT_THROW(run(*killed, dir.file("resumed.state"), 2), std::runtime_error);
    ASSERT_TRUE(std::filesystem::exists(dir.file("resumed.state"))) << "epoch 1 was saved";
    auto resumed = lenet(5);  // a fresh process: the starting weights again, then the state
    const zoo::TrainResult rr = run(*resumed, dir.file("resumed.state"), 0);
    ASSERT_EQ(rr.epochs.size(), 3u);
    for (std::size_t e = 0; e < 3; ++e) EXPECT_EQ(rr.epochs[e].train_loss, rw.epochs[e].train_loss) << e;
    const auto pw = whole->parameters(), pr = resumed->parameters();
    for (std::size_t i = 0; i < pw.size(); ++i) EXPECT_TRUE(torch::equal(pw[i], pr[i])) << "parameter " << i;
    // Two processes never train into one state: the second is refused, naming the holder.
    {
        const zoo::StateFileLock held(dir.file("resumed.state"));
        const std::string busy =
            hawx::test::error_of<Error>([&] { const zoo::StateFileLock again(dir.file("resumed.state")); });
        EXPECT_NE(busy.find("another process (pid " + std::to_string(::getpid()) + ") is training into this state"),
                  std::string::npos)
            << busy;
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("resumed.state.lock"))) << "released locks leave no file";
    { const zoo::StateFileLock free_again(dir.file("resumed.state")); }
    // A state of another run is refused, not resumed.
    zoo::TrainOptions other = adam(3, dir.file("resumed.state"));
    other.state_tag = "another";
    auto net = lenet(5);
    zoo::fold_batchnorm(*net);
    const std::string msg = hawx::test::error_of<Error>([&] { zoo::train(*net, synthetic(), spec, other); });
    EXPECT_NE(msg.find("training state of another run"), std::string::npos) << msg;
}

// The experiment pipeline's Finetuner: each configuration trains from the run's weights and
// ranges and puts them back bit for bit (evaluations before and after agree exactly); its
// accuracies are those of a fine-tune made by hand; the test accuracy measured later from
// the kept weights, or by training again when none are kept, is the same.
TEST(Finetune, FinetunerPutsTheRunsWeightsBackAndMatchesAFinetuneByHand) {
    const InputSpec spec = spec32();
    const BlockLibrary lib = {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 6).make(), "T6")};
    const Dataset fit = head(synthetic(), 256);
    const Dataset val = head(load_dataset("synthetic", "", 32, 5).test, 200);
    pipeline::FinetuneData fd;
    fd.train = &fit;
    fd.calibration = &synthetic();
    fd.calibration_n = 256;
    fd.val = &val;
    fd.spec = spec;
    fd.eval_batch = 64;
    zoo::TrainOptions o = adam(2, "");
    o.state_tag.clear();
    const auto start = [&](Engine& eng) {
        auto net = lenet(9);
        zoo::fold_batchnorm(*net);
        zoo::calibrate(*net, eng, synthetic(), spec, 256);
        net->set_runner(&eng);
        return net;
    };
    const ModelAssignment t6 = ModelAssignment::uniform(1, 5);
    // by hand: the same start, pipeline::finetune keeping the engine's ranges
    Engine ref_eng(lib, EngineOptions{1});
    auto ref = start(ref_eng);
    pipeline::FinetuneData kept = fd;
    kept.calibrate = false;
    pipeline::finetune(*ref, ref_eng, t6, kept, o);
    const double ref_val = zoo::evaluate(*ref, val, spec, 64).accuracy;
    const double ref_test = zoo::evaluate(*ref, fit, spec, 64).accuracy;

    for (const std::size_t budget : {std::size_t{256} << 20, std::size_t{0}}) {
        Engine eng(lib, EngineOptions{1});
        auto net = start(eng);
        std::vector<at::Tensor> before;
        for (const auto& p : net->parameters()) before.push_back(p.detach().clone());
        const nlohmann::json ranges = eng.calibration_json();
        eng.set_assignment(t6);
        const zoo::EvalResult raw = zoo::evaluate(*net, val, spec, 64);
        pipeline::Finetuner ft(*net, eng, fd, o, budget);
        const pipeline::FinetuneOutcome a = ft.run("T6", t6);
        EXPECT_EQ(a.val_after, ref_val) << "budget " << budget;
        EXPECT_EQ(a.history.size(), 2u);
        EXPECT_EQ(a.test_after.total, 0u);
        const auto now = net->parameters();
        for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], now[i])) << "parameter " << i;
        EXPECT_EQ(eng.calibration_json(), ranges);
        eng.set_assignment(t6);
        const zoo::EvalResult again = zoo::evaluate(*net, val, spec, 64);
        EXPECT_EQ(again.correct, raw.correct);
        EXPECT_EQ(again.loss, raw.loss);
        const pipeline::FinetuneOutcome b = ft.run("T6", t6, &fit);
        EXPECT_EQ(b.val_after, ref_val);
        EXPECT_EQ(b.test_after.accuracy, ref_test) << "budget " << budget;
        EXPECT_EQ(b.test_after.total, fit.size());
    }
}

}  // namespace

// Sizing an evaluation split for a threshold (issue 17, section 4): the smallest n whose 95%
// interval (normal approximation, as the run reports its test intervals) is within h.
TEST(Noise, ImagesForAnIntervalAreTheSmallestSplitThatReachesIt) {
    for (const double acc : {50.0, 90.92, 99.5})
        for (const double h : {0.25, 0.5, 1.0, 2.0}) {
            const std::size_t n = pipeline::images_for_ci95(acc, h);
            ASSERT_GT(n, 1u);
            EXPECT_LE(pipeline::ci95(acc, n), h) << acc << " " << h;
            EXPECT_GT(pipeline::ci95(acc, n - 1), h) << acc << " " << h;
        }
    // Closed form: 1.96^2 * 0.25 / 0.01^2 = 9604 images for +-1 point at 50%.
    EXPECT_EQ(pipeline::images_for_ci95(50.0, 1.0), 9604u);
    EXPECT_EQ(pipeline::images_for_ci95(100.0, 1.0), 0u);
    EXPECT_EQ(pipeline::images_for_ci95(90.0, 0.0), 0u);
}

// A drop against the baseline on the same images (the test line of each answer): 30 images
// lost, 10 gained of 10000. Per-image difference: mean 0.002, variance 0.004 - 0.002^2 =
// 0.003996; 95% half-width 196 sqrt(0.003996 / 10000) = 0.12390 points; +-0.25 needs
// 1.96^2 x 0.003996 / 0.0025^2 = 2456.2 -> 2457 images.
TEST(Noise, PairedDropAgainstTheBaselineOnTheSameImages) {
    std::vector<std::uint8_t> base(10000, 1), other(10000, 1);
    for (std::size_t i = 0; i < 30; ++i) other[i] = 0;                 // lost
    for (std::size_t i = 100; i < 110; ++i) base[i] = 0;               // gained
    for (std::size_t i = 200; i < 700; ++i) base[i] = other[i] = 0;  // wrong in both: no difference
    const auto d = pipeline::paired_drop(base, other);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->images, 10000u);
    EXPECT_EQ(d->lost, 30u);
    EXPECT_EQ(d->gained, 10u);
    EXPECT_DOUBLE_EQ(d->points, 0.2);
    EXPECT_NEAR(d->ci95, 0.12390, 5e-5);
    EXPECT_EQ(d->images_for(0.25), 2457u);
    EXPECT_EQ(d->images_for(0.0), 0u);
    // far below the unpaired interval of one accuracy near 95% on the same images
    EXPECT_LT(d->ci95, pipeline::ci95(95.0, 10000) / 3);
    const auto same = pipeline::paired_drop(base, base);
    ASSERT_TRUE(same.has_value());
    EXPECT_EQ(same->points, 0.0);
    EXPECT_EQ(same->ci95, 0.0);
    EXPECT_EQ(same->images_for(0.25), 0u);
    EXPECT_FALSE(pipeline::paired_drop(base, std::vector<std::uint8_t>(9999, 1)).has_value());
    EXPECT_FALSE(pipeline::paired_drop({}, {}).has_value());
}

// The predictor check (issue 17): Spearman's rho over the distinct configurations the
// exhaustive searches evaluated (repeats at other thresholds and other strategies' evaluations
// ignored), against a hand computation: the drop predictor is exactly 90 - accuracy (rho -1),
// the hawx sums rank 4 configurations in a known order, and power is the cost alone.
TEST(PredictorCheck, RanksTheExhaustiveConfigurationsAgainstAccuracy) {
    SearchProblem p;
    p.baseline_accuracy = 90.0;
    p.score_sums = {{{0.0, 1.0, 2.0}}, {{0.0, 0.5, 4.0}}};  // [layer][unit][block]
    const std::vector<std::pair<std::vector<int>, double>> configs = {
        {{0, 0}, 90.0}, {{1, 0}, 89.5}, {{0, 1}, 88.0}, {{2, 2}, 10.0}, {{1, 1}, 85.0}};
    const auto drop_of = [&](const Configuration& c) {
        for (const auto& [blocks, a] : configs)
            if (blocks[0] == c.blocks[0][0] && blocks[1] == c.blocks[1][0]) return 90.0 - a;
        return 1e9;
    };
    p.predict_drop = drop_of;
    pipeline::SearchRuns runs;
    for (const std::string who : {"ex", "ex", "greedy"})
        for (const auto& [blocks, a] : configs) {
            EvaluationRecord r;
            r.configuration.blocks = {{blocks[0]}, {blocks[1]}};
            r.key = std::to_string(blocks[0]) + "," + std::to_string(blocks[1]);
            r.outcome.accuracy = who == "greedy" ? 0.0 : a;  // would spoil every rho if counted
            r.outcome.power_mw = 10.0 - blocks[0] - blocks[1];
            runs.evaluated.emplace_back(who, r);
        }
    const nlohmann::json j = pipeline::check_predictors(p, {"ex"}, runs);
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["configurations"], 5);
    EXPECT_EQ(j["within_3_points"], 3);  // 90, 89.5, 88
    std::map<std::string, std::pair<double, double>> rho;
    for (const auto& r : j["predictors"]) rho[r["predictor"]] = {r["rho_all"], r["rho_within_3_points"]};
    EXPECT_DOUBLE_EQ(rho.at("drop predictor").first, -1.0);
    EXPECT_DOUBLE_EQ(rho.at("drop predictor").second, -1.0);
    // hawx sums 0, 1, 0.5, 6, 1.5 against accuracies 90, 89.5, 88, 10, 85: ranks (1,3,2,5,4)
    // vs (5,4,3,1,2): d^2 = 16+1+1+16+4 = 38, rho = 1 - 6*38/(5*24) = -0.9
    EXPECT_NEAR(rho.at("sum of hawx scores").first, -0.9, 1e-12);
    // within 3 points: sums 0, 1, 0.5 vs 90, 89.5, 88: ranks (1,3,2) vs (3,2,1): rho = -0.5
    EXPECT_NEAR(rho.at("sum of hawx scores").second, -0.5, 1e-12);
    // without exhaustive searches there is nothing to check
    EXPECT_TRUE(pipeline::check_predictors(p, {"none"}, runs).is_null());
}

// The drop predictor's arithmetic: a configuration's drop is the sum of its layers' drops;
// below layer granularity each unit carries its score share; a saturated drop (above the cap)
// is raised to the extrapolation from the layer's most damaging unsaturated block, in
// proportion to the score sums, only when that is larger.
TEST(DropPredictor, SumsSharesAndExtrapolatesSaturatedDrops) {
    // layer 0: blocks EX, A, B, C with drops 0, 1, 30, 80; layer 1: 0, 0.5, 2, 3
    pipeline::DropPredictor p = pipeline::DropPredictor::from_drops({{0, 1, 30, 80}, {0, 0.5, 2, 3}}, 90.0, 100);
    Configuration c;
    c.blocks = {{1}, {2}};
    EXPECT_DOUBLE_EQ(p.drop(c), 1 + 2);
    // two units in layer 0 with shares 0.25 / 0.75 under every block
    Configuration f;
    f.granularity = Granularity::Filter;
    f.blocks = {{3, 1}, {0}};
    const std::vector<std::vector<std::vector<double>>> w = {{{0.25, 0.25, 0.25, 0.25}, {0.75, 0.75, 0.75, 0.75}}, {{1, 1, 1, 1}}};
    EXPECT_DOUBLE_EQ(p.drop(f, w), 0.25 * 80 + 0.75 * 1);
    // cap 22.5: layer 0's reference is A (1 point, score 1): B -> max(30, 10) stays, C -> 100;
    // layer 1 has nothing above the cap
    EXPECT_EQ(p.extrapolate_saturated({{0, 1, 10, 100}, {0, 1, 2, 3}}, 22.5), 1u);
    EXPECT_DOUBLE_EQ(p.layer_drop(0, 2), 30.0);
    EXPECT_DOUBLE_EQ(p.layer_drop(0, 3), 100.0);
    EXPECT_DOUBLE_EQ(p.layer_drop(1, 3), 3.0);
    EXPECT_THROW(p.drop(f), Error);  // units without weights
    // saturated at the collapse; unit_drop is the unsaturated one-unit term, so that the
    // (unsaturated) drop is the sum of unit_drop over the units
    Configuration all;
    all.blocks = {{3}, {3}};
    EXPECT_DOUBLE_EQ(p.drop(all), 100 + 3);
    EXPECT_DOUBLE_EQ(p.drop(all, {}, 80.0), 80.0);
    EXPECT_DOUBLE_EQ(p.drop(c, {}, 80.0), 3.0);
    EXPECT_DOUBLE_EQ(p.unit_drop(0, 0, 3) + p.unit_drop(1, 0, 3), 103.0);
    EXPECT_DOUBLE_EQ(p.unit_drop(0, 0, 3, w) + p.unit_drop(0, 1, 1, w), p.drop(f, w));
}

// Noise handling: negative drops become 0; drops measured at or below 0 become kappa x loss
// increase (never below 0), kappa fitted through the origin on the drops in (0, cap] with a
// positive loss increase; drops measured above 0 stay, even where kappa x loss is larger.
TEST(DropPredictor, FloorsUnmeasuredDropsByLossIncrease) {
    // blocks EX, A, B, C, D
    const std::vector<std::vector<double>> drops = {{0, 1, -0.5, 0, 40}, {0, 2, 0, 0.5, 3}};
    const std::vector<std::vector<double>> losses = {{0, 0.1, 0.02, -0.01, 5}, {0, 0.3, 0.05, 0.05, 0.2}};
    pipeline::DropPredictor p = pipeline::DropPredictor::from_drops(drops, 90.0, 100, losses);
    // fit over (1, 0.1), (2, 0.3), (0.5, 0.05), (3, 0.2); 40 is above the cap 22.5
    const double kappa = (1 * 0.1 + 2 * 0.3 + 0.5 * 0.05 + 3 * 0.2) / (0.01 + 0.09 + 0.0025 + 0.04);
    EXPECT_NEAR(p.floor_by_loss(22.5), kappa, 1e-12);
    EXPECT_NEAR(p.layer_drop(0, 2), kappa * 0.02, 1e-12);  // measured -0.5
    EXPECT_DOUBLE_EQ(p.layer_drop(0, 3), 0.0);              // measured 0, loss fell
    EXPECT_NEAR(p.layer_drop(1, 2), kappa * 0.05, 1e-12);  // measured 0
    EXPECT_DOUBLE_EQ(p.layer_drop(1, 1), 2.0);              // kappa x 0.3 = 2.79 > 2: kept
    EXPECT_DOUBLE_EQ(p.layer_drop(0, 4), 40.0);
    EXPECT_DOUBLE_EQ(p.layer_drop(0, 0), 0.0);
    EXPECT_DOUBLE_EQ(p.measured_drop(0, 2), -0.5);
    EXPECT_DOUBLE_EQ(p.loss_increase(1, 3), 0.05);
    const std::string csv = p.table_csv({"conv1", "fc"}, {"EX", "A", "B", "C", "D"});
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "layer,name,block,measured,loss_increase,used");
    EXPECT_NE(csv.find("1,conv1,B,-0.5000,0.02,"), std::string::npos);
    // without losses only the clamp applies
    pipeline::DropPredictor q = pipeline::DropPredictor::from_drops(drops, 90.0, 100);
    EXPECT_DOUBLE_EQ(q.floor_by_loss(22.5), 0.0);
    EXPECT_DOUBLE_EQ(q.layer_drop(0, 2), 0.0);
    EXPECT_DOUBLE_EQ(q.layer_drop(1, 3), 0.5);
    EXPECT_THROW(pipeline::DropPredictor::from_drops(drops, 90.0, 100, {{0, 1}}), Error);
}

// The free-moves check floors only when the free moves together lost more than the tolerance
// beyond their summed drops (ResNet-18: predicted -1.65, measured 6.40); otherwise the signed
// drops stay (LeNet-5: -0.40 / -0.30).
TEST(DropPredictor, FloorsOnlyWhenTheFreeMovesAreNotAdditive) {
    const std::vector<std::vector<double>> drops = {{0, 1, -0.5}, {0, 2, 0}};
    const std::vector<std::vector<double>> losses = {{0, 0.1, 0.02}, {0, 0.3, 0.05}};
    pipeline::DropPredictor kept = pipeline::DropPredictor::from_drops(drops, 90.0, 100, losses);
    kept.set_free_moves({2, -0.40, -0.30});
    EXPECT_FALSE(kept.check_free_moves(22.5, 1.0));
    EXPECT_DOUBLE_EQ(kept.layer_drop(0, 2), -0.5);
    pipeline::DropPredictor edge = pipeline::DropPredictor::from_drops(drops, 90.0, 100, losses);
    edge.set_free_moves({2, -0.5, 0.5});  // exactly the tolerance: kept
    EXPECT_FALSE(edge.check_free_moves(22.5, 1.0));
    pipeline::DropPredictor floored = pipeline::DropPredictor::from_drops(drops, 90.0, 100, losses);
    floored.set_free_moves({2, -1.65, 6.40});
    const double kappa = (1 * 0.1 + 2 * 0.3) / (0.01 + 0.09);
    EXPECT_NEAR(floored.check_free_moves(22.5, 1.0).value_or(-1), kappa, 1e-12);
    EXPECT_NEAR(floored.layer_drop(0, 2), kappa * 0.02, 1e-12);
    EXPECT_NEAR(floored.layer_drop(1, 2), kappa * 0.05, 1e-12);
    pipeline::DropPredictor none = pipeline::DropPredictor::from_drops(drops, 90.0, 100, losses);
    EXPECT_FALSE(none.check_free_moves(22.5, 1.0));  // no free moves measured
    EXPECT_DOUBLE_EQ(none.layer_drop(0, 2), -0.5);
    // no single drop in (0, cap] to fit on (every move alone free, together a collapse, as on
    // the synthetic LeNet-5 at operation granularity): the free-moves pass calibrates kappa
    const std::vector<std::vector<double>> all_free = {{0, 0, -0.5}, {0, -0.2, 0}};
    pipeline::DropPredictor collapse = pipeline::DropPredictor::from_drops(all_free, 90.0, 100, losses);
    collapse.set_free_moves({2, -0.5, 80.0, 0.02 + 0.05});
    const double k2 = 80.0 / 0.07;
    EXPECT_NEAR(collapse.check_free_moves(22.5, 1.0).value_or(-1), k2, 1e-9);
    EXPECT_NEAR(collapse.layer_drop(0, 1), k2 * 0.1, 1e-9);
    EXPECT_NEAR(collapse.layer_drop(0, 2) + collapse.layer_drop(1, 2), 80.0, 1e-9);  // the free moves sum to what they lost
}
