/* Shared test helpers (cmocka). */
#ifndef PITH_TESTUTIL_H
#define PITH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../core/error.h"
#include "../core/graph.h"

/* Fails the test with pith_last_error() when rc != 0. */
#define CHECK_OK(expr)                                                                  \
    do {                                                                                \
        int rc_ = (expr);                                                               \
        if (rc_ != 0)                                                                   \
            fail_msg("%s returned %d: %s", #expr, rc_, pith_last_error());             \
    } while (0)

/* Asserts that the last error message contains `needle`. */
#define CHECK_ERROR_HAS(needle)                                                         \
    do {                                                                                \
        if (!strstr(pith_last_error(), (needle)))                                       \
            fail_msg("error '%s' does not mention '%s'", pith_last_error(), (needle));  \
    } while (0)

/* A fresh empty directory under /tmp for this test process. */
const char *tu_tmpdir(void);
/* tmpdir + "/" + name, in one of 4 rotating buffers: copy it to keep it. */
const char *tu_path(const char *name);
/* Fills x with U(lo, hi) from seed. */
void tu_fill(float *x, size_t n, float lo, float hi, uint64_t seed);
/* Writes bytes to a file; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* Writes text to tu_path(name) (asserting it worked); returns that path. */
const char *tu_write_text(const char *name, const char *text);
/* Reads a whole file (malloc'd, NUL-terminated); returns NULL on failure. */
void *tu_read_file(const char *path, size_t *n);
/* Is the Fashion-MNIST package installed? */
int tu_have_fmnist(void);

#endif
