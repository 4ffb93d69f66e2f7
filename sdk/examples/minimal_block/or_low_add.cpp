// A minimal approximate adder plugin, wide enough for a MAC's accumulator: the exact sum of
// the upper bits, the n lowest result bits a_i OR b_i (no carry out of them), wrapping
// around at `bits` bits. Pair it with a multiplier in a manifest:
//   {"name": "ORL", "component": "mylib.or_low_add", "params": {"bits": 24, "n": 6}},
//   {"name": "EX_ORL", "multiplier": "EX", "adder": "ORL", "order": "sequential"}
#include <hawx/sdk/hawx.hpp>

namespace {

class OrLowAdd final : public hawx::ApproxBlock {
public:
    static hawx::ComponentInfo describe() {
        return {"or_low_add", hawx::Kind::Block, "1.0", "signed adder with the n lowest bits OR-ed, wrapping at bits",
                {hawx::ParamSpec::integer("bits", "width of the addends and the result").with_default(24).in_range(2, 32),
                 hawx::ParamSpec::integer("n", "low bits OR-ed").with_default(4).in_range(0, 32)}};
    }
    explicit OrLowAdd(const hawx::Params& p) : bits_(static_cast<int>(p.get_int("bits"))), n_(static_cast<int>(p.get_int("n"))) {
        if (n_ > bits_) throw hawx::Error("parameter 'n' of or_low_add exceeds bits");
    }

    hawx::BlockOp op() const override { return hawx::BlockOp::Add; }
    int activation_bits() const override { return bits_; }  // both addends
    int weight_bits() const override { return bits_; }
    bool is_signed() const override { return true; }
    std::int32_t apply(std::int32_t a, std::int32_t b) const override { return static_cast<std::int32_t>(add(a, b)); }
    // The engine sums hundreds of products per call: keep the loop simple so it vectorizes.
    void add_n(const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::size_t n) const override {
        for (std::size_t i = 0; i < n; ++i) out[i] = add(a[i], b[i]);
    }
    hawx::HardwareCost cost() const override {
        // Figures for illustration: a ripple-carry adder of bits - n full adders plus n OR gates.
        const double fa = bits_ - n_, gates = 0.0058 * (fa * 7 + n_);
        return {gates, 10.0 * (fa * 7 + n_), 0.1 * fa, std::nullopt, "example: unit-gate estimate"};
    }

private:
    std::int64_t add(std::int64_t a, std::int64_t b) const {
        const std::uint64_t low = (std::uint64_t{1} << n_) - 1u;
        const std::uint64_t r = ((static_cast<std::uint64_t>(a) & ~low) + (static_cast<std::uint64_t>(b) & ~low)) |
                                ((static_cast<std::uint64_t>(a) | static_cast<std::uint64_t>(b)) & low);
        // Wrap to `bits` bits, read as two's complement.
        return static_cast<std::int64_t>(r << (64 - bits_)) >> (64 - bits_);
    }
    int bits_, n_;
};

}  // namespace

void register_or_low_add(hawx::Registry& r) { hawx::add<OrLowAdd>(r); }
