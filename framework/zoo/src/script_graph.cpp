// TorchScript import, the analysis: load the archive, inline and specialise the forward graph
// to inference, unroll constant loops, find the convolutions and linears (and the BatchNorms
// that follow them), refuse what cannot be approximated; and probe the input shape.
#include "script_internal.hpp"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/loop_unrolling.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo::detail {

namespace {

// ---------------------------------------------------------------------------------------
// Analysis

const std::set<std::string>& refused_convs() {
    static const std::set<std::string> s = {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d",
                                            "aten::conv1d",           "aten::conv3d",           "aten::conv_tbc"};
    return s;
}

bool is_layer_candidate(const Node* n) {
    const std::string k = n->kind().toQualString();
    return k == "aten::conv2d" || k == "aten::_convolution" || k == "aten::convolution" || k == "aten::linear" ||
           k == "aten::addmm" || k == "aten::matmul" || k == "aten::mm" || refused_convs().count(k);
}

class Analyzer {
public:
    explicit Analyzer(Prepared& p) : p_(p), g_(*p.graph) {}

    void run() {
        std::vector<Node*> all;
        collect_nodes(g_.block(), all);
        count_batch_norms(all);
        check_training_mode(all);
        for (Node* n : all) {
            const std::string k = n->kind().toQualString();
            if (k == "prim::CallMethod" || k == "prim::CallFunction") {
                problem(op_at(n) + ": a call the importer cannot inline (it could hide convolutions)");
                continue;
            }
            if (!is_layer_candidate(n)) continue;
            if (refused_convs().count(k)) {
                problem(op_at(n) + ": " +
                        (k.find("transpose") != std::string::npos ? "transposed convolutions are not supported"
                                                                 : "only 2-D convolutions are supported"));
                continue;
            }
            if (Node* outer = enclosing(n)) {
                // Linear-like ops inside control flow only matter when they read a weight.
                if ((k == "aten::addmm" || k == "aten::matmul" || k == "aten::mm") && !weight_operand(n)) continue;
                const std::string what = outer->kind() == c10::prim::Loop ? "a loop whose trip count depends on run-time values (the importer cannot unroll it)"
                                         : outer->kind() == c10::prim::If ? "a branch whose condition depends on run-time values"
                                                                          : "a " + std::string(outer->kind().toQualString()) + " block";
                problem(op_at(n) + ": inside " + what + " (" + op_at(outer) + ")");
                continue;
            }
            if (k == "aten::conv2d" || k == "aten::_convolution" || k == "aten::convolution") conv(n);
            else linear(n);
        }
        if (!problems_.empty())
            throw Error(p_.path + ": cannot import: " + problems_.front() +
                        (problems_.size() > 1 ? " (and " + std::to_string(problems_.size() - 1) + " more problems)" : ""));
        if (p_.layers.empty()) throw Error(p_.path + ": no convolution or linear layer found (nothing to approximate)");
        pair_batch_norms();
    }

private:
    void problem(std::string s) { problems_.push_back(std::move(s)); }

    void count_batch_norms(const std::vector<Node*>& all) {
        for (Node* n : all)
            if (n->kind() == c10::aten::batch_norm && n->inputs().size() >= 5)
                if (const auto a = resolve_attr(g_, n->input(3), p_.module)) ++bn_uses_[a->owner];
    }

    // A graph traced (or frozen) in training mode bakes batch statistics and random dropout in.
    void check_training_mode(const std::vector<Node*>& all) {
        for (Node* n : all) {
            const std::string k = n->kind().toQualString();
            bool training = false;
            if (k == "aten::batch_norm" && n->inputs().size() >= 6)
                training = !is_none(n->input(3)) && const_bool(n->input(5)).value_or(false);
            else if ((k == "aten::dropout" || k == "aten::feature_dropout" || k == "aten::alpha_dropout" ||
                      k == "aten::feature_alpha_dropout") &&
                     n->inputs().size() >= 3)
                training = const_bool(n->input(2)).value_or(false);
            if (training)
                problem(op_at(n) + ": the model was exported in training mode (call model.eval() before "
                                   "torch.jit.trace / torch.jit.script)");
        }
    }

