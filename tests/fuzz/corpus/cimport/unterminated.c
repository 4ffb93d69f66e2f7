/* open comment
uint16_t mul8u_X(uint8_t A, uint8_t B) { return (A*B;
