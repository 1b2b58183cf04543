/* A small thread pool: threads - 1 workers wait (spinning briefly, then on a
 * condition variable) for a parallel loop; the calling thread takes part.
 * Tasks are dealt round-robin (task t runs on thread t % threads), so a loop
 * costs one wake-up and one join and no lock per task. */
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
