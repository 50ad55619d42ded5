// SPDX-License-Identifier: Apache-2.0
// utf8.h -- keep text that goes back to a peer valid UTF-8.
//
// Error replies quote parts of bad messages (a message type, a key, a path); a peer
// that decodes strings as UTF-8 (protocol.md advises it) must never receive invalid
// bytes from us. utf8_copy copies text replacing every byte that does not start a
// well-formed sequence (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF)
// with '?', and never cuts a character in half when it truncates.
// Thread: any. Allocation: none.
#ifndef MAAC_UTF8_H
#define MAAC_UTF8_H

#include <stddef.h>

// Length (1..4) of the well-formed UTF-8 sequence at s (n bytes left), or 0.
int utf8_seq_len(const unsigned char* s, size_t n);
// 1 when the NUL-terminated s is valid UTF-8.
int utf8_valid(const char* s);
// Copy src into dst (cap > 0 bytes incl. NUL), invalid bytes as '?'. Returns the
// number of bytes replaced.
int utf8_copy(char* dst, size_t cap, const char* src);

#endif
