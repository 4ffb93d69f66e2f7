uint64_t mul99s_X(uint64_t A, uint64_t B) { return 0; }
