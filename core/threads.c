#include "threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

#include "../runtime/pool.h"

/* The process's pool, like OpenMP's team and OpenBLAS's threads before it:
 * one per process, resized by pith_set_threads. */
static pithrt_pool *pool;
static int threads_set; /* 0: not set yet (all cores) */
static int pool_busy;   /* a loop holds the pool (atomic) */
static _Thread_local int in_task;
/* OpenBLAS's OpenMP build takes its thread count from the calling thread's
 * OpenMP setting, which is the default (all cores) on a thread OpenMP did not
 * start: each pool thread sets it to one before its first GEMM. */
static _Thread_local int blas_single;

static void blas_single_thread(void)
{
    if (!blas_single) {
        omp_set_num_threads(1);
        blas_single = 1;
    }
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* At exit the workers are stopped and joined: a process that exits while its
 * workers are still starting or spinning leaves threads that LeakSanitizer
 * (and a debugger) then sees mid-way. */
static void stop_pool(void)
{
    pithrt_pool_free(pool);
    pool = NULL;
}

int pith_set_threads(int n)
{
    static int registered;
    if (!registered)
        registered = !atexit(stop_pool);
    if (n <= 0)
        n = cores();
    /* OpenBLAS on one thread: its own split of a call differs between thread
     * counts in this CPU's edge kernels, and the workbench's loops already
     * keep every core busy */
    openblas_set_num_threads(1);
    blas_single_thread();
    if (n != pithrt_pool_threads(pool) || !threads_set) {
        pithrt_pool_free(pool);
        pool = pithrt_pool_new(n);
    }
    threads_set = n;
    return n;
}

int pith_get_threads(void)
{
    if (!threads_set)
        pith_set_threads(0);
    return pithrt_pool_threads(pool);
}

struct task_call {
    pith_task_fn fn;
    void *arg;
};

static void run_task(void *arg, int task, int thread)
{
    struct task_call *c = arg;
    blas_single_thread();
    in_task = 1;
    c->fn(c->arg, task, thread);
    in_task = 0;
}

void pith_parallel(int tasks, int max_threads, pith_task_fn fn, void *arg)
{
    if (!threads_set)
        pith_set_threads(0);
    int expect = 0;
    if (tasks < 2 || !pool || in_task || pithrt_pool_threads(pool) > max_threads ||
        !__atomic_compare_exchange_n(&pool_busy, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        for (int t = 0; t < tasks; t++)
            fn(arg, t, 0);
        return;
    }
    struct task_call c = {fn, arg};
    pithrt_parallel(pool, tasks, run_task, &c);
    __atomic_store_n(&pool_busy, 0, __ATOMIC_RELEASE);
}

struct range_call {
    pith_range_fn fn;
    void *arg;
    size_t n, grain;
};

static void run_range(void *arg, int task, int thread)
{
    const struct range_call *c = arg;
    size_t lo = (size_t)task * c->grain, hi = lo + c->grain < c->n ? lo + c->grain : c->n;
    c->fn(c->arg, lo, hi, thread);
}

void pith_parallel_for(size_t n, size_t grain, pith_range_fn fn, void *arg)
{
    if (!grain)
        grain = 1;
    if (n <= grain) {
        if (n)
            fn(arg, 0, n, 0);
        return;
    }
    struct range_call c = {fn, arg, n, grain};
    pith_parallel((int)((n + grain - 1) / grain), PITH_ANY_THREADS, run_range, &c);
}
