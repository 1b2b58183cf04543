/* The thread pool. Workers spin on the generation counter for a short while
 * after each loop, because a network's layers follow one another within
 * microseconds and a sleeping thread takes tens of microseconds to wake. */
#include <stdlib.h>

#include "pool.h"

#ifdef PITHRT_NO_THREADS
/* A build without POSIX threads (make -C runtime THREADS=0): every loop runs
 * on the caller. */
pithrt_pool *pithrt_pool_new(int threads)
{
    (void)threads;
    return NULL;
}
void pithrt_pool_free(pithrt_pool *p) { (void)p; }
int pithrt_pool_threads(const pithrt_pool *p)
{
    (void)p;
    return 1;
}
void pithrt_parallel(pithrt_pool *p, int tasks, pithrt_task_fn fn, void *arg)
{
    (void)p;
    for (int t = 0; t < tasks; t++)
        fn(arg, t, 0);
}
#else
#include <pthread.h>

#define POOL_MAX 64
#define SPIN 200000

struct pithrt_pool {
    int threads;
    pthread_t tid[POOL_MAX];
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    unsigned gen;          /* bumped to start a loop (atomic) */
    int done;              /* workers finished with the current loop (atomic) */
    int stop;
    pithrt_task_fn fn;
    void *arg;
    int tasks;
    int next;              /* the next task to take (atomic) */
    struct worker {
        pithrt_pool *p;
        int index;
    } w[POOL_MAX];
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Tasks are taken one at a time from a shared counter, so a thread that
 * drew small tasks takes more of them. */
static void run_share(pithrt_pool *p, int index)
{
    for (int t; (t = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->tasks;)
        p->fn(p->arg, t, index);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pithrt_pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen && spins < SPIN) {
            cpu_relax();
            spins++;
        }
        if (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen) {
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
            return NULL;
        run_share(p, w->index);
        if (__atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL) == p->threads - 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

pithrt_pool *pithrt_pool_new(int threads)
{
    if (threads < 2)
        return NULL;
    if (threads > POOL_MAX)
        threads = POOL_MAX;
    pithrt_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    for (int i = 1; i < threads; i++) {
        p->w[i].p = p;
        p->w[i].index = i;
        if (pthread_create(&p->tid[i], NULL, worker_main, &p->w[i])) {
            p->threads = i; /* run with the workers that did start */
            break;
        }
    }
    if (p->threads < 2) {
        pithrt_pool_free(p);
        return NULL;
    }
    return p;
}

void pithrt_pool_free(pithrt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int pithrt_pool_threads(const pithrt_pool *p) { return p ? p->threads : 1; }

void pithrt_parallel(pithrt_pool *p, int tasks, pithrt_task_fn fn, void *arg)
{
    if (!p || tasks < 2) {
        for (int t = 0; t < tasks; t++)
            fn(arg, t, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->tasks = tasks;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->done, 0, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->mu);
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    int spins = 0;
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < p->threads - 1 && spins < SPIN) {
        cpu_relax();
        spins++;
    }
    pthread_mutex_lock(&p->mu);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < p->threads - 1)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
#endif
