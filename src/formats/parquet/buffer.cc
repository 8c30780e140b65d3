#include "formats/parquet/buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <utility>

namespace millrace::formats::parquet {

namespace {

constexpr size_t kMapBytes = size_t{64} << 10;  // buffers this large get a mapping

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

char* Map(size_t n) {
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

void ByteBuffer::Release() {
  if (data_ != nullptr) {
    if (mapped_) {
      munmap(data_, capacity_);
    } else {
      std::free(data_);
    }
  }
  data_ = nullptr;
  size_ = capacity_ = 0;
  mapped_ = false;
}

void ByteBuffer::Grow(size_t n) {
  size_t want = std::max({size_ + n, 2 * capacity_, size_t{256}});
  if (want < kMapBytes) {
    void* p = std::realloc(data_, want);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    capacity_ = want;
    return;
  }
  const size_t page = PageSize();
  want = (want + page - 1) / page * page;
  if (mapped_) {
#ifdef __linux__
    void* p = mremap(data_, capacity_, want, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
#else
    char* p = Map(want);
    std::memcpy(p, data_, size_);
    munmap(data_, capacity_);
    data_ = p;
#endif
  } else {
    char* p = Map(want);
    if (size_ != 0) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = p;
    mapped_ = true;
  }
  capacity_ = want;
}

}  // namespace millrace::formats::parquet
