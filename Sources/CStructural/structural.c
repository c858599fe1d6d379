#include "CStructural.h"
#include <string.h>

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>

/// One 16-byte vector: its quote bits; bytes that send the line to the byte-level reader are
/// or-ed into *refuse (a backslash; below 0x20 as signed bytes, which also catches every byte
/// from 0x80 up: control characters and non-ASCII in one compare).
static inline uint32_t vector_bits(const uint8_t *p, uint32_t *refuse) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i odd = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    *refuse |= (uint32_t)_mm_movemask_epi8(odd);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
}
/// The bytes of one vector the writer must look at: a quote, a backslash, DEL, and below 0x20
/// as signed bytes (control characters, and every byte from 0x80 up).
static inline uint32_t unplain_bits(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
    return (uint32_t)_mm_movemask_epi8(bad);
}
#define RW_HAVE_UNPLAIN_BITS 1
#else
static inline uint32_t vector_bits(const uint8_t *p, uint32_t *refuse) {
    uint32_t q = 0, r = 0;
    for (int k = 0; k < 16; k++) {
        uint8_t c = p[k];
        if (c == '"') q |= 1u << k;
        if (c == '\\' || c < 0x20 || c >= 0x80) r |= 1u << k;
    }
    *refuse |= r;
    return q;
}
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define RW_HAVE_AVX2_PATH 1

/// Whether the 32 bytes at p lie in one page: loading them then cannot fault even where the
/// line ends before them (the bytes past its end are masked off, never used). Under
/// AddressSanitizer (the fuzzers' build) never: it rightly reports any read past an allocation.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RW_ASAN 1
#endif
#ifdef RW_ASAN
static inline int same_page_32(const uint8_t *p) { (void)p; return 0; }
#else
static inline int same_page_32(const uint8_t *p) { return ((uintptr_t)p & 4095) <= 4096 - 32; }
#endif

/// rw_quote_bitmap 32 bytes at a time, on processors with AVX2: half the steps of the SSE2
/// loop, and the line's last partial vector read in place when it cannot cross into another page.
__attribute__((target("avx2")))
static long quote_bitmap_avx2(const uint8_t *line, size_t count, uint64_t *words, size_t nwords) {
    const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), space = _mm256_set1_epi8(0x20);
    uint32_t refuse = 0;
    uint64_t parity = 0;
    size_t at = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t word = 0;
        for (int k = 0; k < 2 && at < count; k++, at += 32) {
            __m256i v;
            uint32_t keep = 0xFFFFFFFFu;
            if (at + 32 <= count) {
                v = _mm256_loadu_si256((const __m256i *)(line + at));
            } else if (same_page_32(line + at)) {
                v = _mm256_loadu_si256((const __m256i *)(line + at));
                keep = (1u << (count - at)) - 1;
            } else {
                // The last few bytes, padded with spaces (neither quotes nor refused).
                uint8_t tail[32];
                memset(tail, 0x20, sizeof tail);
                memcpy(tail, line + at, count - at);
                v = _mm256_loadu_si256((const __m256i *)tail);
            }
            // Below 0x20 as signed bytes: control characters and every byte from 0x80 up.
            __m256i odd = _mm256_or_si256(_mm256_cmpeq_epi8(v, backslash), _mm256_cmpgt_epi8(space, v));
            refuse |= (uint32_t)_mm256_movemask_epi8(odd) & keep;
            word |= (uint64_t)((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) & keep) << (32 * k);
        }
        words[w] = word;
        parity ^= word;
    }
    if (refuse || (__builtin_popcountll(parity) & 1)) return -1;
    return 0;
}

/// 1 with AVX2, 0 without, -1 before the first line asks.
static int avx2_known = -1;
#endif

long rw_quote_bitmap(const uint8_t *line, size_t count, uint64_t *words, size_t capacity) {
    size_t nwords = (count + 63) / 64;
    if (nwords > capacity) return -1;
#ifdef RW_HAVE_AVX2_PATH
    // Racy only in that two threads may both ask the processor; both get the same answer.
    int avx2 = __atomic_load_n(&avx2_known, __ATOMIC_RELAXED);
    if (avx2 < 0) {
        __builtin_cpu_init();
        avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&avx2_known, avx2, __ATOMIC_RELAXED);
    }
    if (avx2) return quote_bitmap_avx2(line, count, words, nwords);
#endif
    uint32_t refuse = 0;
    uint64_t parity = 0;
    size_t at = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t word = 0;
        for (int k = 0; k < 4; k++, at += 16) {
            uint32_t bits;
            if (at + 16 <= count) {
                bits = vector_bits(line + at, &refuse);
            } else if (at < count) {
                // The last few bytes, padded with spaces (neither quotes nor refused).
                uint8_t tail[16];
                memset(tail, 0x20, sizeof tail);
                memcpy(tail, line + at, count - at);
                bits = vector_bits(tail, &refuse);
            } else {
                break;
            }
            word |= (uint64_t)bits << (16 * k);
        }
        words[w] = word;
        parity ^= word;
    }
    if (refuse || (__builtin_popcountll(parity) & 1)) return -1;
    return 0;
}

static inline int plain_byte(uint8_t c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

size_t rw_json_plain_prefix(const uint8_t *s, size_t count) {
    size_t at = 0;
#ifdef RW_HAVE_UNPLAIN_BITS
    for (; at + 16 <= count; at += 16) {
        uint32_t bad = unplain_bits(s + at);
        if (bad) return at + (size_t)__builtin_ctz(bad);
    }
#endif
    while (at < count && plain_byte(s[at])) at++;
    return at;
}
