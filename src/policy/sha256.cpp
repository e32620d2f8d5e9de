/*
 * sha256.cpp: SHA-256 per FIPS 180-4 and the audit framing (see sha256.hpp).
 */
#include "policy/sha256.hpp"

#include <algorithm>
#include <cstring>

#include "pg/no_postgres.hpp"

namespace retention::policy
{

namespace
{

constexpr std::array<uint32_t, 64> ROUND_CONSTANTS = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t
Rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

} // namespace

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
{
}

void
Sha256::Block(const uint8_t *block)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
	{
		w[i] = (static_cast<uint32_t>(block[4 * i]) << 24) |
		       (static_cast<uint32_t>(block[4 * i + 1]) << 16) |
		       (static_cast<uint32_t>(block[4 * i + 2]) << 8) |
		       static_cast<uint32_t>(block[4 * i + 3]);
	}
	for (int i = 16; i < 64; i++)
	{
		const uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		const uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
	uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
	for (int i = 0; i < 64; i++)
	{
		const uint32_t s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
		const uint32_t choice = (e & f) ^ (~e & g);
		const uint32_t t1 = h + s1 + choice + ROUND_CONSTANTS[i] + w[i];
		const uint32_t s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
		const uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
		const uint32_t t2 = s0 + majority;
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state_[0] += a;
	state_[1] += b;
	state_[2] += c;
	state_[3] += d;
	state_[4] += e;
	state_[5] += f;
	state_[6] += g;
	state_[7] += h;
}

void
Sha256::Update(const void *data, size_t length)
{
	const auto *bytes = static_cast<const uint8_t *>(data);
	total_bytes_ += length;
	while (length > 0)
	{
		const size_t take = std::min(length, buffer_.size() - buffered_);
		std::memcpy(buffer_.data() + buffered_, bytes, take);
		buffered_ += take;
		bytes += take;
		length -= take;
		if (buffered_ == buffer_.size())
		{
			Block(buffer_.data());
			buffered_ = 0;
		}
	}
}

Digest
Sha256::Finish()
{
	const uint64_t bit_length = total_bytes_ * 8;
	const uint8_t one = 0x80;
	const uint8_t zero = 0;
	Update(&one, 1);
	while (buffered_ != 56)
	{
		Update(&zero, 1);
	}
	uint8_t length_bytes[8];
	for (int i = 0; i < 8; i++)
	{
		length_bytes[i] = static_cast<uint8_t>(bit_length >> (56 - 8 * i));
	}
	Update(length_bytes, sizeof(length_bytes));

	Digest digest{};
	for (int i = 0; i < 8; i++)
	{
		digest[4 * i] = static_cast<uint8_t>(state_[i] >> 24);
		digest[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
		digest[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
		digest[4 * i + 3] = static_cast<uint8_t>(state_[i]);
	}
	return digest;
}

void
AuditHasher::AddLength(uint32_t length)
{
	const uint8_t bytes[4] = {static_cast<uint8_t>(length >> 24),
	                          static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 8),
	                          static_cast<uint8_t>(length)};
	sha_.Update(bytes, sizeof(bytes));
}

void
AuditHasher::AddNull()
{
	AddLength(0xFFFFFFFFu);
}

void
AuditHasher::AddValue(const void *data, size_t length)
{
	AddLength(static_cast<uint32_t>(length));
	sha_.Update(data, length);
}

Digest
AuditHasher::Finish()
{
	return sha_.Finish();
}

std::string
ToHex(const Digest &digest)
{
	static const char *const HEX = "0123456789abcdef";
	std::string text;
	text.reserve(digest.size() * 2);
	for (const uint8_t byte : digest)
	{
		text.push_back(HEX[byte >> 4]);
		text.push_back(HEX[byte & 0x0F]);
	}
	return text;
}

Digest
HmacSha256(const void *key, size_t key_length, const void *message, size_t message_length)
{
	constexpr size_t BLOCK = 64;
	std::array<uint8_t, BLOCK> block_key{};
	if (key_length > BLOCK)
	{
		Sha256 hashed;
		hashed.Update(key, key_length);
		const Digest digest = hashed.Finish();
		std::copy(digest.begin(), digest.end(), block_key.begin());
	}
	else if (key_length > 0)
	{
		const auto *bytes = static_cast<const uint8_t *>(key);
		std::copy(bytes, bytes + key_length, block_key.begin());
	}
	std::array<uint8_t, BLOCK> inner_pad{};
	std::array<uint8_t, BLOCK> outer_pad{};
	for (size_t i = 0; i < BLOCK; i++)
	{
		inner_pad[i] = static_cast<uint8_t>(block_key[i] ^ 0x36U);
		outer_pad[i] = static_cast<uint8_t>(block_key[i] ^ 0x5cU);
	}
	Sha256 inner;
	inner.Update(inner_pad.data(), BLOCK);
	inner.Update(message, message_length);
	const Digest inner_digest = inner.Finish();
	Sha256 outer;
	outer.Update(outer_pad.data(), BLOCK);
	outer.Update(inner_digest.data(), inner_digest.size());
	return outer.Finish();
}

} // namespace retention::policy
