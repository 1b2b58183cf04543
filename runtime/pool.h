/* A small thread pool: threads - 1 workers wait (spinning briefly, then on a
 * condition variable) for a parallel loop; the calling thread takes part.
 * Threads take tasks from an atomic counter, so a loop costs one wake-up, one
 * join and one atomic add per task, and no lock. */
#ifndef PITHRT_POOL_H
#define PITHRT_POOL_H

typedef void (*pithrt_task_fn)(void *arg, int task, int thread);

typedef struct pithrt_pool pithrt_pool;

/* NULL when threads < 2 or on failure (then loops run on the caller alone). */
pithrt_pool *pithrt_pool_new(int threads);
void pithrt_pool_free(pithrt_pool *p);
/* Runs fn(arg, t, thread) for t in [0, tasks); returns when all are done. */
/* Threads a loop runs on (1 for NULL). */
int pithrt_pool_threads(const pithrt_pool *p);
void pithrt_parallel(pithrt_pool *p, int tasks, pithrt_task_fn fn, void *arg);

#endif
