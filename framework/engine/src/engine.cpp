#include "hawx/engine/engine.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/convolution_backward.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <hawx/sdk/error.hpp>

#include "hawx/framework/text.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <list>
#include <cmath>
#include <cstring>
#include <thread>

namespace hawx::engine {

namespace {
constexpr std::size_t kMaxSamples = std::size_t{1} << 20;

std::string label(const LayerDesc& l) {
    return "layer " + std::to_string(l.index) + (l.name.empty() ? "" : " (" + l.name + ")");
}
}  // namespace

struct Engine::LayerState {
    LayerDesc desc;
    // calibration
    double lo = INFINITY, hi = -INFINITY;
    std::vector<float> samples;
    std::int64_t seen = 0;
    ActQuant act_signed, act_unsigned;
    // weights
    const void* weight_impl = nullptr;
    std::uint32_t weight_version = 0;
    at::Tensor weight_copy;  // Train mode: the weights the quantization was made from
    std::optional<WeightQuant> wq_signed, wq_unsigned;
    // kernels of the most recently used assignments, most recent first (a sweep alternates
    // a layer between a few blocks; rebuilding its kernel each time dominated the sweep)
    std::list<std::pair<LayerAssignment, std::unique_ptr<LayerKernel>>> kernels;
    LayerTiming timing;
    // The codes of the last input quantized, with that input (held, so its storage cannot be
    // recycled for another tensor): a sweep feeds the same stage output to a layer under each
    // of its blocks, and quantizing it again was a fifth of the time.
    at::Tensor codes_of, codes;
    float codes_scale = 0;
    std::int32_t codes_zero = 0;
};

ModelAssignment ModelAssignment::uniform(int block, std::size_t layers) {
    ModelAssignment m;
    m.layers.assign(layers, LayerAssignment{Granularity::Layer, {block}});
    return m;
}

Engine::Engine(BlockLibrary library, EngineOptions options) : library_(std::move(library)), options_(options) {
    if (options_.threads <= 0) options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // LibTorch defaults to one thread here; TBB gets the same number so the two never
    // oversubscribe (they run one after the other, never nested).
    at::set_num_threads(options_.threads);
    tbb_threads_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                         static_cast<std::size_t>(options_.threads));
    for (std::size_t i = 0; i < library_.size(); ++i)
        if (!library_[i]) throw Error("engine: block library entry " + std::to_string(i) + " is empty");
}

Engine::~Engine() = default;

Engine::LayerState& Engine::state(const LayerDesc& layer) {
    if (layer.index < 1) throw Error(label(layer) + ": layer index must be >= 1");
    const auto i = static_cast<std::size_t>(layer.index - 1);
    if (states_.size() <= i) {
        states_.resize(i + 1);
        layers_.resize(i + 1);
    }
    if (!states_[i]) {
        states_[i] = std::make_unique<LayerState>();
        states_[i]->desc = layer;
        layers_[i] = layer;
    }
    return *states_[i];
}

void Engine::set_mode(Mode m) {
    if (mode_ == Mode::Train && m != Mode::Train)
        for (auto& st : states_)
            if (st) st->weight_impl = nullptr, st->weight_copy = at::Tensor();
    mode_ = m;
}

void Engine::begin_calibration() {
    set_mode(Mode::Calibrate);
    for (auto& s : states_)
        if (s) s->lo = INFINITY, s->hi = -INFINITY, s->samples.clear(), s->seen = 0;
    calibrated_ = false;
    mode_ = Mode::Calibrate;
}

void Engine::finish_calibration() {
    bool any = false;
    for (auto& s : states_) {
        if (!s) continue;
        if (s->seen == 0) throw Error("calibration: " + label(s->desc) + " saw no input");
        any = true;
        float lo = static_cast<float>(s->lo), hi = static_cast<float>(s->hi);
        if (options_.calibration == CalibrationMethod::Percentile && !s->samples.empty()) {
            std::vector<float> v = s->samples;
            const auto at_q = [&](double q) {
                const auto k = static_cast<std::size_t>(std::llround(q / 100.0 * static_cast<double>(v.size() - 1)));
                std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
                return v[k];
            };
            lo = at_q(100.0 - options_.percentile);
            hi = at_q(options_.percentile);
        }
        s->act_signed = make_act_quant(true, lo, hi);
        s->act_unsigned = make_act_quant(false, lo, hi);
    }
    if (!any) throw Error("calibration: no approximable layer was run");
    for (auto& s : states_)
        if (s) s->kernels.clear();  // kernels depend on the activation range
    calibrated_ = true;
    mode_ = Mode::Quantized;
}

nlohmann::json Engine::calibration_json() const {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : states_) {
        if (!s) continue;
        j.push_back({{"layer", s->desc.index}, {"name", s->desc.name}, {"min", s->lo}, {"max", s->hi},
                     {"signed_scale", s->act_signed.scale},
                     {"unsigned_scale", s->act_unsigned.scale}, {"unsigned_zero", s->act_unsigned.zero}});
    }
    return j;
}

void Engine::load_calibration(const nlohmann::json& j) {
    for (const auto& e : j) {
        LayerDesc d;
        d.index = e.at("layer").get<int>();
        d.name = e.value("name", "");
        LayerState& s = state(d);
        s.lo = e.at("min").get<double>();
        s.hi = e.at("max").get<double>();
        s.seen = 1;
        s.act_signed = make_act_quant(true, static_cast<float>(s.lo), static_cast<float>(s.hi));
        s.act_unsigned = make_act_quant(false, static_cast<float>(s.lo), static_cast<float>(s.hi));
        s.kernels.clear();
    }
    calibrated_ = true;
}

