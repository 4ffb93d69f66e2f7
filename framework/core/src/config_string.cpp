#include "hawx/framework/config_string.hpp"

#include <hawx/sdk/error.hpp>
#include <hawx/sdk/search.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

namespace hawx {

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

const char* unit_word(Granularity g) { return g == Granularity::Operation ? "operations" : "filters"; }

}  // namespace

std::size_t split_part(std::int64_t u, std::int64_t N, std::size_t n) {
    const std::int64_t base = N / static_cast<std::int64_t>(n), extra = N % static_cast<std::int64_t>(n);
    const std::int64_t big = extra * (base + 1);
    if (u < big) return static_cast<std::size_t>(u / (base + 1));
    return static_cast<std::size_t>(extra + (u - big) / std::max<std::int64_t>(base, 1));
}

std::vector<LayerChoice> parse_layer_choices(const std::string& text, const std::vector<std::string>& block_names,
                                             const std::vector<std::int64_t>& units_per_layer,
                                             Granularity bracket_granularity) {
    const std::size_t L = units_per_layer.size();
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
    std::vector<std::optional<LayerChoice>> out(L);
    std::optional<std::pair<std::string, std::string>> star;  // item, choice
    std::istringstream is(text);
    std::string item;
    bool any = false;
    const auto choose = [&](std::size_t l, const std::string& choice, const std::string& it) {
        const std::int64_t N = units_per_layer[l];
        LayerChoice a;
        if (!choice.empty() && (choice.front() == '(' || choice.front() == '[')) {
            const char close = choice.front() == '(' ? ')' : ']';
            if (choice.back() != close || choice.size() < 3)
                throw Error("configuration item '" + it + "': unbalanced '" + std::string(1, choice.front()) + "'");
            std::vector<int> names;
            for (const auto& n : split(choice.substr(1, choice.size() - 2), ',')) names.push_back(block(n, it));
            a.granularity = bracket_granularity;
            if (close == ')') {
                if (static_cast<std::int64_t>(names.size()) > N)
                    throw Error("configuration item '" + it + "': " + std::to_string(names.size()) + " blocks for layer " +
                                std::to_string(l + 1) + " with " + std::to_string(N) + " " + unit_word(bracket_granularity));
                for (std::int64_t u = 0; u < N; ++u) a.units.push_back(names[split_part(u, N, names.size())]);
            } else {
                if (static_cast<std::int64_t>(names.size()) != N)
                    throw Error("configuration item '" + it + "': layer " + std::to_string(l + 1) + " has " +
                                std::to_string(N) + " " + unit_word(bracket_granularity) + ", the list names " +
                                std::to_string(names.size()));
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
    std::vector<LayerChoice> m;
    for (std::size_t l = 0; l < L; ++l) {
        if (!out[l]) {
            if (!star) throw Error("configuration '" + text + "': layer " + std::to_string(l + 1) + " has no block");
            out[l] = choose(l, star->second, star->first);
        }
        m.push_back(*out[l]);
    }
    return m;
}

std::string format_layer_choices(const std::vector<LayerChoice>& layers, const std::vector<std::string>& block_names) {
    const auto name = [&](int b) {
        if (b < 0 || static_cast<std::size_t>(b) >= block_names.size())
            throw Error("configuration: block index " + std::to_string(b) + " has no name");
        return block_names[static_cast<std::size_t>(b)];
    };
    std::vector<std::string> choice;
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const LayerChoice& la = layers[l];
        if (la.units.empty()) throw Error("configuration: layer " + std::to_string(l + 1) + " has no block");
        if (la.granularity == Granularity::Layer) {
            choice.push_back(name(la.units.at(0)));
            continue;
        }
        // contiguous runs; an equal split over its runs is written (A,B)
        std::vector<int> runs;
        for (std::size_t f = 0; f < la.units.size(); ++f)
            if (f == 0 || la.units[f] != la.units[f - 1]) runs.push_back(la.units[f]);
        bool equal_split = true;
        const auto N = static_cast<std::int64_t>(la.units.size());
        for (std::int64_t f = 0; f < N && equal_split; ++f)
            equal_split = la.units[static_cast<std::size_t>(f)] == runs[split_part(f, N, runs.size())];
        std::string s;
        if (equal_split) {
            for (int b : runs) s += (s.empty() ? "" : ",") + name(b);
            choice.push_back("(" + s + ")");
        } else {
            for (int b : la.units) s += (s.empty() ? "" : ",") + name(b);
            choice.push_back("[" + s + "]");
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

Configuration parse_configuration(const std::string& text, const std::vector<std::string>& block_names,
                                  const std::vector<LayerShape>& layers, Granularity g) {
    std::vector<std::int64_t> units;
    for (const auto& l : layers) units.push_back(unit_count(l, g == Granularity::Layer ? Granularity::Filter : g));
    const auto choices = parse_layer_choices(text, block_names, units, g == Granularity::Layer ? Granularity::Filter : g);
    Configuration c;
    c.granularity = g;
    for (std::size_t l = 0; l < choices.size(); ++l) {
        const LayerChoice& ch = choices[l];
        if (ch.granularity == Granularity::Layer) {
            c.blocks.emplace_back(static_cast<std::size_t>(unit_count(layers[l], g)), ch.units[0]);
        } else if (g == Granularity::Layer) {
            throw Error("configuration '" + text + "': layer " + std::to_string(l + 1) +
                        " is split per filter, but the search is at layer granularity");
        } else {
            c.blocks.push_back(ch.units);
        }
    }
    return c;
}

std::string format_configuration(const Configuration& c, const std::vector<std::string>& block_names) {
    std::vector<LayerChoice> choices;
    for (const auto& units : c.blocks) {
        const bool uniform = !units.empty() && std::all_of(units.begin(), units.end(), [&](int b) { return b == units[0]; });
        if (uniform) choices.push_back({Granularity::Layer, {units[0]}});
        else choices.push_back({c.granularity, units});
    }
    return format_layer_choices(choices, block_names);
}

}  // namespace hawx
