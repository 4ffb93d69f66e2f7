// TorchScript import: find the convolutions and linears of a scripted or traced model, give
// each a proxy ApproxConv2d / ApproxLinear, and rewrite the graph to call them.
#include "hawx/zoo/script_network.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/loop_unrolling.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

namespace jit = torch::jit;
using jit::Node;
using jit::Value;

namespace {

// ---------------------------------------------------------------------------------------
// Small helpers

std::string first_line(const std::string& s) {
    // The TorchScript interpreter wraps errors in a traceback; its last "...Error: " line is
    // the message that matters.
    std::string best;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) {
        const auto p = line.find("Error: ");
        if (p != std::string::npos && p < 40) best = line.substr(p + 7);
    }
    if (!best.empty()) return best;
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string join_ints(const std::vector<std::int64_t>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
}

std::string range_text(const jit::SourceRange& range) {
    // A loaded model's ranges point into the archive's serialized code; its debug records
    // map them back to the exported Python source.
    const jit::SourceRange r = range.findSourceRangeThatGenerated().value_or(range);
    const auto flc = r.file_line_col();
    if (!flc) return "";
    const auto& [file, line, col] = *flc;
    if (file.empty()) return "";
    return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// "file:line:col" of the op, and of its outermost call site when it was inlined from a
// submodule's forward (the line of the user's model that led there).
std::string location(const Node* n) {
    const std::string inner = range_text(n->sourceRange());
    std::string outer;
    if (const auto cs = n->callstack()) {
        const auto entries = (*cs)->vec();
        if (!entries.empty()) outer = range_text(std::get<1>(entries.front()));
    }
    if (inner.empty() && outer.empty()) return "unknown location";
    if (outer.empty() || outer == inner) return inner.empty() ? outer : inner;
    if (inner.empty()) return outer;
    return inner + ", called from " + outer;
}

std::string op_at(const Node* n) { return std::string(n->kind().toQualString()) + " at " + location(n); }

// Every node of a block, nested blocks included, in order.
void collect_nodes(jit::Block* b, std::vector<Node*>& out) {
    for (Node* n : b->nodes()) {
        out.push_back(n);
        for (jit::Block* inner : n->blocks()) collect_nodes(inner, out);
    }
}

// The innermost node (loop, branch, ...) that holds `n`; null at the graph's top level.
Node* enclosing(const Node* n) { return const_cast<Node*>(n)->owningBlock()->owningNode(); }

std::optional<std::vector<std::int64_t>> const_ints(Value* v, std::size_t expand_to) {
    const auto iv = jit::toIValue(v);
    if (!iv) return std::nullopt;
    std::vector<std::int64_t> out;
    if (iv->isIntList()) out = iv->toIntVector();
    else if (iv->isInt()) out = {iv->toInt()};
    else return std::nullopt;
    if (out.size() == 1 && expand_to > 1) out.assign(expand_to, out[0]);
    if (out.size() != expand_to) return std::nullopt;
    return out;
}

std::optional<std::int64_t> const_int(Value* v) {
    const auto iv = jit::toIValue(v);
    if (!iv || !iv->isInt()) return std::nullopt;
    return iv->toInt();
}

std::optional<double> const_number(Value* v) {
    const auto iv = jit::toIValue(v);
    if (!iv) return std::nullopt;
    if (iv->isDouble()) return iv->toDouble();
    if (iv->isInt()) return static_cast<double>(iv->toInt());
    return std::nullopt;
}

std::optional<bool> const_bool(Value* v) {
    const auto iv = jit::toIValue(v);
    if (!iv || !iv->isBool()) return std::nullopt;
    return iv->toBool();
}

bool is_none(Value* v) {
    if (v->type()->kind() == c10::TypeKind::NoneType) return true;
    const auto iv = jit::toIValue(v);
    return iv && iv->isNone();
}

// A value read from the module's state: self.a.b.c, resolved to the object's current value.
struct Attr {
    std::string path;  // "layer1.0.conv1.weight"
    std::string owner;  // "layer1.0.conv1"
    std::string leaf;   // "weight"
    c10::IValue value;
};

std::optional<Attr> resolve_attr(const jit::Graph& g, Value* v, const jit::Module& m) {
    std::vector<std::string> names;
    while (v->node()->kind() == c10::prim::GetAttr) {
        names.push_back(v->node()->s(c10::attr::name));
        v = v->node()->input(0);
    }
    if (names.empty() || v != g.inputs().at(0)) return std::nullopt;
    std::reverse(names.begin(), names.end());
    c10::IValue cur = m._ivalue();
    Attr a;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!cur.isObject()) return std::nullopt;
        const auto obj = cur.toObject();
        if (!obj->type()->hasAttribute(names[i])) return std::nullopt;
        cur = obj->getAttr(names[i]);
        a.path += (i ? "." : "") + names[i];
        if (i + 1 < names.size()) a.owner += (i ? "." : "") + names[i];
    }
    a.leaf = names.back();
    a.value = cur;
    return a;
}