void Engine::set_assignment(ModelAssignment a) {
    for (const auto& l : a.layers)
        for (int b : l.units)
            if (b < 0 || static_cast<std::size_t>(b) >= library_.size())
                throw Error("assignment: block index " + std::to_string(b) + " outside the library of " +
                            std::to_string(library_.size()) + " blocks");
    assignment_ = std::move(a);
}

const ActQuant& Engine::act_quant(int index, bool is_signed) const {
    if (!calibrated_) throw Error("engine: quantized inference needs calibration first");
    const auto i = static_cast<std::size_t>(index - 1);
    if (index < 1 || i >= states_.size() || !states_[i] || states_[i]->seen == 0)
        throw Error("engine: layer " + std::to_string(index) + " was not calibrated");
    return is_signed ? states_[i]->act_signed : states_[i]->act_unsigned;
}

const WeightQuant& Engine::weight_quant(const LayerDesc& layer, const at::Tensor& weight, bool is_signed) {
    LayerState& s = state(layer);
    const void* impl = weight.unsafeGetTensorImpl();
    const std::uint32_t version = weight.is_inference() ? 0 : weight._version();
    // Optimizers step the weights in place without bumping their version (LibTorch's SGD
    // and Adam write through .data()), so while training the bytes decide.
    const bool moved = mode_ == Mode::Train && !(s.weight_copy.defined() && s.weight_copy.equal(weight.detach()));
    if (moved) s.weight_copy = weight.detach().clone();
    if (s.weight_impl != impl || s.weight_version != version || moved) {
        s.wq_signed.reset();
        s.wq_unsigned.reset();
        s.kernels.clear();
        s.weight_impl = impl;
        s.weight_version = version;
    }
    auto& slot = is_signed ? s.wq_signed : s.wq_unsigned;
    if (!slot) slot = quantize_weights(weight, is_signed, label(layer).c_str());
    return *slot;
}

std::vector<LayerTiming> Engine::layer_timings() const {
    std::vector<LayerTiming> out;
    for (const auto& st : states_) out.push_back(st ? st->timing : LayerTiming{});
    return out;
}

void Engine::reset_timings() {
    for (auto& st : states_)
        if (st) st->timing = LayerTiming{};
}

std::string Engine::describe_layer(int index) const {
    const auto i = static_cast<std::size_t>(index - 1);
    if (index < 1 || i >= states_.size() || !states_[i] || states_[i]->kernels.empty()) return "";
    return states_[i]->kernels.front().second->describe();
}

at::Tensor dequantize(const at::Tensor& acc, const ActQuant& aq, const WeightQuant& wq, const at::Tensor& bias) {
    const std::int64_t F = static_cast<std::int64_t>(wq.scale.size());
    std::vector<float> sc(static_cast<std::size_t>(F));
    for (std::int64_t f = 0; f < F; ++f) sc[static_cast<std::size_t>(f)] = aq.scale * wq.scale[static_cast<std::size_t>(f)];
    at::Tensor scale = at::from_blob(sc.data(), {F}, at::kFloat).clone().to(acc.device());
    std::vector<std::int64_t> shape(static_cast<std::size_t>(acc.dim()), 1);
    shape[1] = F;
    scale = scale.view(shape);
    // A float32 accumulator holds an integer below 2^24 and the scale is a float32, so the
    // float32 product rounds the exact product once, exactly as the float64 route does.
    at::Tensor y = acc.scalar_type() == at::kFloat ? acc * scale : (acc * scale.to(at::kDouble)).to(at::kFloat);
    if (bias.defined()) y.add_(bias.detach().to(at::kFloat).view(shape));
    return y;
}

const at::Tensor& Engine::codes_for(LayerState& s, const at::Tensor& x, const ActQuant& aq, const LayerDesc& layer) {
    const bool same = s.codes.defined() && !x.is_inference() && !s.codes_of.is_inference() &&
                      x.storage().unsafeGetStorageImpl() == s.codes_of.storage().unsafeGetStorageImpl() &&
                      x.storage_offset() == s.codes_of.storage_offset() && x.sizes() == s.codes_of.sizes() &&
                      x.strides() == s.codes_of.strides() && x._version() == s.codes_of._version() &&
                      x.scalar_type() == s.codes_of.scalar_type() && aq.scale == s.codes_scale && aq.zero == s.codes_zero;
    if (!same) {
        s.codes = quantize_codes(x, aq, label(layer).c_str());
        s.codes_of = x;
        s.codes_scale = aq.scale;
        s.codes_zero = aq.zero;
    }
    return s.codes;
}

