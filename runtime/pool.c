/* The thread pool.
 *
 * One 64-bit word holds the current loop: a generation (bumped per loop), its
 * task count and the next task to take. A thread claims a task by one
 * compare-and-swap on that word, so a claim is always of the loop the word
 * holds now; the caller replaces the word only once every task of the loop
 * has finished, so a claimed task's loop is still current while it runs and
 * its function and argument can be read after the claim. A worker that wakes
 * after its loop ended reads a word with no task left (or a newer loop, which
 * it joins): it never holds the caller, and it cannot run a stale task.
 *
 * Workers spin for a short time after a loop, because a network's layers
 * follow one another within microseconds and a sleeping thread takes tens of
 * microseconds to wake; the spin is bounded by time, not by a count, so it
 * does not keep a core from another process for milliseconds on a CPU whose
 * pause instruction is slow.
 *
 * On a busy machine the scheduler can park a worker in the middle of a task,
 * and the caller then waits for that task for a time slice of someone else's
 * (milliseconds, many times an op's length). When a loop's wait for other
 * threads' tasks exceeds both HOLD_NS and the caller's own share of the
 * loop, the next loops run on the caller alone, for a stretch that doubles
 * while it keeps happening and halves when a loop on all threads goes well:
 * N threads then cost little more than one where the other cores are taken,
 * and nothing where they are free. */
#include <stdint.h>
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
#include <sched.h>
#include <time.h>

#define POOL_MAX 64
/* Spin before blocking: 50 us covers the gap between two ops of a network
 * (bench/contention.sh measures it) and costs a busy machine little. */
#define SPIN_NS 50000
/* A wait for other threads' tasks longer than this (and than the caller's own
 * part of the loop) means a worker was parked while it held a task. */
#define HOLD_NS 200000
#define SOLO_MIN 8
#define SOLO_MAX 4096
/* The loop word: generation (16 bits) | tasks (24) | next (24). */
#define TASK_BITS 24
#define TASK_MASK ((UINT64_C(1) << TASK_BITS) - 1)
#define MAX_TASKS ((int)TASK_MASK)

struct pithrt_pool {
    int threads;
    pthread_t tid[POOL_MAX];
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    uint64_t loop;    /* the loop word (atomic) */
    int finished;     /* tasks of the current loop done (atomic) */
    int sleepers;     /* workers blocked on wake (atomic) */
    int stop;         /* (atomic) */
    pithrt_task_fn fn;
    void *arg;
    int solo;         /* loops left to run on the caller alone (caller only) */
    int stretch;      /* the next solo stretch (caller only) */
    struct worker {
        pithrt_pool *p;
        int index;
    } w[POOL_MAX];
};

static uint64_t loop_gen(uint64_t w) { return w >> (2 * TASK_BITS); }
static int loop_tasks(uint64_t w) { return (int)((w >> TASK_BITS) & TASK_MASK); }
static int loop_next(uint64_t w) { return (int)(w & TASK_MASK); }

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Between an idle worker's spins: a thread the machine has no core for runs
 * first (on an idle core this returns at once). The caller does not yield
 * while it waits for a task: on a busy core that gives away a whole time
 * slice, which doubled the p90 latency in bench/contention.py. */
static void yield_core(void) { sched_yield(); }

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Claims and runs tasks of the loop the word holds until none is left. */
static void run_tasks(pithrt_pool *p, int index)
{
    uint64_t w = __atomic_load_n(&p->loop, __ATOMIC_ACQUIRE);
    for (;;) {
        int next = loop_next(w), tasks = loop_tasks(w);
        if (next >= tasks)
            return;
        if (!__atomic_compare_exchange_n(&p->loop, &w, w + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue; /* w now holds the word another thread left */
        p->fn(p->arg, next, index);
        if (__atomic_add_fetch(&p->finished, 1, __ATOMIC_ACQ_REL) == tasks) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
        w = __atomic_load_n(&p->loop, __ATOMIC_ACQUIRE);
    }
}

/* Waits for a loop of another generation than `seen` (spins, then blocks);
 * returns the generation it saw. */
static uint64_t wait_for_loop(pithrt_pool *p, uint64_t seen)
{
    int64_t until = now_ns() + SPIN_NS;
    for (int i = 1;; i++) {
        uint64_t gen = loop_gen(__atomic_load_n(&p->loop, __ATOMIC_ACQUIRE));
        if (gen != seen)
            return gen;
        cpu_relax();
        if (!(i & 63)) {
            if (now_ns() > until)
                break;
            yield_core();
        }
    }
    pthread_mutex_lock(&p->mu);
    /* sleepers is raised before the word is read again, and the caller reads
     * sleepers after it writes the word (both sequentially consistent): either
     * this thread sees the new loop or the caller sees a sleeper to wake. */
    __atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
    uint64_t gen;
    while ((gen = loop_gen(__atomic_load_n(&p->loop, __ATOMIC_SEQ_CST))) == seen)
        pthread_cond_wait(&p->wake, &p->mu);
    __atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->mu);
    return gen;
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    pithrt_pool *p = wk->p;
    uint64_t seen = 0;
    for (;;) {
        /* `seen` is the generation that woke this thread, read before stop:
         * taking a newer one here could skip the stop's own generation and
         * leave this thread asleep while pithrt_pool_free joins it */
        seen = wait_for_loop(p, seen);
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
            return NULL;
        run_tasks(p, wk->index);
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
    p->stretch = SOLO_MIN;
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

/* Publishes a new word (a new generation) and wakes the sleepers. */
static void publish(pithrt_pool *p, int tasks)
{
    uint64_t gen = (loop_gen(__atomic_load_n(&p->loop, __ATOMIC_RELAXED)) + 1) & 0xffff;
    uint64_t w = gen << (2 * TASK_BITS) | (uint64_t)tasks << TASK_BITS;
    __atomic_store_n(&p->loop, w, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
}

void pithrt_pool_free(pithrt_pool *p)
{
    if (!p)
        return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    publish(p, 0);
    pthread_mutex_lock(&p->mu);
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
    if (!p || tasks < 2 || tasks > MAX_TASKS || p->solo > 0) {
        if (p && p->solo > 0)
            p->solo--;
        for (int t = 0; t < tasks; t++)
            fn(arg, t, 0);
        return;
    }
    /* the previous loop is complete (every task finished), so no thread reads
     * fn or arg now: they are only read after a successful claim */
    p->fn = fn;
    p->arg = arg;
    __atomic_store_n(&p->finished, 0, __ATOMIC_RELAXED);
    int64_t start = now_ns();
    publish(p, tasks);
    run_tasks(p, 0);
    /* what is left is tasks other threads are running now */
    int64_t mine = now_ns(), until = mine + SPIN_NS;
    for (int i = 1; __atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < tasks; i++) {
        cpu_relax();
        if (!(i & 63) && now_ns() > until) {
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < tasks)
                pthread_cond_wait(&p->done_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
    int64_t held = now_ns() - mine;
    if (held > HOLD_NS && held > mine - start) {
        p->solo = p->stretch;
        p->stretch = p->stretch < SOLO_MAX ? 2 * p->stretch : SOLO_MAX;
    } else if (p->stretch > SOLO_MIN) {
        p->stretch /= 2;
    }
}
#endif
