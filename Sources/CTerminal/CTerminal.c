#include "CTerminal.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

// C, not Swift: a signal handler may only make async-signal-safe calls and touch plain globals.
static struct termios saved_termios;
static int saved_valid = 0;
static struct sigaction previous[32];

void rw_restore_terminal(void) {
    if (saved_valid) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    // Mouse reporting off, attributes reset, cursor shown, alternate screen left.
    static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
    ssize_t ignored = write(STDOUT_FILENO, reset, sizeof reset - 1);
    (void)ignored;
}

static void crash_handler(int sig, siginfo_t *info, void *context) {
    rw_restore_terminal();
    struct sigaction *prev = (sig > 0 && sig < 32) ? &previous[sig] : NULL;
    if (prev && (prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        sigaction(sig, prev, NULL);
        prev->sa_sigaction(sig, info, context);
        return;
    }
    if (prev && !(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        sigaction(sig, prev, NULL);
        prev->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void rw_install_crash_restore(void) {
    if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) saved_valid = 1;
    // A parent may hand us a blocked SIGWINCH (signal masks are inherited); curses needs it to see
    // the terminal resized.
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    sigprocmask(SIG_UNBLOCK, &winch, NULL);
    int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP };
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = crash_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(signals[i], &sa, &previous[signals[i]]);
    }
}

int rw_termination_signals_fd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int rw_read_termination_signal(int fd) {
    struct signalfd_siginfo info;
    if (fd < 0) return 0;
    if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}
