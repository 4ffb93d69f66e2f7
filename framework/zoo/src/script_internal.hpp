#pragma once
// Internal to the zoo library: what the pieces of the TorchScript import share.
// script_ir.cpp: small helpers on the IR; script_graph.cpp: the analysis of a loaded model
// (Prepared) and the input-shape probe; script_network.cpp: ScriptNetwork; script_ops.cpp:
// the hawx:: operators the rewritten graphs call.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hawx/engine/runner.hpp"
#include "hawx/zoo/script_network.hpp"

namespace hawx::zoo {

namespace jit = torch::jit;
using jit::Node;
using jit::Value;

namespace detail {

// ---------------------------------------------------------------------------------------
// Small helpers (script_ir.cpp)

// The message of an interpreter error (its last "...Error: " line), else the first line.
std::string first_line(const std::string& s);
std::string join_ints(const std::vector<std::int64_t>& v);
// "file:line:col" of the op, and of its outermost call site when it was inlined.
std::string location(const Node* n);
std::string op_at(const Node* n);
// Every node of a block, nested blocks included, in order.
void collect_nodes(jit::Block* b, std::vector<Node*>& out);
// The innermost node (loop, branch, ...) that holds `n`; null at the graph's top level.
Node* enclosing(const Node* n);
std::optional<std::vector<std::int64_t>> const_ints(Value* v, std::size_t expand_to);
std::optional<std::int64_t> const_int(Value* v);
std::optional<double> const_number(Value* v);
std::optional<bool> const_bool(Value* v);
bool is_none(Value* v);

// A value read from the module's state: self.a.b.c, resolved to the object's current value.
struct Attr {
    std::string path;  // "layer1.0.conv1.weight"
    std::string owner;  // "layer1.0.conv1"
    std::string leaf;   // "weight"
    c10::IValue value;
};

std::optional<Attr> resolve_attr(const jit::Graph& g, Value* v, const jit::Module& m);
// The layer a weight attribute names: its module for "...conv1.weight", else the attribute.
std::string layer_name(const Attr& a);
// What produced a value that should have been a module attribute.
std::string producer(Value* v);

// ---------------------------------------------------------------------------------------
// Analysis (script_graph.cpp)

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

// Loads, inlines and specialises the forward graph to inference, then finds the layers.
Prepared prepare(const std::string& path);

// Runs the (unrewritten) graph on zeros of each candidate shape until one gives [1, K].
ModelOptions find_options(const Prepared& p, const std::optional<ModelOptions>& given, const InputHint& hint,
                          std::string& origin);

// ---------------------------------------------------------------------------------------
// Run time (defined in script_network.cpp, set by the operators of script_ops.cpp)

// The original exception of a failed operator call: the interpreter turns whatever an op
// throws into a multi-line std::runtime_error, and callers want the engine's hawx::Error.
extern thread_local std::exception_ptr t_op_error;

}  // namespace detail

}  // namespace hawx::zoo