    // The tensor attribute a value reads, or why it is not one.
    std::optional<Attr> tensor_attr(Value* v) {
        auto a = resolve_attr(g_, v, p_.module);
        if (!a || !a->value.isTensor()) return std::nullopt;
        return a;
    }

    // Second operand of addmm/matmul/mm as a weight: P (the op computes x @ P, weight = P^T)
    // or P^T (aten::t / transpose(0, 1) / permute([1, 0]) of P, weight = P).
    struct Operand {
        Attr attr;
        at::Tensor weight;  // [out, in]
    };
    std::optional<Operand> weight_operand(const Node* n) {
        Value* v = n->input(n->kind() == c10::aten::addmm ? 2 : 1);
        if (auto a = tensor_attr(v)) {
            const at::Tensor t = a->value.toTensor();
            if (t.dim() != 2) return std::nullopt;
            return Operand{*a, t.t()};
        }
        const Node* m = v->node();
        const std::string k = m->kind().toQualString();
        bool transposed = k == "aten::t" || k == "aten::numpy_T";
        if (k == "aten::transpose" && m->inputs().size() == 3) {
            const auto d0 = const_int(m->input(1)), d1 = const_int(m->input(2));
            transposed = d0 && d1 && ((*d0 == 0 && *d1 == 1) || (*d0 == 1 && *d1 == 0) || (*d0 == -1 && *d1 == -2) ||
                                      (*d0 == -2 && *d1 == -1) || (*d0 == 0 && *d1 == -1) || (*d0 == -1 && *d1 == 0));
        }
        if (k == "aten::permute" && m->inputs().size() == 2) {
            const auto dims = const_ints(m->input(1), 2);
            transposed = dims && (*dims)[0] == 1 && (*dims)[1] == 0;
        }
        if (!transposed) return std::nullopt;
        if (auto a = tensor_attr(m->input(0))) {
            const at::Tensor t = a->value.toTensor();
            if (t.dim() != 2) return std::nullopt;
            return Operand{*a, t};
        }
        return std::nullopt;
    }

    bool check_weight(const Node* n, const at::Tensor& w, std::int64_t dims, const std::string& name) {
        if (w.scalar_type() != at::kFloat || !w.device().is_cpu()) {
            problem(op_at(n) + ": weight of '" + name + "' is " + std::string(c10::toString(w.scalar_type())) +
                    " on " + w.device().str() + "; export a float32 CPU model");
            return false;
        }
        if (w.dim() != dims || w.numel() == 0) {
            problem(op_at(n) + ": weight of '" + name + "' has " + std::to_string(w.dim()) + " dimensions, expected " +
                    std::to_string(dims));
            return false;
        }
        return true;
    }

    // A weight read from a module attribute, or a problem naming what computed it.
    std::optional<Attr> weight_attr(const Node* n, Value* v) {
        if (auto a = tensor_attr(v)) return a;
        problem(op_at(n) + ": weight is computed at run time (by " + producer(v) + "), not read from a module attribute");
        return std::nullopt;
    }

    // Bias: None, or a 1-D [out] tensor attribute.
    bool bias_of(const Node* n, int at, std::int64_t out, Found& f) {
        Value* v = at < 0 ? nullptr : n->input(static_cast<std::size_t>(at));
        if (!v || is_none(v)) return true;
        const auto a = resolve_attr(g_, v, p_.module);
        if (a && a->value.isNone()) return true;
        if (!a || !a->value.isTensor()) {
            problem(op_at(n) + ": bias is computed at run time (by " + producer(v) + "), not read from a module attribute");
            return false;
        }
        const at::Tensor b = a->value.toTensor();
        if (b.scalar_type() != at::kFloat || b.dim() != 1 || b.size(0) != out) {
            problem(op_at(n) + ": bias '" + a->path + "' is not a float32 vector of " + std::to_string(out) + " values");
            return false;
        }
        f.bias = at;
        f.bias_tensor = b;
        return true;
    }

