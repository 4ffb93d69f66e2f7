#pragma once
/// \file
/// The one entry point of a plugin library and the build id the core checks.
///
/// A plugin library (built with `hawx_add_plugin`) contains exactly one
///   HAWX_PLUGIN("library_name", "library_version", register_function)
/// where `void register_function(hawx::Registry&)` adds the library's components.
/// The macro exports a Boost.DLL alias `hawx_plugin_entry` to a function returning a
/// pointer to a static `hawx_plugin_descriptor`. The core, before any C++ object crosses
/// the boundary, checks in this order: the library loads; the alias exists; abi_version
/// equals its own (the first field, whose position never changes); build_id equals its
/// own; library_name equals the file's name (`hawx_<library_name>.so`). Only then does it
/// call register_components.
#include <cstdint>

#include <boost/config.hpp>
#include <boost/dll/alias.hpp>

#include "hawx/sdk/registry.hpp"
#include "hawx/sdk/version.hpp"

#if __has_include(<torch/version.h>)
#include <torch/version.h>
#define HAWX_BUILD_TORCH TORCH_VERSION
#else
#define HAWX_BUILD_TORCH "none"
#endif

#define HAWX_STR_(x) #x
#define HAWX_STR(x) HAWX_STR_(x)

#if defined(__clang__)
#define HAWX_BUILD_COMPILER "clang-" __clang_version__
#elif defined(__GNUC__)
#define HAWX_BUILD_COMPILER "gcc-" HAWX_STR(__GNUC__) "." HAWX_STR(__GNUC_MINOR__) "." HAWX_STR(__GNUC_PATCHLEVEL__)
#else
#define HAWX_BUILD_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define HAWX_BUILD_CXXABI "libstdcxx-cxx11abi=" HAWX_STR(_GLIBCXX_USE_CXX11_ABI)
#else
#define HAWX_BUILD_CXXABI "cxxabi=unknown"
#endif

/// What must match between the core and a plugin for C++ objects to cross safely:
/// compiler, standard library ABI, LibTorch version and SDK major version.
#define HAWX_BUILD_ID                                                                   \
    HAWX_BUILD_COMPILER ";" HAWX_BUILD_CXXABI ";torch=" HAWX_BUILD_TORCH ";sdk=" HAWX_STR( \
        HAWX_SDK_VERSION_MAJOR)

extern "C" {
/// Plain-C descriptor; field order is fixed for every ABI version (abi_version first).
struct hawx_plugin_descriptor {
    std::uint32_t abi_version;
    const char* build_id;
    const char* library_name;
    const char* library_version;
    void (*register_components)(hawx::Registry&);
};
}

namespace hawx {
/// Signature of the exported entry point.
using PluginEntry = const hawx_plugin_descriptor*();
/// Name of the Boost.DLL alias the core looks up.
inline constexpr const char* kPluginEntrySymbol = "hawx_plugin_entry";
}  // namespace hawx

/// Declares the library's entry point; use once per library, at namespace scope.
#define HAWX_PLUGIN(LIBRARY_NAME, LIBRARY_VERSION, REGISTER_FUNCTION)                            \
    namespace {                                                                                  \
    const hawx_plugin_descriptor* hawx_plugin_descriptor_fn() {                                 \
        static const hawx_plugin_descriptor d = {HAWX_SDK_ABI_VERSION, HAWX_BUILD_ID, LIBRARY_NAME, \
                                                 LIBRARY_VERSION, &REGISTER_FUNCTION};          \
        return &d;                                                                               \
    }                                                                                            \
    }                                                                                            \
    BOOST_DLL_ALIAS(hawx_plugin_descriptor_fn, hawx_plugin_entry)
