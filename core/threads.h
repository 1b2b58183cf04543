/* The workbench's threads: one pool of workers for its parallel loops (the
 * runtime's pool, runtime/pool.h), and OpenBLAS kept on one thread.
 *
 * Every split is fixed by the shapes: a loop is cut into pieces whose
 * boundaries depend on the sizes only, each piece computes exactly what it
 * would on one thread, and reductions over pieces add them in piece order.
 * So results do not depend on the thread count, on which thread ran which
 * piece, or on how this CPU's OpenBLAS would have split a call. A loop ends
 * when its pieces are done, so a worker the scheduler has parked on a busy
 * machine holds nobody. */
#ifndef PITH_THREADS_H
#define PITH_THREADS_H

#include <limits.h>
#include <stddef.h>

/* n <= 0: all cores. Returns the count in effect. Call it between parallel
 * loops (not from inside one). */
int pith_set_threads(int n);
int pith_get_threads(void);

typedef void (*pith_task_fn)(void *arg, int task, int thread);
typedef void (*pith_range_fn)(void *arg, size_t lo, size_t hi, int thread);

/* Runs fn(arg, t, thread) for t in [0, tasks), thread in [0, max_threads):
 * one thread index on one thread at a time, so per-thread scratch indexed by
 * it is safe. Runs on the caller alone when the pool has more threads than
 * max_threads (scratch sized for fewer), from inside another loop's task, or
 * while another thread's loop holds the pool. */
void pith_parallel(int tasks, int max_threads, pith_task_fn fn, void *arg);
/* max_threads for tasks that keep no per-thread scratch */
#define PITH_ANY_THREADS INT_MAX

/* fn(arg, lo, hi, thread) over [0, n) in pieces of `grain` (the last may be
 * shorter); one call on the caller when n <= grain. */
void pith_parallel_for(size_t n, size_t grain, pith_range_fn fn, void *arg);

#endif
