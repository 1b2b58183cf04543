#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *pith_last_error(void) { return last_error; }

void pith_clear_error(void) { last_error[0] = '\0'; }

int pith_error(int status, const char *fmt, ...)
{
    /* formatted aside first: an argument may be pith_last_error() itself
     * ("node 'x': <the message before>"), and vsnprintf must not overlap */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return status;
}

const char *pith_status_name(int status)
{
    switch (status) {
    case PITH_OK: return "ok";
    case PITH_EINVAL: return "invalid argument";
    case PITH_ENOMEM: return "out of memory";
    case PITH_EIO: return "i/o error";
    case PITH_EFORMAT: return "bad file format";
    case PITH_ESHAPE: return "shape mismatch";
    case PITH_ENUM: return "non-finite number";
    case PITH_ESTATE: return "wrong state";
    default: return "unknown error";
    }
}
