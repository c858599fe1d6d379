#ifndef RELAYWATCH_CNCURSES_SHIM_H
#define RELAYWATCH_CNCURSES_SHIM_H

// Wide-character curses: must be defined before the header (SwiftPM drops pkg-config's -D flags).
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <ncursesw/curses.h>
#include <locale.h>

// Macros and globals Swift cannot import (or refuses under Swift 6 concurrency checking).
static inline attr_t rw_attr_bold(void) { return A_BOLD; }
static inline attr_t rw_attr_dim(void) { return A_DIM; }
static inline attr_t rw_attr_underline(void) { return A_UNDERLINE; }
static inline attr_t rw_attr_reverse(void) { return A_REVERSE; }
static inline attr_t rw_attr_normal(void) { return A_NORMAL; }
static inline int rw_lines(void) { return LINES; }
static inline int rw_cols(void) { return COLS; }
static inline int rw_colors(void) { return COLORS; }
static inline int rw_color_pairs(void) { return COLOR_PAIRS; }
static inline WINDOW *rw_stdscr(void) { return stdscr; }
static inline mmask_t rw_mouse_mask(void) { return BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED; }
static inline int rw_button1(mmask_t m) { return (m & (BUTTON1_CLICKED | BUTTON1_PRESSED)) != 0; }
static inline int rw_wheel_up(mmask_t m) { return (m & BUTTON4_PRESSED) != 0; }
static inline int rw_wheel_down(mmask_t m) { return (m & BUTTON5_PRESSED) != 0; }

/// A cell: a wide-character string (one grapheme) with attributes and an extended colour pair.
static inline int rw_put_cell(int y, int x, const wchar_t *text, attr_t attrs, int pair) {
    cchar_t cc;
    if (setcchar(&cc, text, attrs, 0, &pair) != OK) return ERR;
    return mvadd_wch(y, x, &cc);
}

#endif