at::Tensor Engine::quantized_forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                                     const at::Tensor& bias) {
    LayerState& s = state(layer);
    const auto li = static_cast<std::size_t>(layer.index - 1);
    if (li >= assignment_.layers.size())
        throw Error("assignment: no block choice for " + label(layer) + " (the assignment covers " +
                    std::to_string(assignment_.layers.size()) + " layers)");
    const LayerAssignment& a = assignment_.layers[li];
    validate_assignment(layer, library_, a);
    const bool is_signed = library_[static_cast<std::size_t>(a.units.front())]->is_signed;
    const ActQuant& aq = act_quant(layer.index, is_signed);
    const WeightQuant& wq = weight_quant(layer, weight, is_signed);
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    auto hit = std::find_if(s.kernels.begin(), s.kernels.end(), [&](const auto& k) { return k.first == a; });
    if (hit == s.kernels.end()) {
        ++s.timing.builds;
        s.kernels.emplace_front(a, std::make_unique<LayerKernel>(
                                       layer, wq, aq.zero, library_, a,
                                       options_.path == KernelPath::Reference ? KernelPath::Gather : options_.path,
                                       std::array<std::int32_t, 2>{aq.qmin, aq.qmax}, options_.auto_tree(layer.index)));
        // Large layers keep fewer kernels: a gather kernel holds a table column per weight.
        const std::size_t cap = layer.fan_in() * layer.out_channels > (std::int64_t{1} << 20)
                                    ? std::min<std::size_t>(2, options_.kernels_per_layer)
                                    : options_.kernels_per_layer;
        while (s.kernels.size() > std::max<std::size_t>(1, cap)) s.kernels.pop_back();
    } else if (hit != s.kernels.begin()) {
        s.kernels.splice(s.kernels.begin(), s.kernels, hit);
    }
    const LayerKernel& kernel = *s.kernels.front().second;
    s.timing.setup_s += seconds_since(t0);
    t0 = clock::now();
    const at::Tensor x = layer.linear ? input.reshape({input.size(0), -1}) : input;
    at::Tensor acc;
    if (options_.path == KernelPath::Reference)
        acc = reference_accumulate(layer, wq, aq.zero, library_, a, quantize_codes(x.detach(), aq, label(layer).c_str()))
                  .to(at::kDouble);
    else
        acc = kernel.accumulate_quantized(codes_for(s, x.detach(), aq, layer));
    s.timing.accumulate_s += seconds_since(t0);
    t0 = clock::now();
    at::Tensor y = dequantize(acc, aq, wq, bias);
    s.timing.dequantize_s += seconds_since(t0);
    ++s.timing.calls;
    s.timing.images += x.size(0);
    return y;
}

const SlopeFactors& Engine::slope_factors(int block) {
    auto it = slopes_.find(block);
    if (it == slopes_.end())
        it = slopes_.emplace(block, factor_slopes(*library_.at(static_cast<std::size_t>(block)), options_.slope_rank)).first;
    return it->second;
}

namespace {

// Items per parallel task for loops of `per_item` elements each: small layers run inline,
// where waking the other thread cost more than the work (LeNet-5's layers).
std::int64_t grain_for(std::int64_t per_item) { return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, per_item)); }

// out[(j*S + t)*inner + i] = tables[t*256 + codes[j*inner + i]] for j < rows, t < S, i < inner:
// every slot t of an operand's codes in one pass, laid out as the stacked backward's channels.
void lookup_slots(const std::uint8_t* codes, const float* tables, std::int64_t rows, std::int64_t S,
                  std::int64_t inner, float* out) {
    // Whole rows per task: no index arithmetic per element (a first layer has 1-3 channels,
    // where dividing per element cost more than the lookups).
    at::parallel_for(0, rows, grain_for(S * inner),
                     [&](std::int64_t b, std::int64_t e) {
                         for (std::int64_t j = b; j < e; ++j) {
                             const std::uint8_t* __restrict c = codes + j * inner;
                             for (std::int64_t t = 0; t < S; ++t) {
                                 const float* __restrict tab = tables + t * 256;
                                 float* __restrict o = out + (j * S + t) * inner;
                                 for (std::int64_t i = 0; i < inner; ++i) o[i] = tab[c[i]];
                             }
                         }
                     });
}

