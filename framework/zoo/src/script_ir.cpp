// TorchScript import: small helpers on the IR (messages and source locations, constants,
// module attributes read through prim::GetAttr chains).
#include "script_internal.hpp"

#include <torch/csrc/jit/ir/constants.h>

#include <algorithm>
#include <sstream>

namespace hawx::zoo::detail {

// ---------------------------------------------------------------------------------------
// Small helpers

namespace {

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

}  // namespace

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

}  // namespace hawx::zoo::detail
