#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "common/byte_cursor.h"
#include "common/byte_writer.h"

using footfall::ByteCursor;
using footfall::ByteWriter;
using Bytes = std::vector<std::uint8_t>;

TEST_CASE("the byte writer puts integers least significant byte first") {
  Bytes out;
  ByteWriter w(out);
  w.u8(0xAB);
  w.le16(0x0102);
  w.le32(0x03040506);
  w.le64(0x0708090A0B0C0D0Eull);
  w.le(0x112233, 3);
  w.bytes(std::string_view("hi"));
  CHECK(out == Bytes{0xAB, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B,
                     0x0A, 0x09, 0x08, 0x07, 0x33, 0x22, 0x11, 'h', 'i'});
  CHECK(w.size() == out.size());
}

TEST_CASE("what the writer puts the cursor reads back") {
  Bytes out{0xFF};  // appends after what is there
  ByteWriter w(out);
  w.le16(65535);
  w.le32(0xDEADBEEF);
  w.le64(~0ull - 1);
  ByteCursor in(out);
  CHECK(in.u8() == 0xFF);
  CHECK(in.le16() == 65535);
  CHECK(in.le32() == 0xDEADBEEF);
  CHECK(in.le64() == ~0ull - 1);
  CHECK(in.ok());
  CHECK(in.remaining() == 0);
}

TEST_CASE("store_le and load_le fill and read a fixed header in place") {
  Bytes header(12, 0);
  footfall::store_le(std::span(header).subspan(4, 8), 0x0102030405060708ull, 8);
  CHECK(header[4] == 0x08);
  CHECK(header[11] == 0x01);
  CHECK(footfall::load_le(std::span<const std::uint8_t>(header).subspan(4), 8) == 0x0102030405060708ull);
  CHECK(footfall::load_le(std::span<const std::uint8_t>(header).subspan(4), 2) == 0x0708);
}
