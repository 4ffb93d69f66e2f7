#pragma once
/// \file
/// Typed parameter schemas (what a component accepts) and resolved parameter values
/// (what it receives). The core validates every manifest value against the schema and
/// fills defaults before a factory runs, so a component may rely on every declared
/// key being present with the declared type and within the declared range.
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "hawx/sdk/error.hpp"

namespace hawx {

/// Parameter types. `Path` is a string that the core resolves relative to the manifest's folder.
enum class ParamType { Bool, Int, Float, String, Path };

inline const char* to_string(ParamType t) {
    switch (t) {
        case ParamType::Bool: return "bool";
        case ParamType::Int: return "int";
        case ParamType::Float: return "float";
        case ParamType::String: return "string";
        case ParamType::Path: return "path";
    }
    return "?";
}

/// A parameter value; Int is int64, Float is double, String and Path are std::string.
using ParamValue = std::variant<bool, std::int64_t, double, std::string>;

/// Renders a value as it would be written in JSON (strings quoted).
inline std::string to_string(const ParamValue& v) {
    struct V {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.12g", d);
            return buf;
        }
        std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    };
    return std::visit(V{}, v);
}

/// One documented parameter. Built fluently:
///   ParamSpec::integer("k", "columns dropped").with_default(4).in_range(0, 16)
/// A spec without a default is required.
struct ParamSpec {
    std::string name;
    ParamType type = ParamType::String;
    std::string doc;
    std::optional<ParamValue> default_value;  ///< nullopt: the parameter is required
    std::optional<double> min;                 ///< inclusive, Int and Float only
    std::optional<double> max;                 ///< inclusive, Int and Float only
    std::vector<std::string> choices;          ///< allowed values, String only; empty: any

    static ParamSpec boolean(std::string n, std::string d) { return make(std::move(n), ParamType::Bool, std::move(d)); }
    static ParamSpec integer(std::string n, std::string d) { return make(std::move(n), ParamType::Int, std::move(d)); }
    static ParamSpec real(std::string n, std::string d) { return make(std::move(n), ParamType::Float, std::move(d)); }
    static ParamSpec string(std::string n, std::string d) { return make(std::move(n), ParamType::String, std::move(d)); }
    static ParamSpec path(std::string n, std::string d) { return make(std::move(n), ParamType::Path, std::move(d)); }

    ParamSpec with_default(bool v) && { default_value = v; return std::move(*this); }
    ParamSpec with_default(int v) && { return std::move(*this).with_default(static_cast<std::int64_t>(v)); }
    ParamSpec with_default(std::int64_t v) && {
        if (type == ParamType::Float) default_value = static_cast<double>(v); else default_value = v;
        return std::move(*this);
    }
    ParamSpec with_default(double v) && { default_value = v; return std::move(*this); }
    ParamSpec with_default(const char* v) && { default_value = std::string(v); return std::move(*this); }
    ParamSpec with_default(std::string v) && { default_value = std::move(v); return std::move(*this); }
    ParamSpec in_range(double lo, double hi) && { min = lo; max = hi; return std::move(*this); }
    ParamSpec at_least(double lo) && { min = lo; return std::move(*this); }
    ParamSpec one_of(std::vector<std::string> c) && { choices = std::move(c); return std::move(*this); }

    bool required() const { return !default_value.has_value(); }

private:
    static ParamSpec make(std::string n, ParamType t, std::string d) {
        ParamSpec s;
        s.name = std::move(n);
        s.type = t;
        s.doc = std::move(d);
        return s;
    }
};

/// Resolved parameters handed to a component factory. After validation by the core
/// every declared key is present; getters throw hawx::Error on a missing key or a
/// type mismatch (a programming error in the component, reported, not crashed on).
class Params {
public:
    Params() = default;
    explicit Params(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}

    void set(const std::string& key, ParamValue v) { values_[key] = std::move(v); }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    const std::map<std::string, ParamValue>& values() const { return values_; }

    bool get_bool(const std::string& key) const { return get<bool>(key, "bool"); }
    std::int64_t get_int(const std::string& key) const { return get<std::int64_t>(key, "int"); }
    double get_float(const std::string& key) const {
        const ParamValue& v = at(key);
        if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
        if (auto d = std::get_if<double>(&v)) return *d;
        throw Error("parameter '" + key + "' is not a float");
    }
    const std::string& get_string(const std::string& key) const { return get<std::string>(key, "string"); }

private:
    const ParamValue& at(const std::string& key) const {
        auto it = values_.find(key);
        if (it == values_.end()) throw Error("parameter '" + key + "' was not provided");
        return it->second;
    }
    template <class T>
    const T& get(const std::string& key, const char* type) const {
        const ParamValue& v = at(key);
        if (auto p = std::get_if<T>(&v)) return *p;
        throw Error("parameter '" + key + "' is not a " + type);
    }
    std::map<std::string, ParamValue> values_;
};

}  // namespace hawx
