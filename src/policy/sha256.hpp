/*
 * sha256.hpp: SHA-256 (FIPS 180-4) and the canonical framing of an audit row, as pure C++.
 *
 * The audit chain must hash the same bytes on every server version and in every session, so
 * it hashes a framing of the columns' binary send forms (see audit/AuditHasher) rather than
 * their text forms, which depend on DateStyle and TimeZone. PostgreSQL's own sha256 lives in
 * different places across versions 13-17; a small implementation here keeps one code path and
 * lets the unit tests check it against the standard's test vectors.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace retention::policy
{

using Digest = std::array<uint8_t, 32>;
static_assert(std::is_trivially_destructible_v<Digest>,
              "Digest lives in frames that call the backend");

class Sha256
{
public:
	Sha256();
	void Update(const void *data, size_t length);
	Digest Finish();

private:
	void Block(const uint8_t *block);

	std::array<uint32_t, 8> state_;
	std::array<uint8_t, 64> buffer_{};
	size_t buffered_ = 0;
	uint64_t total_bytes_ = 0;
};

/*
 * The framing of one audit row: for each hashed column in a fixed order, a 4-byte big-endian
 * length (0xFFFFFFFF for NULL) followed by the column's bytes. Framing makes the encoding
 * unambiguous (no two rows share one byte string).
 */
class AuditHasher
{
public:
	void AddNull();
	void AddValue(const void *data, size_t length);
	Digest Finish();

private:
	void AddLength(uint32_t length);

	Sha256 sha_;
};
/* both live in frames that call the backend (catalog/audit.cpp, catalog/holds.cpp) */
static_assert(std::is_trivially_destructible_v<Sha256>,
              "Sha256 lives in frames that call the backend");
static_assert(std::is_trivially_destructible_v<AuditHasher>,
              "AuditHasher lives in frames that call the backend");

std::string ToHex(const Digest &digest);

/* HMAC-SHA256 (RFC 2104) of `message` keyed with `key`. */
Digest HmacSha256(const void *key, size_t key_length, const void *message, size_t message_length);

} // namespace retention::policy
