// .npy reader (NumPy format versions 1.0, 2.0 and 3.0), for the peers' golden files.
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   magic "\x93NUMPY", u8 major, u8 minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0),
//   a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (64, 256), }
//   padded with spaces and '\n', then the raw data in C (or Fortran) order.
//
// Bounds-checked: header inside the file, only the three known keys, shape entries
// non-negative and their product without overflow, data length == n_elems * itemsize
// exactly (numpy.save writes nothing after the data). Only plain numeric little-endian
// (or 1-byte) dtypes: b1 i1 u1 i2 u2 i4 u4 i8 u8 f2 f4 f8. Anything else throws
// lowbit::Error(path, reason).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

struct NpyArray {
  char kind = 'f';            // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  int item_n_bytes = 4;       // 1, 2, 4 or 8
  bool fortran_order = false;
  std::vector<int64_t> shape; // () is a scalar: one element
  std::vector<uint8_t> data;  // n_elems * item_n_bytes bytes, little-endian, as stored

  int64_t n_elems() const;
  std::string descr() const;  // numpy spelling, e.g. "<f2", "|u1"

  // Element values converted (f2 via IEEE binary16, ints by value). Fortran-order arrays
  // come back in the stored order; callers that care check fortran_order.
  std::vector<float> to_f32() const;
  std::vector<double> to_f64() const;
  std::vector<int64_t> to_i64() const;  // float dtypes are rejected (no silent truncation)
};

// Parses a whole .npy image held in memory; `name` names it in errors.
NpyArray parse_npy(const uint8_t* bytes, size_t n_bytes, const std::string& name);
NpyArray read_npy(const std::string& path);

}  // namespace lowbit