    bool register_layer(Found f, const Attr& w) {
        f.param = w.path;
        f.desc.name = layer_name(w);
        f.location = location(f.node);
        if (const auto it = by_param_.find(w.path); it != by_param_.end()) {
            problem(op_at(f.node) + ": weight '" + w.path + "' is already used by layer " + std::to_string(it->second) +
                    " ('" + p_.layers[static_cast<std::size_t>(it->second - 1)].desc.name +
                    "'); a module called more than once cannot be approximated per call");
            return false;
        }
        for (const auto& other : p_.layers)
            if (other.desc.name == f.desc.name) {
                problem(op_at(f.node) + ": two layers would be named '" + f.desc.name + "'");
                return false;
            }
        f.desc.index = static_cast<int>(p_.layers.size()) + 1;
        by_param_[w.path] = f.desc.index;
        p_.layers.push_back(std::move(f));
        return true;
    }

    void conv(Node* n) {
        const std::string k = n->kind().toQualString();
        Found f;
        f.node = n;
        f.kind = Kind::Conv;
        f.input = 0;
        f.weight = 1;
        const auto w = weight_attr(n, n->input(1));
        if (!w) return;
        const at::Tensor wt = w->value.toTensor();
        if (!check_weight(n, wt, 4, layer_name(*w))) return;
        std::int64_t groups = 1;
        std::optional<std::vector<std::int64_t>> stride = const_ints(n->input(3), 2), dilation = const_ints(n->input(5), 2),
                                                 padding;
        if (k == "aten::conv2d") {
            groups = const_int(n->input(6)).value_or(-1);
            const auto pad = jit::toIValue(n->input(4));
            if (pad && pad->isString() && dilation) {
                if (pad->toStringRef() == "valid") {
                    padding = std::vector<std::int64_t>{0, 0};
                } else if (pad->toStringRef() == "same") {
                    std::vector<std::int64_t> p(2);
                    for (int d = 0; d < 2; ++d) {
                        const std::int64_t total = (*dilation)[d] * (wt.size(2 + d) - 1);
                        if (total % 2 != 0) {
                            problem(op_at(n) + ": padding='same' with an even kernel pads asymmetrically (not supported)");
                            return;
                        }
                        p[d] = total / 2;
                    }
                    padding = p;
                }
            } else {
                padding = const_ints(n->input(4), 2);
            }
        } else {
            const auto transposed = const_bool(n->input(6));
            if (!transposed) {
                problem(op_at(n) + ": whether the convolution is transposed is only known at run time");
                return;
            }
            if (*transposed) {
                problem(op_at(n) + ": transposed convolutions are not supported");
                return;
            }
            padding = const_ints(n->input(4), 2);
            groups = const_int(n->input(8)).value_or(-1);
        }
        if (!stride || !padding || !dilation || groups < 1) {
            problem(op_at(n) + ": stride, padding, dilation or groups is not a constant");
            return;
        }
        if (wt.size(0) % groups != 0) {
            problem(op_at(n) + ": " + std::to_string(wt.size(0)) + " output channels do not split into " +
                    std::to_string(groups) + " groups");
            return;
        }
        auto& d = f.desc;
        d.linear = false;
        d.out_channels = wt.size(0);
        d.in_channels = wt.size(1) * groups;
        d.kernel = {wt.size(2), wt.size(3)};
        d.stride = {(*stride)[0], (*stride)[1]};
        d.padding = {(*padding)[0], (*padding)[1]};
        d.dilation = {(*dilation)[0], (*dilation)[1]};
        d.groups = groups;
        if (d.stride[0] < 1 || d.stride[1] < 1 || d.padding[0] < 0 || d.padding[1] < 0 || d.dilation[0] < 1 ||
            d.dilation[1] < 1) {
            problem(op_at(n) + ": impossible geometry (stride " + join_ints(*stride) + ", padding " + join_ints(*padding) +
                    ", dilation " + join_ints(*dilation) + ")");
            return;
        }
        f.weight_tensor = wt;
        if (!bias_of(n, 2, d.out_channels, f)) return;
        register_layer(std::move(f), *w);
    }

