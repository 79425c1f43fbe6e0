// A background thread that yields its core to everything else (SCHED_IDLE),
// for work that must not slow the computation beside it (provenance hashing).
#ifndef SPARROW_CSYSTEM_THREADS_H
#define SPARROW_CSYSTEM_THREADS_H
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

struct sparrow_idle_thread_start { void *(*body)(void *); void *context; };

// glibc's pthread attributes accept only OTHER, FIFO and RR, so the thread
// lowers itself: sched_setscheduler(0, …) applies to the calling thread.
static void *sparrow_idle_thread_trampoline(void *argument) {
    struct sparrow_idle_thread_start start = *(struct sparrow_idle_thread_start *)argument;
    free(argument);
    struct sched_param parameters = { .sched_priority = 0 };
    (void)sched_setscheduler(0, SCHED_IDLE, &parameters);
    return start.body(start.context);
}

// Starts `body(context)` on a detached thread that runs at SCHED_IDLE (only
// when its core has nothing else to run). 0 on success, else an errno value.
static inline int sparrow_start_idle_thread(void *(*body)(void *), void *context) {
    struct sparrow_idle_thread_start *start = malloc(sizeof *start);
    if (!start) return 12; // ENOMEM
    start->body = body;
    start->context = context;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int status = pthread_create(&thread, &attributes, sparrow_idle_thread_trampoline, start);
    pthread_attr_destroy(&attributes);
    if (status != 0) free(start);
    return status;
}
#endif
