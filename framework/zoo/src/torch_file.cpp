#include "torch_file.hpp"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <unordered_map>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo::detail {

namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A Python object as far as a state dict needs one. Lists and dicts are shared (memo, mutation).
struct Value {
    enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Object, Storage, Tensor };
    Kind kind = Kind::None;
    std::int64_t i = 0;
    double f = 0.0;
    std::string s;  // Str, Bytes; "module.name" for Global and Object
    std::vector<ValuePtr> items;
    std::vector<std::pair<ValuePtr, ValuePtr>> entries;
    at::Tensor tensor;  // Storage: 1-D tensor over the storage; Tensor: the tensor

    static ValuePtr make(Kind k) {
        auto v = std::make_shared<Value>();
        v->kind = k;
        return v;
    }
};

const char* kind_name(Value::Kind k) {
    switch (k) {
        case Value::Kind::None: return "None";
        case Value::Kind::Bool: return "bool";
        case Value::Kind::Int: return "int";
        case Value::Kind::Float: return "float";
        case Value::Kind::Str: return "str";
        case Value::Kind::Bytes: return "bytes";
        case Value::Kind::Tuple: return "tuple";
        case Value::Kind::List: return "list";
        case Value::Kind::Dict: return "dict";
        case Value::Kind::Global: return "class";
        case Value::Kind::Object: return "object";
        case Value::Kind::Storage: return "storage";
        case Value::Kind::Tensor: return "tensor";
    }
    return "?";
}