    void linear(Node* n) {
        const std::string k = n->kind().toQualString();
        Found f;
        f.node = n;
        f.kind = Kind::Linear;
        std::optional<Attr> w;
        if (k == "aten::linear") {
            f.input = 0;
            f.weight = 1;
            w = weight_attr(n, n->input(1));
            if (!w) return;
            f.weight_tensor = w->value.toTensor();
            if (!check_weight(n, f.weight_tensor, 2, layer_name(*w))) return;
        } else {
            auto op = weight_operand(n);
            if (!op) return;  // activation x activation (attention and the like): not a layer
            w = op->attr;
            f.weight_tensor = op->weight;
            f.operand = k == "aten::addmm" ? 2 : 1;
            f.input = k == "aten::addmm" ? 1 : 0;
            if (!check_weight(n, f.weight_tensor, 2, layer_name(*w))) return;
            if (k == "aten::addmm") {
                const auto beta = const_number(n->input(3)), alpha = const_number(n->input(4));
                if (!beta || !alpha || *beta != 1.0 || *alpha != 1.0) {
                    problem(op_at(n) + ": addmm with beta or alpha other than 1");
                    return;
                }
            }
        }
        f.desc.linear = true;
        f.desc.out_channels = f.weight_tensor.size(0);
        f.desc.in_channels = f.weight_tensor.size(1);
        if (!bias_of(n, k == "aten::linear" ? 2 : k == "aten::addmm" ? 0 : -1, f.desc.out_channels, f)) return;
        register_layer(std::move(f), *w);
    }

    // aten::batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn)
    void pair_batch_norms() {
        std::set<std::string> used;
        for (auto& f : p_.layers) {
            if (f.kind != Kind::Conv) continue;
            // The BatchNorm must be the only reader of the values; shape queries (BatchNorm's
            // own input check in scripted models) do not care about folding.
            Node* bn = nullptr;
            bool only_bn = true;
            for (const jit::Use& use : f.node->output()->uses()) {
                const std::string k = use.user->kind().toQualString();
                if (k == "aten::dim" || k == "aten::size" || k == "aten::numel" || k == "prim::device" ||
                    k == "prim::dtype")
                    continue;
                if (use.user->kind() == c10::aten::batch_norm && use.offset == 0 && !bn) bn = use.user;
                else only_bn = false;
            }
            if (!bn || !only_bn || bn->inputs().size() != 9 || enclosing(bn)) continue;
            const auto mean = tensor_attr(bn->input(3)), var = tensor_attr(bn->input(4));
            const auto training = const_bool(bn->input(5));
            const auto eps = const_number(bn->input(7));
            if (!mean || !var || !training || *training || !eps || mean->owner != var->owner) continue;
            if (bn_uses_[mean->owner] != 1 || used.count(mean->owner) || mean->owner.empty()) continue;
            const std::int64_t c = f.desc.out_channels;
            const at::Tensor m = mean->value.toTensor(), v = var->value.toTensor();
            if (m.dim() != 1 || m.size(0) != c || v.dim() != 1 || v.size(0) != c) continue;
            // Affine parameters: tensors of the same module, or None (identity).
            at::Tensor tensors[2];
            bool ok = true;
            for (int i = 0; i < 2; ++i) {
                Value* x = bn->input(1 + i);
                if (is_none(x)) continue;
                const auto a = resolve_attr(g_, x, p_.module);
                if (a && a->value.isNone()) continue;
                if (!a || !a->value.isTensor() || a->value.toTensor().dim() != 1 || a->value.toTensor().size(0) != c) {
                    ok = false;
                    break;
                }
                tensors[i] = a->value.toTensor();
            }
            if (!ok) continue;
            used.insert(mean->owner);
            f.bn = bn;
            f.bn_name = mean->owner;
            f.bn_weight = tensors[0];
            f.bn_bias = tensors[1];
            f.bn_mean = m;
            f.bn_var = v;
            f.bn_eps = *eps;
            f.bn_momentum = const_number(bn->input(6)).value_or(0.1);
        }
    }

