#include "hawx/engine/config_string.hpp"

#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

namespace hawx::engine {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) out.push_back(cur), cur.clear();
        else cur += c;
    }
    out.push_back(cur);
    return out;
}

int parse_layer_number(const std::string& s, const std::string& item, std::size_t L) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) || s.size() > 6)
        throw Error("configuration item '" + item + "': '" + s + "' is not a layer number");
    const int v = std::stoi(s);
    if (v < 1 || static_cast<std::size_t>(v) > L)
        throw Error("configuration item '" + item + "': layer " + s + " outside 1.." + std::to_string(L));
    return v;
}

// Filter f's part when F filters are split into n contiguous parts, the first F mod n
// parts one filter larger.
std::size_t part_of(std::int64_t f, std::int64_t F, std::size_t n) {
    const std::int64_t base = F / static_cast<std::int64_t>(n), extra = F % static_cast<std::int64_t>(n);
    const std::int64_t big = extra * (base + 1);
    if (f < big) return static_cast<std::size_t>(f / (base + 1));
    return static_cast<std::size_t>(extra + (f - big) / std::max<std::int64_t>(base, 1));
}

}  // namespace

ModelAssignment parse_configuration(const std::string& text, const std::vector<std::string>& block_names,
                                    const std::vector<LayerDesc>& layers) {
    const std::size_t L = layers.size();
    std::map<std::string, int> index;
    for (std::size_t i = 0; i < block_names.size(); ++i) index[block_names[i]] = static_cast<int>(i);
    const auto block = [&](const std::string& name, const std::string& item) {
        auto it = index.find(name);
        if (it == index.end()) {
            std::string known;
            for (const auto& n : block_names) known += (known.empty() ? "" : ", ") + n;
            throw Error("configuration item '" + item + "': unknown block '" + name + "' (blocks: " + known + ")");
        }
        return it->second;
    };
    std::vector<std::optional<LayerAssignment>> out(L);
    std::optional<std::pair<std::string, std::string>> star;  // item, choice
    std::istringstream is(text);
    std::string item;
    bool any = false;
    const auto choose = [&](std::size_t l, const std::string& choice, const std::string& it) {
        const std::int64_t F = layers[l].out_channels;
        LayerAssignment a;
        if (!choice.empty() && (choice.front() == '(' || choice.front() == '[')) {
            const char close = choice.front() == '(' ? ')' : ']';
            if (choice.back() != close || choice.size() < 3)
                throw Error("configuration item '" + it + "': unbalanced '" + std::string(1, choice.front()) + "'");
            std::vector<int> names;
            for (const auto& n : split(choice.substr(1, choice.size() - 2), ',')) names.push_back(block(n, it));
            a.granularity = Granularity::Filter;
            if (close == ')') {
                if (static_cast<std::int64_t>(names.size()) > F)
                    throw Error("configuration item '" + it + "': " + std::to_string(names.size()) +
                                " blocks for layer " + std::to_string(l + 1) + " with " + std::to_string(F) + " filters");
                for (std::int64_t f = 0; f < F; ++f) a.units.push_back(names[part_of(f, F, names.size())]);
            } else {
                if (static_cast<std::int64_t>(names.size()) != F)
                    throw Error("configuration item '" + it + "': layer " + std::to_string(l + 1) + " has " +
                                std::to_string(F) + " filters, the list names " + std::to_string(names.size()));
                a.units = names;
            }
        } else {
            a.granularity = Granularity::Layer;
            a.units = {block(choice, it)};
        }
        return a;
    };
    while (is >> item) {
        any = true;
        const auto colon = item.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
            throw Error("configuration item '" + item + "': expected LAYERS:BLOCK");
        const std::string lhs = item.substr(0, colon), rhs = item.substr(colon + 1);
        if (lhs == "*") {
            if (star) throw Error("configuration item '" + item + "': '*' given twice");
            star = std::make_pair(item, rhs);
            continue;
        }
        for (const auto& part : split(lhs, ',')) {
            const auto dash = part.find('-');
            int lo, hi;
            if (dash == std::string::npos) lo = hi = parse_layer_number(part, item, L);
            else lo = parse_layer_number(part.substr(0, dash), item, L), hi = parse_layer_number(part.substr(dash + 1), item, L);
            if (lo > hi) throw Error("configuration item '" + item + "': empty range " + part);
            for (int l = lo; l <= hi; ++l) {
                if (out[static_cast<std::size_t>(l - 1)])
                    throw Error("configuration item '" + item + "': layer " + std::to_string(l) + " is given twice");
                out[static_cast<std::size_t>(l - 1)] = choose(static_cast<std::size_t>(l - 1), rhs, item);
            }
        }
    }
    if (!any) throw Error("configuration '" + text + "' is empty");
    ModelAssignment m;
    for (std::size_t l = 0; l < L; ++l) {
        if (!out[l]) {
            if (!star) throw Error("configuration '" + text + "': layer " + std::to_string(l + 1) + " has no block");
            out[l] = choose(l, star->second, star->first);
        }
        m.layers.push_back(*out[l]);
    }
    return m;
}

std::string format_configuration(const ModelAssignment& a, const std::vector<std::string>& block_names) {
    const auto name = [&](int b) {
        if (b < 0 || static_cast<std::size_t>(b) >= block_names.size())
            throw Error("configuration: block index " + std::to_string(b) + " has no name");
        return block_names[static_cast<std::size_t>(b)];
    };
    std::vector<std::string> choice;
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        const LayerAssignment& la = a.layers[l];
        if (la.granularity == Granularity::Layer) {
            choice.push_back(name(la.units.at(0)));
        } else if (la.granularity == Granularity::Filter) {
            // contiguous runs; an equal split over its runs is written (A,B)
            std::vector<int> runs;
            for (std::size_t f = 0; f < la.units.size(); ++f)
                if (f == 0 || la.units[f] != la.units[f - 1]) runs.push_back(la.units[f]);
            bool equal_split = true;
            const auto F = static_cast<std::int64_t>(la.units.size());
            for (std::int64_t f = 0; f < F && equal_split; ++f)
                equal_split = la.units[static_cast<std::size_t>(f)] == runs[part_of(f, F, runs.size())];
            std::string s;
            if (equal_split) {
                for (int b : runs) s += (s.empty() ? "" : ",") + name(b);
                choice.push_back("(" + s + ")");
            } else {
                for (int b : la.units) s += (s.empty() ? "" : ",") + name(b);
                choice.push_back("[" + s + "]");
            }
        } else {
            throw Error("configuration: layer " + std::to_string(l + 1) +
                        " is assigned per operation, which the string notation cannot express");
        }
    }
    // group layers by identical choice, in order of first appearance
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::size_t>> layers_of;
    for (std::size_t l = 0; l < choice.size(); ++l) {
        if (!layers_of.count(choice[l])) order.push_back(choice[l]);
        layers_of[choice[l]].push_back(l + 1);
    }
    std::string out;
    for (const auto& c : order) {
        const auto& ls = layers_of[c];
        std::string r;
        for (std::size_t i = 0; i < ls.size();) {
            std::size_t j = i;
            while (j + 1 < ls.size() && ls[j + 1] == ls[j] + 1) ++j;
            r += (r.empty() ? "" : ",") + std::to_string(ls[i]) + (j > i ? "-" + std::to_string(ls[j]) : "");
            i = j + 1;
        }
        out += (out.empty() ? "" : " ") + r + ":" + c;
    }
    return out;
}

}  // namespace hawx::engine
