/* SHA-256 and SHA-512 from FIPS 180-4. The constants are the first bits of
 * the fractional parts of the square roots (initial values) and cube roots
 * (round constants) of the first primes, as the standard defines them. */
#include "sha2.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif
#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#include <sys/auxv.h>
#define HAVE_SHA2_CE 1
#endif

static const uint32_t k256[64] = {
	0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
	0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
	0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
	0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
	0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
	0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
	0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
	0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};
static const uint32_t h256[8] = {
	0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};
static const uint64_t k512[80] = {
	0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
	0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
	0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
	0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
	0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
	0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
	0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
	0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
	0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
	0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
	0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
	0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
	0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
	0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
	0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
	0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
	0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
	0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
	0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
	0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};
static const uint64_t h512[8] = {
	0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
	0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static void block256(uint32_t *s, const unsigned char *p);

#ifdef HAVE_SHA_NI
/* SHA-256 with the x86 SHA extensions (Intel since Goldmont/Ice Lake, AMD
 * since Zen): each sha256rnds2 does two rounds, sha256msg1/msg2 extend
 * the message schedule four words at a time. The state is kept as the
 * instructions want it: ABEF and CDGH. */
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks256_shani(uint32_t *s, const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
	__m128i st0, st1, tmp, msg, w[4], abef, cdgh;
	int i;

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)s), 0xB1);        /* CDAB */
	st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)(s + 4)), 0x1B);  /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);       /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);    /* CDGH */
	for (; n; n--, p += 64) {
		abef = st0;
		cdgh = st1;
		for (i = 0; i < 16; i++) {
			if (i < 4) {
				w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)), bswap);
			} else {
				/* W[t-16] + s0(W[t-15]) + W[t-7], then + s1(W[t-2]) */
				tmp = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				tmp = _mm_add_epi32(tmp, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(tmp, w[(i + 3) & 3]);
			}
			msg = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)(const void *)(k256 + 4 * i)));
			st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
		}
		st0 = _mm_add_epi32(st0, abef);
		st1 = _mm_add_epi32(st1, cdgh);
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);       /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);       /* DCHG */
	_mm_storeu_si128((__m128i *)(void *)s, _mm_blend_epi16(tmp, st1, 0xF0));        /* DCBA */
	_mm_storeu_si128((__m128i *)(void *)(s + 4), _mm_alignr_epi8(st1, tmp, 8));     /* HGFE */
}

static int cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

#ifdef HAVE_SHA2_CE
/* SHA-256 with the ARMv8 Cryptography Extensions (Cortex-A53 and later
 * where the SoC has them; not the Raspberry Pi 4's A72): sha256h/h2 do
 * four rounds on the ABCD and EFGH halves, sha256su0/su1 extend the
 * message schedule four words at a time. */
