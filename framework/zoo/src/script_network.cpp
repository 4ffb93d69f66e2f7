// TorchScript import: find the convolutions and linears of a scripted or traced model, give
// each a proxy ApproxConv2d / ApproxLinear, and rewrite the graph to call them.
#include "hawx/zoo/script_network.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>

#include "hawx/sdk/error.hpp"
#include "script_internal.hpp"

namespace hawx::zoo {

using namespace detail;

namespace detail {

// The original exception of a failed operator call: the interpreter turns whatever an op
// throws into a multi-line std::runtime_error, and callers want the engine's hawx::Error.
thread_local std::exception_ptr t_op_error;

}  // namespace detail

namespace {

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
    std::string input_origin;
};

namespace {

std::string file_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::shared_ptr<ScriptNetwork> ScriptNetwork::load(const std::string& path, const std::optional<ModelOptions>& options,
                                                   const InputHint& hint) {
    Prepared p = prepare(path);
    std::string origin;
    const ModelOptions o = find_options(p, options, hint, origin);
    auto impl = std::make_unique<Impl>();
    impl->input_origin = origin;
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

const std::string& ScriptNetwork::input_origin() const { return impl_->input_origin; }

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
                                        const std::optional<ModelOptions>& options, const InputHint& hint) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    char magic[4] = {};
    in.read(magic, 4);
    if (!in || std::string(magic, 4) != std::string("PK\x03\x04", 4))
        throw Error(path + ": neither a hawx checkpoint nor a TorchScript archive (not a zip archive)");
    if (!is_torchscript_file(path)) return load_model(path, meta);
    auto net = ScriptNetwork::load(path, options, hint);
    net->eval();
    if (meta) {
        *meta = CheckpointMeta{};
        meta->model = net->model_name();
        meta->options = net->model_options();
        meta->training = {{"source", "torchscript"}};
    }
    return net;
}

}  // namespace hawx::zoo