// The layer a weight attribute names: its module for "...conv1.weight", else the attribute.
std::string layer_name(const Attr& a) { return a.leaf == "weight" && !a.owner.empty() ? a.owner : a.path; }

// What produced a value that should have been a module attribute.
std::string producer(Value* v) {
    const Node* n = v->node();
    if (n->kind() == c10::prim::Param) return "a forward argument";
    return op_at(n);
}

// ---------------------------------------------------------------------------------------
// Analysis

enum class Kind { Conv, Linear };

struct Found {
    Node* node = nullptr;
    Kind kind = Kind::Conv;
    engine::LayerDesc desc;
    std::string param;  // qualified name of the weight attribute
    std::string location;
    // Positions of the node's inputs, read when rewriting (a value may have been replaced by
    // then: the input of one layer is often the rewritten output of the previous one).
    int input = 0;
    int weight = -1;   // [out, in/groups, kh, kw] / [out, in] (-1: transpose `operand`)
    int operand = -1;  // matmul/addmm/mm second operand ([in, out])
    int bias = -1;     // -1: none
    at::Tensor weight_tensor, bias_tensor;

    // BatchNorm that reads this convolution's output and nothing else.
    Node* bn = nullptr;
    std::string bn_name;
    at::Tensor bn_weight, bn_bias, bn_mean, bn_var;
    double bn_eps = 1e-5, bn_momentum = 0.1;
};

struct Prepared {
    std::string path;
    jit::Module module;
    std::shared_ptr<jit::Graph> graph;
    c10::FunctionSchema schema{"forward", "", {}, {}};
    std::vector<Found> layers;
};

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

// Restores torch's global generator (building a proxy draws PyTorch's default init).
class KeepGlobalRng {
public:
    KeepGlobalRng() : gen_(at::detail::getDefaultCPUGenerator()) {
        std::lock_guard<std::mutex> lock(gen_.mutex());
        state_ = gen_.get_state();
    }
    ~KeepGlobalRng() {
        std::lock_guard<std::mutex> lock(gen_.mutex());
        gen_.set_state(state_);
    }

private:
    at::Generator gen_;
    at::Tensor state_;
};

// Live networks by id, for the operators. Entries are removed by the destructor.
struct Registry {
    std::mutex mutex;
    std::unordered_map<std::int64_t, ScriptNetwork::Impl*> nets;
    std::int64_t next = 1;
};
Registry& registry() {
    static Registry r;
    return r;
}

// The original exception of a failed operator call: the interpreter turns whatever an op
// throws into a multi-line std::runtime_error, and callers want the engine's hawx::Error.
thread_local std::exception_ptr t_op_error;

}  // namespace

// ---------------------------------------------------------------------------------------

struct ScriptNetwork::Impl {
    std::string path;
    jit::Module module;
    std::shared_ptr<jit::Graph> graph;
    std::unique_ptr<jit::GraphFunction> function;
    std::vector<ApproxLayer*> layers;               // graph order
    std::vector<FoldableBatchNorm2dImpl*> batch_norms;  // graph order of the pairs
    std::vector<std::string> locations;
    std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;  // by qualified name
    std::int64_t id = 0;
    c10::FunctionSchema schema{"forward", "", {}, {}};
    std::vector<Found> found;  // the analysis, consumed by the constructor
};