at::ScalarType storage_dtype(const std::string& type) {
    static const std::map<std::string, at::ScalarType> types = {
        {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
        {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
        {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},     {"torch.ByteStorage", at::kByte},
        {"torch.BoolStorage", at::kBool},
    };
    const auto it = types.find(type);
    return it == types.end() ? at::ScalarType::Undefined : it->second;
}

class Unpickler {
public:
    Unpickler(std::string path, std::string data, caffe2::serialize::PyTorchStreamReader& zip)
        : path_(std::move(path)), data_(std::move(data)), zip_(zip) {}

    ValuePtr run() {
        for (;;) {
            const std::size_t at = pos_;
            const auto op = u8();
            switch (op) {
                case 0x80: u8(); break;                // PROTO
                case 0x95: take(8); break;             // FRAME
                case '.': return pop();                // STOP
                case '(': marks_.push_back(stack_.size()); break;
                case '0': pop(); break;                // POP
                case '1': pop_mark(); break;           // POP_MARK
                case '2': push(top()); break;          // DUP
                case 'N': push(Value::make(Value::Kind::None)); break;
                case 0x88: push(boolean(true)); break;
                case 0x89: push(boolean(false)); break;
                case 'J': push(integer(static_cast<std::int32_t>(le<std::uint32_t>()))); break;
                case 'K': push(integer(u8())); break;
                case 'M': push(integer(le<std::uint16_t>())); break;
                case 0x8a: push(long_int(u8())); break;                 // LONG1
                case 0x8b: push(long_int(le<std::uint32_t>())); break;  // LONG4
                case 'G': push(binfloat()); break;
                case 'X': push(str(Value::Kind::Str, le<std::uint32_t>())); break;
                case 0x8c: push(str(Value::Kind::Str, u8())); break;
                case 0x8d: push(str(Value::Kind::Str, le<std::uint64_t>())); break;
                case 'U': push(str(Value::Kind::Bytes, u8())); break;
                case 'T': push(str(Value::Kind::Bytes, le<std::uint32_t>())); break;
                case 'C': push(str(Value::Kind::Bytes, u8())); break;
                case 'B': push(str(Value::Kind::Bytes, le<std::uint32_t>())); break;
                case 0x8e: push(str(Value::Kind::Bytes, le<std::uint64_t>())); break;
                case ')': push(Value::make(Value::Kind::Tuple)); break;
                case 't': push(sequence(Value::Kind::Tuple, pop_mark())); break;
                case 0x85: push(tuple_of(1)); break;
                case 0x86: push(tuple_of(2)); break;
                case 0x87: push(tuple_of(3)); break;
                case ']': push(Value::make(Value::Kind::List)); break;
                case 'l': push(sequence(Value::Kind::List, pop_mark())); break;
                case 'a': {
                    auto v = pop();
                    list_top()->items.push_back(v);
                    break;
                }
                case 'e': {
                    auto vs = pop_mark();
                    auto l = list_top();
                    l->items.insert(l->items.end(), vs.begin(), vs.end());
                    break;
                }
                case '}': push(Value::make(Value::Kind::Dict)); break;
                case 'd': {
                    auto d = Value::make(Value::Kind::Dict);
                    add_items(d, pop_mark());
                    push(d);
                    break;
                }
                case 's': {
                    auto v = pop();
                    auto k = pop();
                    dict_top()->entries.emplace_back(k, v);
                    break;
                }
                case 'u': {
                    auto kvs = pop_mark();
                    add_items(dict_top(), kvs);
                    break;
                }
                case 'q': memo_[u8()] = top(); break;
                case 'r': memo_[le<std::uint32_t>()] = top(); break;
                case 0x94: memo_[static_cast<std::uint32_t>(memo_.size())] = top(); break;  // MEMOIZE
                case 'h': push(memo(u8())); break;
                case 'j': push(memo(le<std::uint32_t>())); break;
                case 'c': {
                    const std::string module = line();
                    push(global(module + "." + line()));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    auto name = pop();
                    auto module = pop();
                    if (module->kind != Value::Kind::Str || name->kind != Value::Kind::Str)
                        fail("STACK_GLOBAL without strings", at);
                    push(global(module->s + "." + name->s));
                    break;
                }
                case 'R':     // REDUCE
                case 0x81: {  // NEWOBJ
                    auto args = pop();
                    auto callable = pop();
                    push(reduce(callable, args, at));
                    break;
                }
                case 'b': pop(); break;  // BUILD: object state (OrderedDict._metadata, ...) is not needed
                case 'Q': {
                    auto pid = pop();
                    push(persistent_load(pid, at));
                    break;
                }
                default: {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "0x%02x", op);
                    fail(std::string("unsupported pickle opcode ") + buf, at);
                }
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& what, std::size_t at) const {
        throw Error(path_ + ": " + what + " (data.pkl offset " + std::to_string(at) + ")");
    }

    std::uint8_t u8() {
        if (pos_ >= data_.size()) fail("truncated pickle", pos_);
        return static_cast<std::uint8_t>(data_[pos_++]);
    }
    std::string take(std::uint64_t n) {
        if (n > data_.size() - pos_) fail("truncated pickle", pos_);
        std::string out = data_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return out;
    }
    template <typename T>
    T le() {
        const std::string b = take(sizeof(T));
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<std::uint8_t>(b[i])) << (8 * i);
        return v;
    }
    std::string line() {
        const auto nl = data_.find('\n', pos_);
        if (nl == std::string::npos) fail("truncated pickle", pos_);
        std::string out = data_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        return out;
    }

    void push(ValuePtr v) { stack_.push_back(std::move(v)); }
    ValuePtr top() const {
        if (stack_.empty() || (!marks_.empty() && marks_.back() >= stack_.size())) fail("pickle stack underflow", pos_);
        return stack_.back();
    }
    ValuePtr pop() {
        auto v = top();
        stack_.pop_back();
        return v;
    }
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty()) fail("pickle MARK missing", pos_);
        const std::size_t m = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
        stack_.resize(m);
        return out;
    }
    ValuePtr memo(std::uint32_t id) const {
        const auto it = memo_.find(id);
        if (it == memo_.end()) fail("pickle memo " + std::to_string(id) + " undefined", pos_);
        return it->second;
    }
    ValuePtr list_top() const {
        auto l = top();
        if (l->kind != Value::Kind::List) fail("APPEND to a " + std::string(kind_name(l->kind)), pos_);
        return l;
    }
    ValuePtr dict_top() const {
        auto d = top();
        if (d->kind != Value::Kind::Dict) fail("SETITEM on a " + std::string(kind_name(d->kind)), pos_);
        return d;
    }
    void add_items(const ValuePtr& d, const std::vector<ValuePtr>& kvs) const {
        if (kvs.size() % 2 != 0) fail("odd number of dict items", pos_);
        for (std::size_t i = 0; i < kvs.size(); i += 2) d->entries.emplace_back(kvs[i], kvs[i + 1]);
    }

    static ValuePtr boolean(bool b) {
        auto v = Value::make(Value::Kind::Bool);
        v->i = b;
        return v;
    }
    static ValuePtr integer(std::int64_t i) {
        auto v = Value::make(Value::Kind::Int);
        v->i = i;
        return v;
    }
    ValuePtr long_int(std::uint64_t n) {
        const std::size_t at = pos_;
        const std::string b = take(n);
        if (n > 8) fail("integer wider than 64 bits", at);
        std::uint64_t u = 0;
        for (std::size_t i = 0; i < n; ++i) u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(b[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<std::uint8_t>(b[n - 1]) & 0x80)) u |= ~std::uint64_t{0} << (8 * n);
        return integer(static_cast<std::int64_t>(u));
    }
    ValuePtr binfloat() {
        const std::string b = take(8);  // big-endian IEEE double
        std::uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<std::uint8_t>(b[static_cast<std::size_t>(i)]);
        auto v = Value::make(Value::Kind::Float);
        std::memcpy(&v->f, &u, sizeof u);
        return v;
    }
    ValuePtr str(Value::Kind k, std::uint64_t n) {
        auto v = Value::make(k);
        v->s = take(n);
        return v;
    }
    static ValuePtr sequence(Value::Kind k, std::vector<ValuePtr> items) {
        auto v = Value::make(k);
        v->items = std::move(items);
        return v;
    }
    ValuePtr tuple_of(std::size_t n) {
        std::vector<ValuePtr> items(n);
        for (std::size_t i = n; i-- > 0;) items[i] = pop();
        return sequence(Value::Kind::Tuple, std::move(items));
    }
    static ValuePtr global(const std::string& name) {
        auto v = Value::make(Value::Kind::Global);
        v->s = name;
        return v;
    }

    std::int64_t int_arg(const ValuePtr& v, std::size_t at) const {
        if (v->kind != Value::Kind::Int) fail("expected an int, got a " + std::string(kind_name(v->kind)), at);
        return v->i;
    }
    std::vector<std::int64_t> int_tuple(const ValuePtr& v, std::size_t at) const {
        if (v->kind != Value::Kind::Tuple && v->kind != Value::Kind::List) fail("expected a tuple of ints", at);
        std::vector<std::int64_t> out;
        for (const auto& x : v->items) out.push_back(int_arg(x, at));
        return out;
    }

    // torch._utils._rebuild_tensor(_v2)(storage, offset, size, stride, ...): a copy of the view.
    ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, std::size_t at) const {
        if (a.size() < 4 || a[0]->kind != Value::Kind::Storage) fail("malformed tensor record", at);
        const at::Tensor& storage = a[0]->tensor;
        const std::int64_t offset = int_arg(a[1], at);
        const auto size = int_tuple(a[2], at), stride = int_tuple(a[3], at);
        if (size.size() != stride.size() || offset < 0) fail("malformed tensor record", at);
        std::int64_t last = offset, numel = 1;
        for (std::size_t d = 0; d < size.size(); ++d) {
            if (size[d] < 0 || stride[d] < 0) fail("malformed tensor record", at);
            numel *= size[d];
            if (size[d] > 0) last += (size[d] - 1) * stride[d];
        }
        if (numel > 0 && last >= storage.numel()) fail("tensor extends beyond its storage", at);
        auto v = Value::make(Value::Kind::Tensor);
        v->tensor = numel == 0 ? at::empty(size, storage.options())
                               : storage.as_strided(size, stride, offset).clone(at::MemoryFormat::Contiguous);
        return v;
    }

    ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args, std::size_t at) {
        if (callable->kind != Value::Kind::Global) {
            // Calling an opaque object gives an opaque object.
            auto v = Value::make(Value::Kind::Object);
            v->s = callable->s;
            return v;
        }
        const std::string& name = callable->s;
        const auto& a = args->items;
        if (name == "collections.OrderedDict") {
            auto d = Value::make(Value::Kind::Dict);
            if (!a.empty() && (a[0]->kind == Value::Kind::List || a[0]->kind == Value::Kind::Tuple))
                for (const auto& kv : a[0]->items)
                    if (kv->items.size() == 2) d->entries.emplace_back(kv->items[0], kv->items[1]);
            return d;
        }
        if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
            return rebuild_tensor(a, at);
        if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
            if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail("malformed parameter record", at);
            return a[0];
        }
        // LibTorch's pickler wraps typed containers: restore_type_tag(value, type), build_*list(list).
        if (name == "torch.jit._pickle.restore_type_tag" || name.rfind("torch.jit._pickle.build_", 0) == 0) {
            if (a.empty()) fail("malformed " + name + " record", at);
            return a[0];
        }
        if (name.rfind("torch._utils._rebuild", 0) == 0)
            fail("unsupported tensor kind " + name + " (only dense CPU-loadable tensors)", at);
        auto v = Value::make(Value::Kind::Object);
        v->s = name;
        return v;
    }

    // ('storage', storage_type, key, location, numel): the archive's record data/<key>.
    ValuePtr persistent_load(const ValuePtr& pid, std::size_t at) {
        const auto& p = pid->items;
        if (pid->kind != Value::Kind::Tuple || p.size() < 5 || p[0]->kind != Value::Kind::Str || p[0]->s != "storage" ||
            p[1]->kind != Value::Kind::Global || p[2]->kind != Value::Kind::Str)
            fail("unsupported persistent id", at);
        const at::ScalarType dtype = storage_dtype(p[1]->s);
        if (dtype == at::ScalarType::Undefined) fail("unsupported storage type " + p[1]->s, at);
        const std::string& key = p[2]->s;
        auto& cached = storages_[key];
        if (!cached.defined()) {
            const std::string record = "data/" + key;
            if (!zip_.hasRecord(record)) fail("storage record '" + record + "' missing from the archive", at);
            at::DataPtr ptr;
            std::size_t bytes = 0;
            std::tie(ptr, bytes) = zip_.getRecord(record);
            const std::size_t elem = at::elementSize(dtype);
            if (bytes % elem != 0) fail("storage '" + key + "' is not a whole number of elements", at);
            cached = at::empty({static_cast<std::int64_t>(bytes / elem)}, at::TensorOptions().dtype(dtype));
            if (bytes > 0) std::memcpy(cached.data_ptr(), ptr.get(), bytes);
        }
        auto v = Value::make(Value::Kind::Storage);
        v->tensor = cached;
        return v;
    }

    std::string path_;
    std::string data_;
    caffe2::serialize::PyTorchStreamReader& zip_;
    std::size_t pos_ = 0;
    std::vector<ValuePtr> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint32_t, ValuePtr> memo_;
    std::map<std::string, at::Tensor> storages_;
};