// Where `codes` (n bytes) holds one of the ends' codes, in increasing order: memchr finds the
// rare end codes at memory speed.
std::vector<std::int64_t> positions_of(const std::uint8_t* codes, std::int64_t n, const std::vector<SlopeEnd>& ends) {
    std::vector<std::int64_t> out;
    for (const SlopeEnd& e : ends) {
        const std::uint8_t* p = codes;
        const std::uint8_t* const stop = codes + n;
        while (p < stop) {
            const void* hit = std::memchr(p, static_cast<int>(e.code), static_cast<std::size_t>(stop - p));
            if (hit == nullptr) break;
            const auto* h = static_cast<const std::uint8_t*>(hit);
            out.push_back(h - codes);
            p = h + 1;
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

const std::vector<float>& end_row(const std::vector<SlopeEnd>& ends, std::uint32_t code) {
    for (const SlopeEnd& e : ends)
        if (e.code == code) return e.row;
    throw Error("slope end row: no row for code " + std::to_string(code));
}

// The backward pass of one approximate layer in Train mode. The gradient through each product
// is a rank-one sum of the block's slope factors (straight-through: the product's own, p = 1,
// q = w, r = a, s = 1), computed as ONE backward convolution over stacked operands: slot t
// holds one term (activation side r_t(a) * s_a, weight side q_t(w) * s_w, masked to the
// block's weights); each slot's gradient is then weighted by its other factor (p_t(a),
// s_t(w)) and summed. Zero points and padding enter as cheap corrections:
//   d/dw: sum over positions of g * s_a * (sum_t r_t(a) s_t(w) - z_a), where padding holds
//         the zero code zc: the stacked input holds r_t(a) - r_t(zc) (zero in the padding,
//         as the convolution pads) and r_t(zc) s_t(w) - z_a multiplies the sum of g;
//   d/dx: sum over filters of g * s_w * (sum_t p_t(a) q_t(w) - z_w): the z_w part is one
//         transposed convolution of a one-channel-per-group kernel of ones; the activation
//         quantizer passes the gradient where it does not clip.
// Convolutions run channels last (oneDNN's native layout; in a Python microbenchmark of
// VGG-11's stacked layers channels-first float32 was up to 2.5x slower, in finetune_bench
// the two were within noise).
struct TrainBackward : public torch::autograd::Node {
    LayerDesc layer;
    bool has_bias = false;
    at::Tensor x;               // the layer input (float, contiguous); the quantizer passes
    float pass_lo = 0, pass_hi = 0;  // the gradient where lo <= x <= hi (it does not clip)
    at::Tensor codes, w_codes;  // activation codes (input layout), weight codes
    at::Tensor w_scale, w_zero; // per filter, shaped to broadcast over the weight
    float act_scale = 1;
    std::int32_t act_zero = 0;  // value-domain zero point
    std::uint32_t zero_code = 0;  // its code (what padding holds)
    bool any_weight_zero = false;
    struct Slope {
        const SlopeSides* factors;  // the whole table's, or its interior's with end rows
        at::Tensor mask;  // undefined: every weight of the layer
    };
    std::vector<Slope> slopes;

    std::string name() const override { return "hawx::engine::TrainBackward"; }

    // d(sum g * layer(x, w)) w.r.t. x and w.
    std::pair<at::Tensor, at::Tensor> layer_backward(const at::Tensor& g, const at::Tensor& x, const at::Tensor& w,
                                                     bool want_x, bool want_w, std::int64_t groups) const {
        if (layer.linear) return {want_x ? g.mm(w) : at::Tensor(), want_w ? g.t().mm(x) : at::Tensor()};
        auto r = at::convolution_backward(g, x, w, c10::nullopt, layer.stride, layer.padding, layer.dilation, false,
                                          {0, 0}, groups, {want_x, want_w, false});
        return {std::get<0>(r), std::get<1>(r)};
    }

    // The slope rows kept outside the factors (SlopeSides::ends_a / ends_w), added product by
    // product where an operand holds an end code: activations at the clip of their range (only
    // where the quantizer passes the gradient), weights at a filter's extreme codes. Both are
    // rare, so each costs a sum over one position's filters or one weight's positions.
    void add_end_rows(const at::Tensor& g, const at::Tensor& g_first, at::Tensor* gx_cl, at::Tensor* gw) const {
        const bool conv = !layer.linear;
        const std::int64_t N = codes.size(0), C = codes.size(1), F = w_codes.size(0), w_inner = w_codes.numel() / F;
        const std::int64_t H = conv ? codes.size(2) : 1, W = conv ? codes.size(3) : 1;
        const std::int64_t OH = conv ? g.size(2) : 1, OW = conv ? g.size(3) : 1;
        const std::int64_t G = conv ? layer.groups : 1, Cg = C / G, Fg = F / G;
        const std::int64_t kh = conv ? layer.kernel[0] : 1, kw = conv ? layer.kernel[1] : 1;
        const std::int64_t sh = conv ? layer.stride[0] : 1, sw = conv ? layer.stride[1] : 1;
        const std::int64_t ph = conv ? layer.padding[0] : 0, pw = conv ? layer.padding[1] : 0;
        const std::int64_t dh = conv ? layer.dilation[0] : 1, dw = conv ? layer.dilation[1] : 1;
        const float* gp = g.data_ptr<float>();  // [N, OH, OW, F] (channels last) or [N, F]
        const float* gf = g_first.data_ptr<float>();  // [N, F, OH, OW] or [N, F]
        const std::uint8_t* cp = codes.data_ptr<std::uint8_t>();  // [N, C, H, W]
        const std::uint8_t* wcp = w_codes.data_ptr<std::uint8_t>();
        const float* xv = x.data_ptr<float>();
        const float* ws = w_scale.data_ptr<float>();
        for (const Slope& s : slopes) {
            const SlopeSides& f = *s.factors;
            if (f.ends_a.empty() && f.ends_w.empty()) continue;
            const at::Tensor mk = s.mask.defined() ? s.mask.contiguous() : at::Tensor();
            const float* mp = mk.defined() ? mk.data_ptr<float>() : nullptr;
            const bool per_filter = mk.defined() && mk.numel() == F;
            const auto mask_at = [&](std::int64_t fi, std::int64_t k) {
                return !mp ? 1.0f : per_filter ? mp[fi] : mp[fi * w_inner + k];
            };
            if (gx_cl != nullptr && !f.ends_a.empty()) {
                float* out = gx_cl->data_ptr<float>();  // [N, H, W, C]
                const std::vector<std::int64_t> hits = positions_of(cp, N * C * H * W, f.ends_a);
                at::parallel_for(0, static_cast<std::int64_t>(hits.size()), 64, [&](std::int64_t hb, std::int64_t he) {
                    for (std::int64_t h = hb; h < he; ++h) {
                        const std::int64_t at_in = hits[static_cast<std::size_t>(h)];
                        if (!(xv[at_in] >= pass_lo && xv[at_in] <= pass_hi)) continue;
                        const std::vector<float>& row = end_row(f.ends_a, cp[at_in]);
                        const std::int64_t xx = at_in % W, y = (at_in / W) % H, c = (at_in / (W * H)) % C, n = at_in / (W * H * C);
                        const std::int64_t grp = c / Cg, cg = c % Cg;
                        double sum = 0;
                        for (std::int64_t i = 0; i < kh; ++i) {
                            const std::int64_t ty = y + ph - i * dh;
                            if (ty < 0 || ty % sh != 0 || ty / sh >= OH) continue;
                            for (std::int64_t j = 0; j < kw; ++j) {
                                const std::int64_t tx = xx + pw - j * dw;
                                if (tx < 0 || tx % sw != 0 || tx / sw >= OW) continue;
                                const float* go = gp + ((n * OH + ty / sh) * OW + tx / sw) * F;
                                const std::int64_t k = (cg * kh + i) * kw + j;
                                for (std::int64_t fi = grp * Fg; fi < (grp + 1) * Fg; ++fi)
                                    sum += static_cast<double>(go[fi]) * ws[fi] * mask_at(fi, k) * row[wcp[fi * w_inner + k]];
                            }
                        }
                        out[((n * H + y) * W + xx) * C + c] += static_cast<float>(sum);
                    }
                });
            }
            if (gw != nullptr && !f.ends_w.empty()) {
                float* out = gw->data_ptr<float>();  // [F, w_inner]
                const std::vector<std::int64_t> hits = positions_of(wcp, F * w_inner, f.ends_w);
                at::parallel_for(0, static_cast<std::int64_t>(hits.size()), 1, [&](std::int64_t hb, std::int64_t he) {
                    for (std::int64_t h = hb; h < he; ++h) {
                        const std::int64_t at_w = hits[static_cast<std::size_t>(h)];
                        const std::int64_t fi = at_w / w_inner, k = at_w % w_inner;
                        const float m = mask_at(fi, k);
                        if (m == 0.0f) continue;
                        const std::vector<float>& row = end_row(f.ends_w, wcp[at_w]);
                        const std::int64_t c = (fi / Fg) * Cg + k / (kh * kw), i = (k / kw) % kh, j = k % kw;
                        // The output columns whose input column lies inside the image.
                        const auto floor_div = [](std::int64_t p, std::int64_t q) { return p >= 0 ? p / q : -((-p + q - 1) / q); };
                        const std::int64_t ox0 = std::clamp<std::int64_t>(-floor_div(j * dw - pw, sw), 0, OW);
                        const std::int64_t ox1 = std::clamp<std::int64_t>(floor_div(W - 1 + pw - j * dw, sw) + 1, ox0, OW);
                        const float pad = row[zero_code];
                        double sum = 0;
                        for (std::int64_t n = 0; n < N; ++n)
                            for (std::int64_t oy = 0; oy < OH; ++oy) {
                                const std::int64_t y = oy * sh - ph + i * dh;
                                const float* __restrict gr = gf + ((n * F + fi) * OH + oy) * OW;
                                float acc = 0;
                                if (y < 0 || y >= H) {
                                    for (std::int64_t ox = 0; ox < OW; ++ox) acc += gr[ox] * pad;
                                } else {
                                    const std::uint8_t* __restrict ar = cp + ((n * C + c) * H + y) * W - pw + j * dw;
                                    for (std::int64_t ox = 0; ox < ox0; ++ox) acc += gr[ox] * pad;
                                    for (std::int64_t ox = ox0; ox < ox1; ++ox) acc += gr[ox] * row[ar[ox * sw]];
                                    for (std::int64_t ox = ox1; ox < OW; ++ox) acc += gr[ox] * pad;
                                }
                                sum += acc;
                            }
                        out[at_w] += static_cast<float>(sum * act_scale * m);
                    }
                });
            }
        }
    }

    torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
        const bool want_x = should_compute_output(0), want_w = should_compute_output(1);
        const bool conv = !layer.linear;
        const auto cl = at::MemoryFormat::ChannelsLast;
        const at::Tensor g = conv ? grads[0].contiguous(cl) : grads[0].contiguous();
        // Slot tables: per slot t, the activation side's stacked input (r_t(a) - r_t(zc)) * s_a
        // and gx weight p_t(a); the weight side's tables q_t(w) (stacked weight, times the
        // filter's scale) and s_t(w) (gw weight), each masked to the slot's block's weights.
        struct Slot {
            const float* q = nullptr;  // nullptr: zero (no activation-side term in this slot)
            const float* s = nullptr;  // nullptr: zero (no weight-side term)
            bool s_ones = false;       // s_t = 1 everywhere and no mask
            float rz = 0;              // r_t(zc)
            const float* mask = nullptr;
            bool mask_per_filter = false;
        };
        std::vector<float> act_in, act_out;
        std::vector<Slot> slot;
        std::vector<at::Tensor> masks;  // keep the contiguous masks alive
        const std::uint8_t* wcp = w_codes.data_ptr<std::uint8_t>();
        const std::int64_t F = w_codes.size(0), w_inner = w_codes.numel() / F;
        for (const Slope& s : slopes) {
            const SlopeSides& f = *s.factors;
            const float* mask = nullptr;
            if (s.mask.defined()) {
                masks.push_back(s.mask.contiguous());
                mask = masks.back().data_ptr<float>();
            }
            for (std::int64_t r = 0; r < f.terms(); ++r) {
                const bool ra = r < f.rank_a(), rw = r < f.rank_w();
                const float* rt = rw ? f.r.data_ptr<float>() + r * 256 : nullptr;
                const float* pt = ra ? f.p.data_ptr<float>() + r * 256 : nullptr;
                Slot sl;
                sl.rz = rt ? rt[zero_code] : 0.0f;
                for (int c = 0; c < 256; ++c) {
                    act_in.push_back(rt ? (rt[c] - sl.rz) * act_scale : 0.0f);
                    act_out.push_back(pt ? pt[c] : 0.0f);
                }
                sl.q = ra ? f.q.data_ptr<float>() + r * 256 : nullptr;
                sl.s = rw ? f.s.data_ptr<float>() + r * 256 : nullptr;
                sl.s_ones = sl.s && !mask && std::all_of(sl.s, sl.s + 256, [](float v) { return v == 1.0f; });
                sl.mask = mask;
                sl.mask_per_filter = mask && s.mask.numel() == F;
                slot.push_back(sl);
            }
        }
        const auto mask_of = [&](const Slot& sl, std::int64_t f, std::int64_t k) {
            return !sl.mask ? 1.0f : sl.mask_per_filter ? sl.mask[f] : sl.mask[f * w_inner + k];
        };
        const std::int64_t N = codes.size(0), C = codes.size(1);
        const std::int64_t G = conv ? layer.groups : 1, Cg = C / G;
        const std::int64_t S = static_cast<std::int64_t>(slot.size());
        const std::int64_t khw = conv ? layer.kernel[0] * layer.kernel[1] : 1;
        // Channels last, the stacked channels of a position are [G, S, C/G]: rows of C/G.
        const at::Tensor codes_cl = conv ? codes.permute({0, 2, 3, 1}).contiguous() : codes;
        const std::int64_t rows = codes.numel() / Cg;
        const std::uint8_t* cp = codes_cl.data_ptr<std::uint8_t>();
        // Per filter: the sum of g (bias gradient; the constant parts r_t(zc) s_t(w) - z_a of
        // the weight gradient multiply it).
        at::Tensor gsum;
        if (want_w || (has_bias && should_compute_output(2)))
            gsum = (conv ? g.sum(at::IntArrayRef{0, 2, 3}) : g.sum(0)).contiguous();
        at::Tensor gx_cl, gw;
        if (want_x) gx_cl = at::zeros({rows, Cg}, at::kFloat);
        {
            // The stacked weights [F, S * C/G, kh, kw], written in the layout the convolution
            // reads (channels last: [F, kh, kw, S * C/G]) straight from the codes.
            std::vector<std::int64_t> w_shape = w_codes.sizes().vec();
            w_shape[1] *= S;
            const at::Tensor ws = conv ? at::empty(w_shape, at::TensorOptions(at::kFloat).memory_format(cl))
                                       : at::empty(w_shape, at::kFloat);
            {
                // In the order of the stacked tensor's memory: filter, kernel position, slot,
                // channel (a filter's codes stay in L1 while read across).
                float* wo = ws.data_ptr<float>();
                const float* sc = w_scale.data_ptr<float>();
                at::parallel_for(0, F, grain_for(S * w_inner), [&](std::int64_t b, std::int64_t e) {
                    for (std::int64_t f = b; f < e; ++f) {
                        const std::uint8_t* __restrict wr = wcp + f * w_inner;
                        for (std::int64_t ij = 0; ij < khw; ++ij)
                            for (std::int64_t t = 0; t < S; ++t) {
                                const Slot& sl = slot[static_cast<std::size_t>(t)];
                                float* __restrict o = wo + f * S * w_inner + (ij * S + t) * Cg;
                                if (!sl.q) {
                                    std::fill(o, o + Cg, 0.0f);
                                    continue;
                                }
                                const float* __restrict q = sl.q;
                                const float m = sc[f] * (sl.mask_per_filter ? sl.mask[f] : 1.0f);
                                if (sl.mask && !sl.mask_per_filter) {
                                    const float* __restrict mr = sl.mask + f * w_inner;
                                    for (std::int64_t c = 0; c < Cg; ++c) o[c] = q[wr[c * khw + ij]] * m * mr[c * khw + ij];
                                } else {
                                    for (std::int64_t c = 0; c < Cg; ++c) o[c] = q[wr[c * khw + ij]] * m;
                                }
                            }
                    }
                });
            }
            at::Tensor xs;  // [N, G*S*C/G, H, W] over channels-last memory
            if (want_w) {
                at::Tensor buf = at::empty({rows * S * Cg}, at::kFloat);
                lookup_slots(cp, act_in.data(), rows, S, Cg, buf.data_ptr<float>());
                xs = conv ? buf.view({N, codes.size(2), codes.size(3), C * S}).permute({0, 3, 1, 2}) : buf.view({N, C * S});
            } else {
                std::vector<std::int64_t> x_shape = codes.sizes().vec();
                x_shape[1] *= S;
                xs = conv ? at::empty(x_shape, at::TensorOptions(at::kFloat).memory_format(cl)) : at::empty(x_shape, at::kFloat);
            }
            auto [gxs, gws] = layer_backward(g, xs, ws, want_x, want_w, G);
            if (want_x) {
                // Back to [rows, S, C/G] floats; then each slot weighted by p_t(a) and summed.
                const at::Tensor gxc = (conv ? gxs.permute({0, 2, 3, 1}) : gxs).contiguous();
                const float* gp = gxc.data_ptr<float>();
                float* op = gx_cl.data_ptr<float>();
                const float* tabs = act_out.data();
                at::parallel_for(0, rows, grain_for(S * Cg), [&](std::int64_t b, std::int64_t e) {
                    for (std::int64_t j = b; j < e; ++j) {
                        const std::uint8_t* __restrict c = cp + j * Cg;
                        float* __restrict o = op + j * Cg;
                        const float* __restrict g0 = gp + j * S * Cg;
                        for (std::int64_t t = 0; t < S; ++t) {
                            const float* __restrict gt = g0 + t * Cg;
                            const float* __restrict tab = tabs + t * 256;
                            for (std::int64_t i = 0; i < Cg; ++i) o[i] += tab[c[i]] * gt[i];
                        }
                    }
                });
            }
            if (want_w) {
                // gw = sum_t s_t(w) (slot t's gradient + s_a sum(g) r_t(zc)) - s_a sum(g) z_a, read
                // from the convolution's weight gradient in whatever layout it came.
                gw = at::empty({F, w_inner}, at::kFloat);
                float* out = gw.data_ptr<float>();
                const float* gv = gws.data_ptr<float>();
                const std::int64_t st0 = gws.stride(0), st1 = gws.stride(1);
                const std::int64_t st2 = conv ? gws.stride(2) : 0, st3 = conv ? gws.stride(3) : 0;
                const std::int64_t kwid = conv ? layer.kernel[1] : 1;
                const float* gs = gsum.data_ptr<float>();
                const float za = static_cast<float>(act_zero);
                at::parallel_for(0, F, grain_for(S * w_inner), [&](std::int64_t b, std::int64_t e) {
                    for (std::int64_t f = b; f < e; ++f) {
                        const float base = act_scale * gs[f];
                        const std::uint8_t* __restrict wr = wcp + f * w_inner;
                        float* __restrict o = out + f * w_inner;
                        std::fill(o, o + w_inner, -base * za);
                        for (std::int64_t ij = 0; ij < khw; ++ij)
                            for (std::int64_t t = 0; t < S; ++t) {
                                const Slot& sl = slot[static_cast<std::size_t>(t)];
                                if (!sl.s) continue;
                                const float* __restrict v = gv + f * st0 + t * Cg * st1 + (ij / kwid) * st2 + (ij % kwid) * st3;
                                const float shift = base * sl.rz;
                                const float* __restrict st = sl.s;
                                const float mf = sl.mask_per_filter ? sl.mask[f] : 1.0f;
                                const float* __restrict mr = sl.mask && !sl.mask_per_filter ? sl.mask + f * w_inner : nullptr;
                                for (std::int64_t c = 0; c < Cg; ++c) {
                                    const std::int64_t k = c * khw + ij;
                                    const float wo = sl.s_ones ? 1.0f : st[wr[k]] * mf * (mr ? mr[k] : 1.0f);
                                    o[k] += wo * (v[c * st1] + shift);
                                }
                            }
                    }
                });
            }
        }
        add_end_rows(g, grads[0].contiguous(), want_x ? &gx_cl : nullptr, want_w ? &gw : nullptr);
        at::Tensor gx;
        if (want_x) {
            // The weight zero points' part, one value per group and position.
            at::Tensor z;
            if (any_weight_zero) {
                const at::Tensor gz = g * (-w_zero * w_scale).view(conv ? std::vector<std::int64_t>{1, F, 1, 1} : std::vector<std::int64_t>{1, F});
                if (!conv) {
                    z = gz.sum(1).contiguous();
                } else {
                    const at::Tensor per_group = gz.view({N, G, F / G, gz.size(2), gz.size(3)}).sum(2);
                    const at::Tensor ones = at::ones({G, 1, layer.kernel[0], layer.kernel[1]}, at::kFloat);
                    const at::Tensor shape = at::empty({N, G, codes.size(2), codes.size(3)}, at::kFloat);
                    z = std::get<0>(at::convolution_backward(per_group.contiguous(), shape, ones, c10::nullopt, layer.stride,
                                                             layer.padding, layer.dilation, false, {0, 0}, G,
                                                             {true, false, false}))
                            .contiguous();
                }
            }
            // Channels first again, plus the zero-point part, where the quantizer passes it.
            gx = at::empty(codes.sizes(), at::kFloat);
            const std::int64_t HW = conv ? codes.size(2) * codes.size(3) : 1;
            const float* src = gx_cl.data_ptr<float>();
            const float* xv = x.data_ptr<float>();
            const float* zv = z.defined() ? z.data_ptr<float>() : nullptr;
            float* out = gx.data_ptr<float>();
            const float lo = pass_lo, hi = pass_hi;
            at::parallel_for(0, N, grain_for(C * HW), [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t n = b; n < e; ++n)
                    for (std::int64_t c = 0; c < C; ++c) {
                        const float* __restrict xr = xv + (n * C + c) * HW;
                        float* __restrict o = out + (n * C + c) * HW;
                        const float* __restrict zr = zv ? zv + (n * G + c / Cg) * HW : nullptr;
                        for (std::int64_t p = 0; p < HW; ++p) {
                            const float v = src[(n * HW + p) * C + c] + (zr ? zr[p] : 0.0f);
                            o[p] = xr[p] >= lo && xr[p] <= hi ? v : 0.0f;
                        }
                    }
            });
        }
        if (want_w) gw = gw.view(w_codes.sizes());
        at::Tensor gb;
        if (has_bias && should_compute_output(2)) gb = gsum;
        return {gx, gw, gb};
    }
};

}  // namespace