namespace {

// Runs the (unrewritten) graph on zeros of each candidate shape until one gives [1, K].
ModelOptions find_options(const Prepared& p, const std::optional<ModelOptions>& given) {
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
    if (given) {
        ModelOptions o = *given;
        if (o.width != 1.0) throw Error(p.path + ": width must be 1 for a TorchScript model");
        const auto k = try_shape(o.in_channels, o.input_size);
        if (!k)
            throw Error(p.path + ": does not accept input [1, " + std::to_string(o.in_channels) + ", " +
                        std::to_string(o.input_size) + ", " + std::to_string(o.input_size) + "] (" + last_error + ")");
        if (*k != o.num_classes)
            throw Error(p.path + ": returns " + std::to_string(*k) + " classes, the options say " +
                        std::to_string(o.num_classes));
        return o;
    }
    const Found& first = p.layers.front();
    std::vector<std::pair<int, int>> shapes;
    if (!first.desc.linear) {
        for (int s : {32, 28, 224, 64, 96, 128, 16, 256, 299})
            shapes.emplace_back(static_cast<int>(first.desc.in_channels), s);
    } else {
        for (int c : {1, 3}) {
            const std::int64_t f = first.desc.in_channels;
            const auto s = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(f) / c)));
            if (s > 0 && c * s * s == f) shapes.emplace_back(c, static_cast<int>(s));
        }
    }
    std::string tried;
    for (const auto& [c, s] : shapes) {
        if (const auto k = try_shape(c, s)) {
            ModelOptions o;
            o.in_channels = c;
            o.input_size = s;
            o.num_classes = static_cast<int>(*k);
            o.width = 1.0;
            return o;
        }
        tried += (tried.empty() ? "" : ", ") + std::to_string(c) + "x" + std::to_string(s) + "x" + std::to_string(s);
    }
    throw Error(p.path + ": cannot find the input shape (tried " + (tried.empty() ? "none" : tried) + "; last error: " +
                last_error + "); pass the model options (in_channels, input_size, num_classes)");
}

std::string file_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::shared_ptr<ScriptNetwork> ScriptNetwork::load(const std::string& path, const std::optional<ModelOptions>& options) {
    Prepared p = prepare(path);
    const ModelOptions o = find_options(p, options);
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->module = p.module;
    impl->graph = p.graph;
    impl->schema = p.schema;
    impl->found = std::move(p.layers);
    std::shared_ptr<ScriptNetwork> net(new ScriptNetwork("torchscript:" + file_name(path), o, std::move(impl)));
    net->eval();  // imported networks are for inference (the graph is specialised to it)
    // The layers run once each, in graph order, on the shape the options give.
    net->approx_layers();
    return net;
}

namespace {

// Registers `module` under its qualified name, creating plain modules for the levels in
// between, so that named_modules() / named_parameters() use PyTorch's names.
void place(torch::nn::Module& root, ScriptNetwork::Impl& m, const std::string& qualified,
           std::shared_ptr<torch::nn::Module> module) {
    if (m.modules.count(qualified)) throw Error(m.path + ": two modules would be named '" + qualified + "'");
    torch::nn::Module* parent = &root;
    std::string prefix;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = qualified.find('.', start);
        const std::string part = qualified.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (part.empty()) throw Error(m.path + ": cannot name a layer '" + qualified + "'");
        prefix += (prefix.empty() ? "" : ".") + part;
        if (dot == std::string::npos) {
            parent->register_module(part, module);
            m.modules.emplace(qualified, std::move(module));
            return;
        }
        auto it = m.modules.find(prefix);
        if (it == m.modules.end()) {
            auto level = std::make_shared<torch::nn::Module>();
            parent->register_module(part, level);
            it = m.modules.emplace(prefix, std::move(level)).first;
        }
        parent = it->second.get();
        start = dot + 1;
    }
}

const c10::Symbol& op_symbol(const char* name) {
    static const c10::Symbol conv = c10::Symbol::fromQualString("hawx::approx_conv2d");
    static const c10::Symbol linear = c10::Symbol::fromQualString("hawx::approx_linear");
    static const c10::Symbol bn = c10::Symbol::fromQualString("hawx::approx_batch_norm");
    const std::string n = name;
    return n == "conv" ? conv : n == "linear" ? linear : bn;
}

}  // namespace