__attribute__((target("arch=armv8-a+crypto")))
static void blocks256_ce(uint32_t *s, const unsigned char *p, size_t n)
{
	uint32x4_t abcd = vld1q_u32(s), efgh = vld1q_u32(s + 4), abcd0, efgh0, w[4], wk, prev;
	int i;

	for (; n; n--, p += 64) {
		abcd0 = abcd;
		efgh0 = efgh;
		for (i = 0; i < 16; i++) {
			if (i < 4)
				w[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
			else   /* W[t-16..] with s0(W[t-15..]), then + W[t-7..] + s1(W[t-2..]) */
				w[i & 3] = vsha256su1q_u32(vsha256su0q_u32(w[i & 3], w[(i + 1) & 3]), w[(i + 2) & 3], w[(i + 3) & 3]);
			wk = vaddq_u32(w[i & 3], vld1q_u32(k256 + 4 * i));
			prev = abcd;
			abcd = vsha256hq_u32(abcd, efgh, wk);
			efgh = vsha256h2q_u32(efgh, prev, wk);
		}
		abcd = vaddq_u32(abcd, abcd0);
		efgh = vaddq_u32(efgh, efgh0);
	}
	vst1q_u32(s, abcd);
	vst1q_u32(s + 4, efgh);
}
#endif

static int accel = -1;  /* -1: not probed yet */

int sha2_accel(int enable)
{
#ifdef HAVE_SHA_NI
	accel = enable && cpu_has_sha_ni();
#elif defined(HAVE_SHA2_CE)
	accel = enable && (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
#else
	(void)enable;
	accel = 0;
#endif
	return accel;
}

static void blocks256(uint32_t *s, const unsigned char *p, size_t n)
{
	if (accel < 0)
		sha2_accel(1);
#ifdef HAVE_SHA_NI
	if (accel) {
		blocks256_shani(s, p, n);
		return;
	}
#elif defined(HAVE_SHA2_CE)
	if (accel) {
		blocks256_ce(s, p, n);
		return;
	}
#endif
	for (; n; n--, p += 64)
		block256(s, p);
}

static void block256(uint32_t *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 64; i++) {
		uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s[0]; b = s[1]; c = s[2]; d = s[3]; e = s[4]; f = s[5]; g = s[6]; h = s[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) + k256[i] + w[i];
		t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

static void block512(uint64_t *s, const unsigned char *p)
{
	uint64_t w[80], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be64(p + 8 * i);
	for (; i < 80; i++) {
		uint64_t s0 = ROR64(w[i - 15], 1) ^ ROR64(w[i - 15], 8) ^ (w[i - 15] >> 7);
		uint64_t s1 = ROR64(w[i - 2], 19) ^ ROR64(w[i - 2], 61) ^ (w[i - 2] >> 6);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s[0]; b = s[1]; c = s[2]; d = s[3]; e = s[4]; f = s[5]; g = s[6]; h = s[7];
	for (i = 0; i < 80; i++) {
		t1 = h + (ROR64(e, 14) ^ ROR64(e, 18) ^ ROR64(e, 41)) + ((e & f) ^ (~e & g)) + k512[i] + w[i];
		t2 = (ROR64(a, 28) ^ ROR64(a, 34) ^ ROR64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

size_t hash_len(enum hash_alg alg)
{
	return alg == HASH_SHA512 ? SHA512_LEN : SHA256_LEN;
}

size_t hash_block_len(enum hash_alg alg)
{
	return alg == HASH_SHA512 ? 128 : 64;
}

void hash_init(struct hash_ctx *c, enum hash_alg alg)
{
	memset(c, 0, sizeof *c);
	c->alg = alg;
	if (alg == HASH_SHA512)
		memcpy(c->h.s512, h512, sizeof h512);
	else
		memcpy(c->h.s256, h256, sizeof h256);
}

static void compress(struct hash_ctx *c, const unsigned char *p, size_t n)
{
	if (c->alg == HASH_SHA512)
		for (; n; n--, p += 128)
			block512(c->h.s512, p);
	else
		blocks256(c->h.s256, p, n);
}

void hash_update(struct hash_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t bl = hash_block_len(c->alg);

	c->total += len;
	if (c->fill) {
		size_t n = bl - c->fill < len ? bl - c->fill : len;

		memcpy(c->buf + c->fill, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill < bl)
			return;
		compress(c, c->buf, 1);
		c->fill = 0;
	}
	if (len >= bl) {
		compress(c, p, len / bl);
		p += len / bl * bl;
		len %= bl;
	}
	memcpy(c->buf, p, len);
	c->fill = len;
}

void hash_final(struct hash_ctx *c, unsigned char *out)
{
	size_t bl = hash_block_len(c->alg), lenpos = bl - 8, i;
	/* the length field is 64 bits (SHA-256) or 128 bits (SHA-512, upper half zero) */
	size_t room = bl - (c->alg == HASH_SHA512 ? 16 : 8);
	uint64_t bits = c->total << 3;

	c->buf[c->fill++] = 0x80;
	if (c->fill > room) {
		memset(c->buf + c->fill, 0, bl - c->fill);
		compress(c, c->buf, 1);
		c->fill = 0;
	}
	memset(c->buf + c->fill, 0, lenpos - c->fill);
	put_be64(c->buf + lenpos, bits);
	compress(c, c->buf, 1);
	if (c->alg == HASH_SHA512) {
		for (i = 0; i < 8; i++)
			put_be64(out + 8 * i, c->h.s512[i]);
	} else {
		for (i = 0; i < 8; i++) {
			uint32_t v = c->h.s256[i];

			out[4 * i] = (unsigned char)(v >> 24);
			out[4 * i + 1] = (unsigned char)(v >> 16);
			out[4 * i + 2] = (unsigned char)(v >> 8);
			out[4 * i + 3] = (unsigned char)v;
		}
	}
}

void hash_buf(enum hash_alg alg, const void *data, size_t len, unsigned char *out)
{
	struct hash_ctx c;

	hash_init(&c, alg);
	hash_update(&c, data, len);
	hash_final(&c, out);
}
