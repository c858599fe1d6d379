#ifndef RELAYWATCH_CTERMINAL_H
#define RELAYWATCH_CTERMINAL_H

/// Saves the terminal's settings and installs handlers for the crash signals (SIGSEGV, SIGBUS,
/// SIGILL, SIGABRT, SIGFPE, SIGTRAP) that put the terminal back before the signal goes on to
/// Swift's backtracer or the default action. Also unblocks SIGWINCH, which a parent may have
/// left blocked. Call before curses takes the terminal.
void rw_install_crash_restore(void);

/// Puts the terminal back as rw_install_crash_restore found it (async-signal-safe).
void rw_restore_terminal(void);

/// Blocks SIGTERM, SIGHUP, SIGINT and SIGQUIT and returns a signalfd that reports them, so the
/// event loop sees a kill between frames and restores the terminal like q does. -1 on failure.
int rw_termination_signals_fd(void);

/// The signal waiting on that descriptor, or 0.
int rw_read_termination_signal(int fd);

#endif