at::Tensor Engine::train_forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                                 const at::Tensor& bias) {
    at::Tensor yq;
    {
        at::NoGradGuard no_grad;
        yq = quantized_forward(layer, input, weight, bias);
    }
    const at::Tensor x = layer.linear ? input.reshape({input.size(0), -1}) : input;
    const bool needs = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                                      (bias.defined() && bias.requires_grad()));
    if (!needs) return yq;
    LayerState& s = state(layer);
    const LayerAssignment& a = assignment_.layers[static_cast<std::size_t>(layer.index - 1)];
    const bool is_signed = library_[static_cast<std::size_t>(a.units.front())]->is_signed;
    const ActQuant& aq = act_quant(layer.index, is_signed);
    const WeightQuant& wq = weight_quant(layer, weight, is_signed);
    auto node = std::shared_ptr<TrainBackward>(new TrainBackward(), torch::autograd::deleteNode);
    TrainBackward& n = *node;
    n.layer = layer;
    n.has_bias = bias.defined();
    n.codes = codes_for(s, x.detach(), aq, layer);
    // The activation quantizer passes the gradient where it does not clip.
    const float lo = (static_cast<float>(aq.qmin) - static_cast<float>(aq.zero) - 0.5f) * aq.scale;
    const float hi = (static_cast<float>(aq.qmax) - static_cast<float>(aq.zero) + 0.5f) * aq.scale;
    n.x = x.detach().to(at::kFloat).contiguous();
    n.pass_lo = lo;
    n.pass_hi = hi;
    const std::int64_t F = layer.out_channels;
    std::vector<std::int64_t> per_filter(static_cast<std::size_t>(weight.dim()), 1);
    per_filter[0] = F;
    n.w_scale = at::from_blob(const_cast<float*>(wq.scale.data()), {F}, at::kFloat).clone().view(per_filter);
    std::vector<float> wz(wq.zero.begin(), wq.zero.end());
    n.w_zero = at::from_blob(wz.data(), {F}, at::kFloat).clone().view(per_filter);
    n.w_codes = wq.codes;
    n.act_scale = aq.scale;
    n.act_zero = aq.zero;
    n.zero_code = aq.zero_code();
    n.any_weight_zero = std::any_of(wq.zero.begin(), wq.zero.end(), [](std::int32_t z) { return z != 0; });
    std::vector<int> blocks = a.units;
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
    // Straight-through, or every block of the layer differentiating as the product: the
    // product's own factors for every weight.
    const bool plain = options_.gradient == GradientRule::StraightThrough ||
                       std::all_of(blocks.begin(), blocks.end(), [&](int b) { return slope_factors(b).straight_through; });
    if (plain) {
        auto& pf = plain_factors_[is_signed ? 1 : 0];
        if (!pf) pf = std::make_unique<SlopeFactors>(factor_slopes(*exact_block(is_signed), 0));
        n.slopes.push_back({pf.get(), at::Tensor()});
    } else {
        // The interior factorization needs the end codes to be rare among the activations: not
        // where the zero code (padding, and every zero a ReLU makes) is one of them.
        const std::uint32_t lo_end = is_signed ? 128 : 0, hi_end = is_signed ? 127 : 255;
        const bool ends_rare = n.zero_code != lo_end && n.zero_code != hi_end;
        for (int b : blocks) {
            at::Tensor mask;
            if (a.granularity != Granularity::Layer) {
                std::vector<float> m(a.units.size());
                for (std::size_t i = 0; i < m.size(); ++i) m[i] = a.units[i] == b ? 1.0f : 0.0f;
                mask = at::from_blob(m.data(), {static_cast<std::int64_t>(m.size())}, at::kFloat).clone();
                mask = a.granularity == Granularity::Filter ? mask.view(per_filter) : mask.view(weight.sizes());
            }
            const SlopeFactors& f = slope_factors(b);
            n.slopes.push_back({ends_rare && f.interior ? &*f.interior : static_cast<const SlopeSides*>(&f), mask});
        }
    }
    node->set_next_edges(torch::autograd::collect_next_edges(x, weight, bias));
    torch::autograd::create_gradient_edge(yq, node);
    return yq;
}