    Prepared& p_;
    jit::Graph& g_;
    std::vector<std::string> problems_;
    std::map<std::string, int> by_param_;
    std::map<std::string, int> bn_uses_;
};

bool has_candidate_in_loop(jit::Graph& g) {
    std::vector<Node*> all;
    collect_nodes(g.block(), all);
    for (Node* n : all) {
        if (!is_layer_candidate(n)) continue;
        for (Node* o = enclosing(n); o; o = enclosing(o))
            if (o->kind() == c10::prim::Loop) return true;
    }
    return false;
}

// Inference specialisation: every read of `self.training` becomes false, and so does every
// other read of a module attribute holding a bool, int, float, string or None (flags such as
// torchvision's use_res_connect or stride, a bias that is None) unless forward assigns an
// attribute of that name. Constant propagation then removes the branches they decide.
void fold_module_flags(Prepared& p) {
    jit::Graph& g = *p.graph;
    std::vector<Node*> all;
    collect_nodes(g.block(), all);
    std::set<std::string> assigned;
    for (Node* n : all)
        if (n->kind() == c10::prim::SetAttr) assigned.insert(n->s(c10::attr::name));
    for (Node* n : all) {
        if (n->kind() != c10::prim::GetAttr || assigned.count(n->s(c10::attr::name))) continue;
        c10::IValue value;
        if (n->s(c10::attr::name) == "training" && n->output()->type()->kind() == c10::TypeKind::BoolType) {
            value = false;
        } else {
            const auto a = resolve_attr(g, n->output(), p.module);
            if (!a || !(a->value.isBool() || a->value.isInt() || a->value.isDouble() || a->value.isString() ||
                        a->value.isNone()))
                continue;
            value = a->value;
        }
        Value* constant = nullptr;
        {
            jit::WithInsertPoint at_start(*g.nodes().begin());
            constant = g.insertConstant(value);
        }
        n->output()->replaceAllUsesWith(constant);
    }
}

}  // namespace

// Loads, inlines and specialises the forward graph to inference, then finds the layers.
Prepared prepare(const std::string& path) {
    Prepared p;
    p.path = path;
    if (!std::ifstream(path).good()) throw Error(path + ": cannot open file");
    try {
        p.module = jit::load(path, c10::Device(c10::kCPU));
    } catch (const std::exception& e) {
        throw Error(path + ": cannot load as TorchScript (" + first_line(e.what()) + ")");
    }
    p.module.eval();
    const auto method = p.module.find_method("forward");
    if (!method) throw Error(path + ": the TorchScript module has no forward method");
    p.schema = method->function().getSchema();
    std::size_t required = 0;
    for (std::size_t i = 1; i < p.schema.arguments().size(); ++i)
        if (!p.schema.arguments()[i].default_value()) ++required;
    if (p.schema.arguments().size() < 2 || required > 1)
        throw Error(path + ": forward must take one input tensor (its signature is " + toString(p.schema) + ")");

    // A copy: the module's own method keeps its graph (a later rewrite of a graph that has
    // already run would be ignored; this one has never run).
    p.graph = method->graph()->copy();
    auto& g = p.graph;
    jit::Inline(*g);
    fold_module_flags(p);
    jit::ConstantPropagation(g);
    jit::EliminateDeadCode(g);
    if (has_candidate_in_loop(*g)) {
        jit::UnrollConstantLoops(g);
        jit::ConstantPropagation(g);
        jit::EliminateDeadCode(g);
    }
    Analyzer(p).run();
    return p;
}

