// SPDX-License-Identifier: Apache-2.0
// utf8.c -- UTF-8 validation and a sanitising copy (utf8.h).
// Thread: any. Allocation: none.
#include "transport/utf8.h"

#include <string.h>

int utf8_seq_len(const unsigned char* s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int len;
    unsigned lo = 0x80, hi = 0xbf;   // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) len = 3, lo = 0xa0;             // no overlongs
    else if (c == 0xed) len = 3, hi = 0x9f;             // no surrogates
    else if (c >= 0xe1 && c <= 0xef) len = 3;
    else if (c == 0xf0) len = 4, lo = 0x90;             // no overlongs
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) len = 4, hi = 0x8f;             // nothing past U+10FFFF
    else return 0;
    if (n < (size_t)len || s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

int utf8_valid(const char* s) {
    const unsigned char* p = (const unsigned char*)s;
    size_t n = strlen(s);
    while (n > 0) {
        int k = utf8_seq_len(p, n);
        if (!k) return 0;
        p += k, n -= (size_t)k;
    }
    return 1;
}

int utf8_copy(char* dst, size_t cap, const char* src) {
    const unsigned char* p = (const unsigned char*)(src ? src : "");
    size_t n = strlen((const char*)p), o = 0;
    int bad = 0;
    while (n > 0) {
        int k = utf8_seq_len(p, n);
        size_t w = k ? (size_t)k : 1;
        if (o + w >= cap) break;   // never cut a character in half
        if (k) memcpy(dst + o, p, w);
        else dst[o] = '?', bad++;
        o += w, p += w, n -= w;
    }
    dst[o] = '\0';
    return bad;
}