at::Tensor Engine::forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                           const at::Tensor& bias) {
    switch (mode_) {
        case Mode::Float: state(layer); return float_forward(layer, input, weight, bias);
        case Mode::Calibrate: {
            LayerState& s = state(layer);
            const at::Tensor x = input.detach().to(at::kFloat).contiguous();
            if (!at::isfinite(x).all().item<bool>())
                throw Error("calibration: " + label(layer) + " input holds NaN or Inf values");
            s.lo = std::min(s.lo, static_cast<double>(x.min().item<float>()));
            s.hi = std::max(s.hi, static_cast<double>(x.max().item<float>()));
            s.seen += x.numel();
            if (options_.calibration == CalibrationMethod::Percentile) {
                const float* p = x.data_ptr<float>();
                const std::int64_t n = x.numel();
                const std::int64_t stride = std::max<std::int64_t>(1, n / 65536);
                for (std::int64_t i = 0; i < n && s.samples.size() < kMaxSamples; i += stride) s.samples.push_back(p[i]);
            }
            return float_forward(layer, input, weight, bias);
        }
        case Mode::Quantized: return quantized_forward(layer, input, weight, bias);
        case Mode::Train: return train_forward(layer, input, weight, bias);
        case Mode::Profile: {
            at::Tensor yq;
            {
                at::NoGradGuard no_grad;
                yq = quantized_forward(layer, input, weight, bias);
            }
            // Straight-through estimator: the value is the quantized output, the gradient the
            // float layer's.
            const at::Tensor yf = float_forward(layer, input, weight, bias);
            // With nothing upstream requiring gradients (first layer, frozen weights) the
            // output becomes a leaf that still receives dL/dy.
            at::Tensor y = yf.requires_grad() ? yq + (yf - yf.detach()) : yq.detach().requires_grad_(true);
            if (!y.is_leaf()) y.retain_grad();
            const LayerAssignment& a = assignment_.layers[static_cast<std::size_t>(layer.index - 1)];
            const bool is_signed = library_[static_cast<std::size_t>(a.units.front())]->is_signed;
            LayerProfile p;
            p.layer = layer;
            p.act = act_quant(layer.index, is_signed);
            p.weights = &weight_quant(layer, weight, is_signed);
            const at::Tensor x = layer.linear ? input.reshape({input.size(0), -1}) : input;
            p.codes = quantize_codes(x.detach(), p.act, label(layer).c_str());
            p.output = y;
            p.auto_tree = options_.auto_tree(layer.index);
            profile_.push_back(std::move(p));
            return y;
        }
    }
    return {};
}

}  // namespace hawx::engine