// Runs the (unrewritten) graph on zeros of each candidate shape until one gives [1, K].
ModelOptions find_options(const Prepared& p, const std::optional<ModelOptions>& given, const InputHint& hint,
                          std::string& origin) {
    jit::GraphFunction fn(c10::QualifiedName("hawx.probe.forward"), p.graph->copy(), nullptr);
    fn.setSchema(p.schema);
    std::string last_error;
    const auto try_shape = [&](int c, int s) -> std::optional<std::int64_t> {
        try {
            torch::NoGradGuard no_grad;
            const c10::IValue out = fn({p.module._ivalue(), at::zeros({1, c, s, s})});
            if (!out.isTensor()) {
                last_error = "forward returns " + out.tagKind() + ", not a tensor";
                return std::nullopt;
            }
            const at::Tensor y = out.toTensor();
            if (y.dim() != 2 || y.size(0) != 1 || y.size(1) < 1) {
                std::ostringstream os;
                os << "output has shape " << y.sizes() << ", expected [1, num_classes]";
                last_error = os.str();
                return std::nullopt;
            }
            return y.size(1);
        } catch (const std::exception& e) {
            last_error = first_line(e.what());
            return std::nullopt;
        }
    };
    const auto accepted = [](int c, int s, std::int64_t k) {
        ModelOptions o;
        o.in_channels = c;
        o.input_size = s;
        o.num_classes = static_cast<int>(k);
        o.width = 1.0;
        return o;
    };
    const auto shape_text = [](int c, int s) {
        return "[1, " + std::to_string(c) + ", " + std::to_string(s) + ", " + std::to_string(s) + "]";
    };
    if (given) {
        ModelOptions o = *given;
        if (o.width != 1.0) throw Error(p.path + ": width must be 1 for a TorchScript model");
        const auto k = try_shape(o.in_channels, o.input_size);
        if (!k)
            throw Error(p.path + ": does not accept input " + shape_text(o.in_channels, o.input_size) + " (" +
                        last_error + ")");
        if (*k != o.num_classes)
            throw Error(p.path + ": returns " + std::to_string(*k) + " classes, the options say " +
                        std::to_string(o.num_classes));
        origin = "the model options";
        return o;
    }
    const Found& first = p.layers.front();
    // Channels: from the first layer (a convolution's in_channels; for a linear first layer,
    // the c of in_features = c * s * s), checked against the dataset's.
    std::vector<int> channels;
    if (!first.desc.linear) {
        channels.push_back(static_cast<int>(first.desc.in_channels));
    } else {
        for (int c : {hint.channels, 1, 3}) {
            if (c <= 0 || std::find(channels.begin(), channels.end(), c) != channels.end()) continue;
            const std::int64_t f = first.desc.in_channels;
            const auto s = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(f) / c)));
            if (s > 0 && c * s * s == f) channels.push_back(c);
        }
    }
    if (hint.size > 0) {
        std::string errors;
        for (int c : channels) {
            if (const auto k = try_shape(c, hint.size)) {
                origin = hint.size_from;
                return accepted(c, hint.size, *k);
            }
            errors += (errors.empty() ? "" : "; ") + last_error;
        }
        throw Error(p.path + ": does not accept input of size " + std::to_string(hint.size) + " (" + hint.size_from +
                    "): " + (channels.empty() ? std::string("no input shape fits its first layer") : errors));
    }
    if (hint.native_size > 0)
        for (int c : channels)
            if (const auto k = try_shape(c, hint.native_size)) {
                origin = "the dataset's native size";
                return accepted(c, hint.native_size, *k);
            }
    std::vector<std::pair<int, int>> shapes;
    if (!first.desc.linear) {
        for (int s : {32, 28, 224, 64, 96, 128, 16, 256, 299}) shapes.emplace_back(channels.front(), s);
    } else {
        for (int c : channels) {
            const auto s = static_cast<int>(std::llround(std::sqrt(static_cast<double>(first.desc.in_channels) / c)));
            shapes.emplace_back(c, s);
        }
    }
    std::string tried = hint.native_size > 0 ? std::to_string(hint.native_size) + " (the dataset's)" : "";
    for (const auto& [c, s] : shapes) {
        if (const auto k = try_shape(c, s)) {
            origin = "probed: the first size the model accepted (tried " + (tried.empty() ? "" : tried + ", ") +
                     std::to_string(s) + ")";
            return accepted(c, s, *k);
        }
        tried += (tried.empty() ? "" : ", ") + std::to_string(c) + "x" + std::to_string(s) + "x" + std::to_string(s);
    }
    throw Error(p.path + ": cannot find the input shape (tried " + (tried.empty() ? "none" : tried) + "; last error: " +
                last_error + "); pass the model options (in_channels, input_size, num_classes)");
}

}  // namespace hawx::zoo::detail
