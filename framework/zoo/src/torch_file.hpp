#pragma once
// Reading torch.save files (zip format) without Python. Internal to hawx_zoo.
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace hawx::zoo::detail {

/// The (key, tensor) pairs, in file order, of the state dict in a torch.save file: the
/// top-level dict of tensors, or the one under "state_dict" / "model_state_dict".
/// LibTorch's own unpickler turns Python's collections.OrderedDict (what
/// Module.state_dict() returns) into None, so this is a small pickle interpreter of its own:
/// the opcodes of protocols 2-5, OrderedDict as a dict, tensors rebuilt from the archive's
/// storages (torch._utils._rebuild_tensor_v2 / _rebuild_parameter), other objects opaque.
/// Throws hawx::Error naming `path` for anything else.
std::vector<std::pair<std::string, at::Tensor>> read_torch_state_dict(const std::string& path);

}  // namespace hawx::zoo::detail
