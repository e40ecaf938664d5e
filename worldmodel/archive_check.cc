#include "worldmodel/archive_check.h"

#include <cstdint>
#include <string_view>

namespace darkmatter::worldmodel {
namespace {

constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate's largest expansion of its input

// Little-endian unsigned integer of `width` bytes at `at` (the caller checked the bounds).
uint64_t ReadLe(std::string_view bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

// The decimal memo index of a PUT line; anything but digits counts as too large.
uint64_t MemoIndexText(std::string_view text) {
  if (text.empty() || text.size() > 18) return UINT64_MAX;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return UINT64_MAX;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// "" when every opcode of the pickle `data` is known and every length it gives fits `data`.
std::string PickleProblem(std::string_view data) {
  size_t at = 0;
  // Skips `n` bytes of argument; false when they run past the end.
  auto skip = [&](uint64_t n) {
    if (n > data.size() - at) return false;
    at += n;
    return true;
  };
  auto skip_line = [&] {
    const size_t end = data.find('\n', at);
    if (end == std::string_view::npos) return false;
    at = end + 1;
    return true;
  };
  // A length of `width` bytes, then that many bytes.
  auto skip_counted = [&](int width) {
    if (static_cast<uint64_t>(width) > data.size() - at) return false;
    const uint64_t n = ReadLe(data, at, width);
    at += width;
    return skip(n);
  };
  // Each memo slot costs at least two bytes of pickle, so an index past its size is forged.
  auto memo_problem = [&](uint64_t index) {
    return "a pickle memo index (" + std::to_string(index) + ") beyond its " +
           std::to_string(data.size()) + " bytes";
  };
  while (at < data.size()) {
    const auto op = static_cast<uint8_t>(data[at++]);
    bool ok = true;
    switch (op) {
      case '.': return "";  // STOP
      case '(': case '0': case '1': case '2': case 'N': case 'Q': case 'R': case 'a':
      case 'b': case 'd': case '}': case 'e': case 'l': case ']': case 'o': case 's':
      case 't': case ')': case 'u': case 0x81: case 0x85: case 0x86: case 0x87: case 0x88:
      case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93: case 0x94:
        break;  // no argument
      case 'K': case 'h': case 'q': case 0x80: case 0x82: ok = skip(1); break;
      case 'M': case 0x83: ok = skip(2); break;
      case 'J': case 'j': case 0x84: ok = skip(4); break;
      case 'r': {  // LONG_BINPUT: LibTorch sizes its memo to the index, so bound it
        if (data.size() - at < 4) return "a pickle length runs past its data";
        const uint64_t index = ReadLe(data, at, 4);
        if (index >= data.size()) return memo_problem(index);
        at += 4;
        break;
      }
      case 'p': {  // PUT with a decimal index on its line
        const size_t begin = at;
        ok = skip_line();
        if (ok && MemoIndexText(data.substr(begin, at - begin - 1)) >= data.size()) {
          return memo_problem(MemoIndexText(data.substr(begin, at - begin - 1)));
        }
        break;
      }
      case 'G': case 0x95: ok = skip(8); break;
      case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g':
        ok = skip_line();
        break;
      case 'c': case 'i': ok = skip_line() && skip_line(); break;
      case 'U': case 'C': case 0x8a: case 0x8c: ok = skip_counted(1); break;
      case 'T': case 'X': case 'B': case 0x8b: ok = skip_counted(4); break;
      case 0x8d: case 0x8e: ok = skip_counted(8); break;
      default: return "unknown pickle opcode " + std::to_string(op);
    }
    if (!ok) return "a pickle length runs past its data";
  }
  return "a pickle has no end";
}

}  // namespace

std::string ArchiveProblem(const std::string& file) {
  const std::string_view bytes(file);
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
  size_t eocd = std::string_view::npos;
  for (size_t back = 22; back <= bytes.size() && back <= 22 + 65535; ++back) {
    if (ReadLe(bytes, bytes.size() - back, 4) == 0x06054b50) {
      eocd = bytes.size() - back;
      break;
    }
  }
  if (eocd == std::string_view::npos) return "no zip directory";
  const uint64_t entries = ReadLe(bytes, eocd + 10, 2);
  size_t at = ReadLe(bytes, eocd + 16, 4);
  for (uint64_t k = 0; k < entries; ++k) {
    if (at > bytes.size() || bytes.size() - at < 46 || ReadLe(bytes, at, 4) != 0x02014b50) {
      return "a damaged zip directory";
    }
    const uint64_t method = ReadLe(bytes, at + 10, 2);
    const uint64_t packed = ReadLe(bytes, at + 20, 4);
    const uint64_t size = ReadLe(bytes, at + 24, 4);
    const uint64_t name_length = ReadLe(bytes, at + 28, 2);
    const uint64_t skip = 46 + name_length + ReadLe(bytes, at + 30, 2) + ReadLe(bytes, at + 32, 2);
    const uint64_t local = ReadLe(bytes, at + 42, 4);
    if (skip > bytes.size() - at) return "a damaged zip directory";
    const std::string_view name = bytes.substr(at + 46, name_length);
    at += skip;
    if (packed > bytes.size() || (method == 0 && size != packed) ||
        (method != 0 && size > kMaxDeflateRatio * packed + 1024)) {
      return "zip entry '" + std::string(name) + "' claims more bytes than the file holds";
    }
    if (method != 0 || name.size() < 4 || name.substr(name.size() - 4) != ".pkl") continue;
    // A stored pickle: its bytes follow the 30-byte local header, name and extra field.
    if (local > bytes.size() || bytes.size() - local < 30) return "a damaged zip entry";
    const uint64_t start = local + 30 + ReadLe(bytes, local + 26, 2) + ReadLe(bytes, local + 28, 2);
    if (start > bytes.size() || size > bytes.size() - start) return "a damaged zip entry";
    const std::string problem = PickleProblem(bytes.substr(start, size));
    if (!problem.empty()) return std::string(name) + ": " + problem;
  }
  return "";
}

}  // namespace darkmatter::worldmodel