bool is_state_dict(const ValuePtr& v) {
    if (v->kind != Value::Kind::Dict) return false;
    for (const auto& [k, val] : v->entries)
        if (k->kind != Value::Kind::Str || val->kind != Value::Kind::Tensor) return false;
    return true;
}

std::string first_line(const char* s) {
    std::string m(s);
    const auto nl = m.find('\n');
    return nl == std::string::npos ? m : m.substr(0, nl);
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> read_torch_state_dict(const std::string& path) {
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw Error(path + ": cannot open file");
        char magic[4] = {};
        in.read(magic, 4);
        if (in.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0) {
            if (in.gcount() >= 2 && static_cast<unsigned char>(magic[0]) == 0x80)
                throw Error(path + ": legacy torch.save format (before PyTorch 1.6) is not supported; re-save it "
                                   "with a newer torch.save");
            throw Error(path + ": not a torch.save file (no zip archive)");
        }
    }
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
    std::string pickle;
    try {
        zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
        if (!zip->hasRecord("data.pkl")) throw Error(path + ": not a torch.save file (no data.pkl in the archive)");
        if (zip->hasRecord("byteorder")) {
            at::DataPtr ptr;
            std::size_t n = 0;
            std::tie(ptr, n) = zip->getRecord("byteorder");
            if (std::string(static_cast<const char*>(ptr.get()), n) != "little")
                throw Error(path + ": big-endian tensor data is not supported");
        }
        at::DataPtr ptr;
        std::size_t n = 0;
        std::tie(ptr, n) = zip->getRecord("data.pkl");
        pickle.assign(static_cast<const char*>(ptr.get()), n);
    } catch (const c10::Error& e) {
        throw Error(path + ": unreadable torch.save archive (" + first_line(e.what_without_backtrace()) + ")");
    }

    ValuePtr root;
    try {
        root = Unpickler(path, std::move(pickle), *zip).run();
    } catch (const c10::Error& e) {
        throw Error(path + ": " + first_line(e.what_without_backtrace()));
    }
    if (!is_state_dict(root) && root->kind == Value::Kind::Dict)
        for (const auto& [k, v] : root->entries)
            if (k->kind == Value::Kind::Str && (k->s == "state_dict" || k->s == "model_state_dict") && is_state_dict(v)) {
                root = v;
                break;
            }
    if (!is_state_dict(root))
        throw Error(path + ": holds a " + std::string(kind_name(root->kind)) +
                    ", not a state dict (a dict from names to tensors)");
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& [k, v] : root->entries) out.emplace_back(k->s, v->tensor);
    return out;
}

}  // namespace hawx::zoo::detail
