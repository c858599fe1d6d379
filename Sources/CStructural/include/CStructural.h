#ifndef RELAYWATCH_CSTRUCTURAL_H
#define RELAYWATCH_CSTRUCTURAL_H
#include <stddef.h>
#include <stdint.h>

/// Stage one of the delivery-log reader's fast path (simdjson's idea, cut down to what a log
/// line in the writer's form needs): a bitmap of the line's quotes, one bit a byte, 64 bytes a
/// word, found 16 bytes at a time, while the same pass looks for any backslash, control
/// character or non-ASCII byte. With none of those every quote opens or closes a string, so the
/// bitmap alone says where each string (key or value) ends, and stage two checks the few
/// structural bytes between strings at the places they must be.
///
/// Writes (count + 63) / 64 words. Returns 0, or -1 when the line is for the
/// byte-level reader: it holds a backslash, a control character or a non-ASCII byte (escapes and
/// UTF-8 need a closer look), an odd number of quotes, or needs more than `capacity` words.
long rw_quote_bitmap(const uint8_t *line, size_t count, uint64_t *words, size_t capacity);

/// How many leading bytes of a string the delivery-log writer can copy as they are: printable
/// ASCII other than the quote and the backslash, 16 bytes at a time. The writer copies that run
/// in one piece and looks at the rest (escapes, UTF-8, C1 controls) byte by byte; most strings
/// in a log (addresses, ids, reply text) have no such rest.
size_t rw_json_plain_prefix(const uint8_t *s, size_t count);

#endif
