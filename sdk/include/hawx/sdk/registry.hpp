#pragma once
/// \file
/// The registry a plugin library adds its components to during registration.
#include <functional>
#include <memory>
#include <type_traits>

#include "hawx/sdk/accelerator.hpp"
#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/component.hpp"
#include "hawx/sdk/metric.hpp"
#include "hawx/sdk/search.hpp"

namespace hawx {

/// Creates a component from parameters already validated against its schema.
/// May throw hawx::Error for constraints the schema cannot express (e.g. k > width).
template <class T>
using Factory = std::function<std::unique_ptr<T>(const Params&)>;

/// Contract: each add_* records one component under `info.name` (which must be unique in
/// the library and match the function's kind). The core throws hawx::Error naming the
/// library and component on a duplicate name, a kind mismatch or an invalid schema; a
/// registration function should let those propagate.
class HAWX_VISIBLE Registry {
public:
    virtual void add_block(ComponentInfo info, Factory<ApproxBlock> factory) = 0;
    virtual void add_metric(ComponentInfo info, Factory<SensitivityMetric> factory) = 0;
    virtual void add_search(ComponentInfo info, Factory<SearchStrategy> factory) = 0;
    virtual void add_accelerator(ComponentInfo info, Factory<AcceleratorModel> factory) = 0;

protected:
    ~Registry() = default;
};

/// Registers component class T, which provides `static ComponentInfo describe()` and a
/// constructor `T(const Params&)`; its kind follows from its interface base class.
template <class T>
void add(Registry& registry) {
    auto make = [](const Params& p) { return std::make_unique<T>(p); };
    if constexpr (std::is_base_of_v<ApproxBlock, T>)
        registry.add_block(T::describe(), make);
    else if constexpr (std::is_base_of_v<SensitivityMetric, T>)
        registry.add_metric(T::describe(), make);
    else if constexpr (std::is_base_of_v<SearchStrategy, T>)
        registry.add_search(T::describe(), make);
    else {
        static_assert(std::is_base_of_v<AcceleratorModel, T>, "T must implement one of the four component interfaces");
        registry.add_accelerator(T::describe(), make);
    }
}

}  // namespace hawx
