// Signal plumbing that Swift cannot spell safely: sigaction with a full mask
// and an alternate stack (a stack overflow still reaches the crash handler),
// and atomics on plain memory that a signal handler may touch without locks.
// The state itself lives in Swift (SparrowCore/ProcessSignals.swift); these
// functions keep none.
#ifndef SPARROW_CSYSTEM_SIGNALS_H
#define SPARROW_CSYSTEM_SIGNALS_H
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int sparrow_install_handler(int signal_number, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigfillset(&action.sa_mask);
    action.sa_flags = SA_ONSTACK | SA_RESTART;
    return sigaction(signal_number, &action, NULL);
}

/// SIG_DFL or SIG_IGN for `signal_number`.
static inline int sparrow_set_disposition(int signal_number, int ignore) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore ? SIG_IGN : SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(signal_number, &action, NULL);
}

/// Unblocks `signal_number` and raises it with its default action: the
/// process ends by that signal, so a parent sees 128 + N, as for any crash.
static inline void sparrow_die_by(int signal_number) {
    sparrow_set_disposition(signal_number, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal_number);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signal_number);
    _exit(128 + signal_number);
}

/// An alternate signal stack for the calling thread (the main thread: a stack
/// overflow there would otherwise leave no stack to run the handler on).
static inline int sparrow_alternate_signal_stack(size_t bytes) {
    stack_t stack;
    stack.ss_sp = malloc(bytes);
    if (stack.ss_sp == NULL) return -1;
    stack.ss_size = bytes;
    stack.ss_flags = 0;
    return sigaltstack(&stack, NULL);
}

static inline void sparrow_write_stderr(const char *text) {
    size_t length = strlen(text), done = 0;
    while (done < length) {
        ssize_t n = write(2, text + done, length - done);
        if (n <= 0) return;
        done += (size_t)n;
    }
}

static inline void *sparrow_atomic_load_pointer(void *const *slot) { return __atomic_load_n(slot, __ATOMIC_SEQ_CST); }
static inline int sparrow_atomic_claim_pointer(void **slot, void *value) {
    void *expected = NULL;
    return __atomic_compare_exchange_n(slot, &expected, value, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline int sparrow_atomic_release_pointer(void **slot, void *value) {
    void *expected = value;
    return __atomic_compare_exchange_n(slot, &expected, NULL, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline long sparrow_atomic_load_long(const long *slot) { return __atomic_load_n(slot, __ATOMIC_SEQ_CST); }
static inline void sparrow_atomic_store_long(long *slot, long value) { __atomic_store_n(slot, value, __ATOMIC_SEQ_CST); }
static inline long sparrow_atomic_exchange_long(long *slot, long value) { return __atomic_exchange_n(slot, value, __ATOMIC_SEQ_CST); }
#endif