ScriptNetwork::ScriptNetwork(std::string name, const ModelOptions& options, std::unique_ptr<Impl> impl)
    : Network(std::move(name), options), impl_(std::move(impl)) {
    Impl& m = *impl_;
    {
        std::lock_guard<std::mutex> lock(registry().mutex);
        m.id = registry().next++;
    }

    // Proxy modules over the script module's tensors.
    std::vector<std::int64_t> bn_index(m.found.size(), 0);
    {
        KeepGlobalRng keep_rng;
        torch::NoGradGuard no_grad;
        for (std::size_t i = 0; i < m.found.size(); ++i) {
            const Found& f = m.found[i];
            const bool has_bias = f.bias_tensor.defined();
            if (f.kind == Kind::Conv) {
                ConvSpec s;
                s.in_channels = f.desc.in_channels;
                s.out_channels = f.desc.out_channels;
                s.kernel_size = f.desc.kernel[0];
                s.groups = f.desc.groups;
                s.bias = has_bias;
                ApproxConv2d conv(s);
                conv->desc = f.desc;  // index, name, and geometry ConvSpec cannot say (non-square)
                conv->weight.set_(f.weight_tensor);
                if (has_bias) conv->bias.set_(f.bias_tensor);
                place(*this, m, f.desc.name, conv.ptr());
                m.layers.push_back(conv.get());
                if (f.bn) {
                    FoldableBatchNorm2d bn(f.desc.out_channels, f.bn_eps, f.bn_momentum);
                    if (f.bn_weight.defined()) bn->weight.copy_(f.bn_weight);
                    if (f.bn_bias.defined()) bn->bias.copy_(f.bn_bias);
                    bn->running_mean.copy_(f.bn_mean);
                    bn->running_var.copy_(f.bn_var);
                    place(*this, m, f.bn_name, bn.ptr());
                    add_conv_bn(conv, bn);
                    m.batch_norms.push_back(bn.get());
                    bn_index[i] = static_cast<std::int64_t>(m.batch_norms.size());
                }
            } else {
                ApproxLinear linear(f.desc.in_channels, f.desc.out_channels, has_bias);
                linear->desc = f.desc;
                linear->weight.set_(f.weight_tensor);
                if (has_bias) linear->bias.set_(f.bias_tensor);
                place(*this, m, f.desc.name, linear.ptr());
                m.layers.push_back(linear.get());
            }
            m.locations.push_back(f.location);
        }
    }

    // The graph calls the proxies.
    jit::Graph& g = *m.graph;
    for (std::size_t i = 0; i < m.found.size(); ++i) {
        const Found& f = m.found[i];
        Node* n = f.node;
        const auto index = static_cast<std::int64_t>(i + 1);
        Value* out = nullptr;
        {
            jit::WithInsertPoint at(n);
            const auto arg = [&](int i) { return n->input(static_cast<std::size_t>(i)); };
            Value* input = arg(f.input);
            Value* bias = f.bias >= 0 ? arg(f.bias) : g.insertConstant(c10::IValue());
            if (f.kind == Kind::Conv) {
                const auto& d = f.desc;
                out = g.insert(op_symbol("conv"),
                               {input, arg(f.weight), bias, std::vector<std::int64_t>{d.stride[0], d.stride[1]},
                                std::vector<std::int64_t>{d.padding[0], d.padding[1]},
                                std::vector<std::int64_t>{d.dilation[0], d.dilation[1]}, d.groups, m.id, index},
                               {}, n->sourceRange());
            } else {
                Value* w = f.weight >= 0 ? arg(f.weight) : g.insert(c10::aten::t, {arg(f.operand)});
                out = g.insert(op_symbol("linear"), {input, w, bias, m.id, index}, {}, n->sourceRange());
            }
        }
        if (const auto cs = n->callstack()) out->node()->setCallStack(*cs);
        n->output()->replaceAllUsesWith(out);
        n->destroy();
        if (Node* bn = f.bn) {
            jit::WithInsertPoint at(bn);
            Value* y = g.insert(op_symbol("bn"), {bn->input(0), m.id, bn_index[i]}, {}, bn->sourceRange());
            if (const auto cs = bn->callstack()) y->node()->setCallStack(*cs);
            bn->output()->replaceAllUsesWith(y);
            bn->destroy();
        }
    }
    m.found.clear();
    jit::EliminateDeadCode(m.graph);
    m.function = std::make_unique<jit::GraphFunction>(c10::QualifiedName("hawx.imported.forward"), m.graph, nullptr);
    m.function->setSchema(m.schema);

    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().nets[m.id] = &m;
}

ScriptNetwork::~ScriptNetwork() {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().nets.erase(impl_->id);
}

at::Tensor ScriptNetwork::forward(at::Tensor x) {
    t_op_error = nullptr;
    c10::IValue out;
    try {
        out = (*impl_->function)({impl_->module._ivalue(), std::move(x)});
    } catch (const std::exception& e) {
        if (t_op_error) {
            std::exception_ptr original = t_op_error;
            t_op_error = nullptr;
            std::rethrow_exception(original);
        }
        throw Error(impl_->path + ": forward failed: " + first_line(e.what()));
    }
    if (!out.isTensor()) throw Error(impl_->path + ": forward returns " + out.tagKind() + ", not a tensor");
    return out.toTensor();
}

const std::string& ScriptNetwork::path() const { return impl_->path; }

std::int64_t ScriptNetwork::network_id() const { return impl_->id; }

std::string ScriptNetwork::graph_text() const { return impl_->graph->toString(); }

