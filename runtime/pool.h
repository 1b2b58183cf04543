/* A small thread pool: threads - 1 workers wait (spinning briefly, then on a
 * condition variable) for a parallel loop; the calling thread takes part.
 * Threads take tasks from an atomic counter, so a loop costs one wake-up and
 * one atomic operation per task, and no lock.
 *
 * A loop is complete when its tasks are done, not when every worker has
 * checked in: on a busy machine a worker the scheduler has parked does not
 * hold the caller (who runs the tasks nobody took), and when it wakes late it
 * finds nothing to do and waits again. Which thread ran which task never
 * changes a result: tasks write disjoint outputs, and `thread` only picks a
 * scratch buffer. */
#ifndef PITHRT_POOL_H
#define PITHRT_POOL_H

typedef void (*pithrt_task_fn)(void *arg, int task, int thread);

typedef struct pithrt_pool pithrt_pool;

/* NULL when threads < 2 or on failure (then loops run on the caller alone). */
pithrt_pool *pithrt_pool_new(int threads);
void pithrt_pool_free(pithrt_pool *p);
/* Threads a loop runs on (1 for NULL). */
int pithrt_pool_threads(const pithrt_pool *p);
/* Runs fn(arg, t, thread) for t in [0, tasks), thread in [0, threads), each
 * thread index on one thread at a time; returns when all tasks are done.
 * One loop at a time per pool (the caller's thread owns the pool). */
void pithrt_parallel(pithrt_pool *p, int tasks, pithrt_task_fn fn, void *arg);

#endif
