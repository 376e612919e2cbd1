// GPTQ's int32 bit packing (specs/gptq.md §1.1, §1.2; AutoGPTQ qlinear_cuda.py pack()).
// For 2/4/8 bits, value j of a word sits at bits [b*j, b*j+b); the 3-bit "non-planar"
// layout puts 32 values into 3 words with v10 and v21 straddling a word boundary. Both are
// the same thing: the values laid one after another as an LSB-first bitstream of 32-bit
// words, which is how these functions do it.
//   qweight: along the input dim (rows):  [K, N] codes  -> [K*b/32, N] words
//   qzeros:  along the output dim (cols): [G, N] zeros  -> [G, N*b/32] words
// Values must already be in [0, 2^b); K (resp. N) times b must be a multiple of 32 (3-bit:
// K, N multiples of 32; 2/4/8-bit: multiples of 32/b).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit {

bool gptq_bits_supported(int bits);  // 2, 3, 4, 8
// Number of packed words for n values (n * bits / 32); -1 if n does not fill whole words.
int64_t gptq_n_words(int64_t n_vals, int bits);

std::vector<int32_t> gptq_pack_rows(const uint8_t* vals, int64_t n_rows, int64_t n_cols, int bits);
std::vector<uint8_t> gptq_unpack_rows(const int32_t* words, int64_t n_rows, int64_t n_cols, int bits);
std::vector<int32_t> gptq_pack_cols(const uint8_t* vals, int64_t n_rows, int64_t n_cols, int bits);
std::vector<uint8_t> gptq_unpack_cols(const int32_t* words, int64_t n_rows, int64_t n_cols, int bits);

// v1 zero points as the peers wrote them (specs/gptq.md §1.3). `zeros` are the true z in
// [0, 2^b) ([G, N], row-major); the result is qzeros [G, N*b/32].
//  - field-wise: each field holds (z-1) mod 2^b. Decodes back to z under (field+1) & mask
//    (GPTQModel's _correct_gptq_v1_qzeros); equal to both peers whenever no z is 0.
//  - AutoGPTQ: (z-1) cast to uint32 (0xFFFFFFFF for z = 0) and OR-ed in unmasked, so a z = 0
//    field sets every higher bit of its word; bits spilling into the next word are masked.
//  - GPTQModel: v2 words minus 0x55555555 / 0x11111111 / 0x01010101 (2/4/8-bit), so a z = 0
//    field borrows 1 from the next-higher field; 3-bit goes field by field (no corruption).
std::vector<int32_t> gptq_pack_v1_zeros_fieldwise(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits);
std::vector<int32_t> gptq_pack_v1_zeros_autogptq(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits);
std::vector<int32_t> gptq_pack_v1_zeros_gptqmodel(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits);

}  // namespace lowbit
