// ByteBuffer: a growable byte buffer for the Parquet writer's bulk data (page values,
// dictionary indices, the compressed pages of a column chunk, compression scratch).
//
// Why not std::string: these buffers are the writer's memory (docs/format/parquet.md, "File
// layout"), and their memory must really go when they are released or the writer's peak
// is the sum of every buffer it ever had. Below 64 KiB a buffer lives in malloc's heap;
// from 64 KiB on it is an anonymous mapping of its own, grown with mremap (no copy, so no
// moment with both the old and the new capacity in memory) and unmapped by Release or the
// destructor (the pages go back to the system at once, whatever malloc's thresholds are).
// Capacity not yet written is address space only. Growth at least doubles.
//
// Contents past size() are uninitialized. Move-only; not thread-safe. Allocation failure
// throws std::bad_alloc, as std::string does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace millrace::formats::parquet {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer() { Release(); }
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }

  // Appends `n` bytes left for the caller to write; returns where they start (valid until
  // the buffer grows again).
  char* Extend(size_t n) {
    if (capacity_ - size_ < n) Grow(n);
    char* p = data_ + size_;
    size_ += n;
    return p;
  }
  void append(const char* p, size_t n) {
    if (n != 0) std::memcpy(Extend(n), p, n);
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push_back(char c) {
    if (size_ == capacity_) Grow(1);
    data_[size_++] = c;
  }
  char& back() { return data_[size_ - 1]; }
  // Little-endian fixed-width integers, as common/encoding.h's PutFixed32/64 (the formats
  // are little-endian; so is every supported host).
  void AppendFixed32(uint32_t v) { std::memcpy(Extend(4), &v, 4); }
  void AppendFixed64(uint64_t v) { std::memcpy(Extend(8), &v, 8); }
  // Makes the capacity at least `n` bytes.
  void reserve(size_t n) {
    if (n > capacity_) Grow(n - size_);
  }
  // Shrinks to `n` bytes (n <= size()), keeping the capacity.
  void Truncate(size_t n) { size_ = n; }
  // Empties the buffer, keeping its capacity for the next use.
  void clear() { size_ = 0; }
  // Empties the buffer and gives its memory back.
  void Release();

 private:
  void Grow(size_t n);  // capacity >= size_ + n

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool mapped_ = false;  // data_ is a mapping of its own (else malloc's)
};

// An array of trivially copyable T in a ByteBuffer (its memory released the same way).
template <class T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  size_t size() const { return bytes_.size() / sizeof(T); }
  bool empty() const { return bytes_.empty(); }
  T* data() { return reinterpret_cast<T*>(bytes_.data()); }
  const T* data() const { return reinterpret_cast<const T*>(bytes_.data()); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  void push_back(const T& v) { std::memcpy(bytes_.Extend(sizeof(T)), &v, sizeof(T)); }
  // Makes it `n` zero-initialized elements (T's all-zero bytes).
  void AssignZeros(size_t n) {
    bytes_.clear();
    std::memset(bytes_.Extend(n * sizeof(T)), 0, n * sizeof(T));
  }
  size_t CapacityBytes() const { return bytes_.capacity(); }
  void clear() { bytes_.clear(); }
  void Release() { bytes_.Release(); }

 private:
  ByteBuffer bytes_;
};

}  // namespace millrace::formats::parquet
