#pragma once
/// \file
/// Everything a plugin author needs.
#include "hawx/sdk/accelerator.hpp"
#include "hawx/sdk/block.hpp"
#include "hawx/sdk/component.hpp"
#include "hawx/sdk/configuration.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/sdk/error_metrics.hpp"
#include "hawx/sdk/metric.hpp"
#include "hawx/sdk/params.hpp"
#include "hawx/sdk/plugin.hpp"
#include "hawx/sdk/registry.hpp"
#include "hawx/sdk/search.hpp"
#include "hawx/sdk/table_file.hpp"
#include "hawx/sdk/table_sidecar.hpp"