const std::string& ScriptNetwork::layer_location(int index) const {
    if (index < 1 || static_cast<std::size_t>(index) > impl_->locations.size())
        throw Error(impl_->path + ": no layer " + std::to_string(index));
    return impl_->locations[static_cast<std::size_t>(index - 1)];
}

namespace {

template <typename T>
T* lookup(std::int64_t id, std::int64_t index, std::vector<T*> ScriptNetwork::Impl::*list, const char* what) {
    std::lock_guard<std::mutex> lock(registry().mutex);
    const auto it = registry().nets.find(id);
    if (it == registry().nets.end())
        throw Error(std::string("hawx operator: no imported network with id ") + std::to_string(id) +
                    " (was the graph copied out of its ScriptNetwork?)");
    const auto& v = it->second->*list;
    if (index < 1 || static_cast<std::size_t>(index) > v.size())
        throw Error(it->second->path + ": no " + what + " " + std::to_string(index));
    return v[static_cast<std::size_t>(index - 1)];
}

}  // namespace

at::Tensor ScriptNetwork::run_layer(std::int64_t network_id, std::int64_t index, const at::Tensor& x) {
    return lookup(network_id, index, &Impl::layers, "layer")->run(x);
}

at::Tensor ScriptNetwork::run_batch_norm(std::int64_t network_id, std::int64_t index, const at::Tensor& x) {
    return lookup(network_id, index, &Impl::batch_norms, "batch norm")->forward(x);
}

bool is_torchscript_file(const std::string& path) {
    try {
        caffe2::serialize::PyTorchStreamReader zip(path);
        if (!zip.hasRecord("constants.pkl")) return false;
        for (const auto& name : zip.getAllRecords())
            if (name.rfind("code/", 0) == 0 || name.find("/code/") != std::string::npos) return true;
    } catch (const std::exception&) {
    }
    return false;
}

std::shared_ptr<Network> load_any_model(const std::string& path, CheckpointMeta* meta,
                                        const std::optional<ModelOptions>& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    char magic[4] = {};
    in.read(magic, 4);
    if (!in || std::string(magic, 4) != std::string("PK\x03\x04", 4))
        throw Error(path + ": neither a hawx checkpoint nor a TorchScript archive (not a zip archive)");
    if (!is_torchscript_file(path)) return load_model(path, meta);
    auto net = ScriptNetwork::load(path, options);
    net->eval();
    if (meta) {
        *meta = CheckpointMeta{};
        meta->model = net->model_name();
        meta->options = net->model_options();
        meta->training = {{"source", "torchscript"}};
    }
    return net;
}

// ---------------------------------------------------------------------------------------
// The operators the rewritten graphs call. Geometry arguments document the call (the proxy
// holds the same); weight and bias are the script module's tensors, which the proxy shares.

namespace {

template <typename F>
at::Tensor keep_error(F&& f) {
    try {
        return f();
    } catch (...) {
        t_op_error = std::current_exception();
        throw;
    }
}

at::Tensor approx_conv2d_op(const at::Tensor& input, const at::Tensor& /*weight*/,
                            const c10::optional<at::Tensor>& /*bias*/, at::IntArrayRef /*stride*/,
                            at::IntArrayRef /*padding*/, at::IntArrayRef /*dilation*/, std::int64_t /*groups*/,
                            std::int64_t network_id, std::int64_t layer) {
    return keep_error([&] { return ScriptNetwork::run_layer(network_id, layer, input); });
}

at::Tensor approx_linear_op(const at::Tensor& input, const at::Tensor& /*weight*/,
                            const c10::optional<at::Tensor>& /*bias*/, std::int64_t network_id, std::int64_t layer) {
    return keep_error([&] { return ScriptNetwork::run_layer(network_id, layer, input); });
}

at::Tensor approx_batch_norm_op(const at::Tensor& input, std::int64_t network_id, std::int64_t index) {
    return keep_error([&] { return ScriptNetwork::run_batch_norm(network_id, index, input); });
}

}  // namespace

}  // namespace hawx::zoo

// A fragment: other libraries (plugins) may add operators to the same namespace.
TORCH_LIBRARY_FRAGMENT(hawx, m) {
    m.def("approx_conv2d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
          "int groups, int network_id, int layer) -> Tensor",
          &hawx::zoo::approx_conv2d_op);
    m.def("approx_linear(Tensor input, Tensor weight, Tensor? bias, int network_id, int layer) -> Tensor",
          &hawx::zoo::approx_linear_op);
    m.def("approx_batch_norm(Tensor input, int network_id, int index) -> Tensor", &hawx::zoo::approx_batch_norm_op);
}
