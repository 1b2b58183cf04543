/* Status codes and the last-error message. Library code never prints or exits:
 * it returns a negative status and leaves a message for pith_last_error(). */
#ifndef PITH_ERROR_H
#define PITH_ERROR_H

enum {
    PITH_OK = 0,
    PITH_EINVAL = -1,   /* bad argument or configuration */
    PITH_ENOMEM = -2,
    PITH_EIO = -3,      /* cannot open/read/write a file */
    PITH_EFORMAT = -4,  /* file content is not what was expected */
    PITH_ESHAPE = -5,   /* shapes do not fit */
    PITH_ENUM = -6,     /* NaN or Inf where a number was required */
    PITH_ESTATE = -7,   /* call made in the wrong state (e.g. graph not compiled) */
};

/* Message of the most recent error on this thread ("" if none). */
const char *pith_last_error(void);
/* Sets the message (printf-style) and returns status, so callers can write
 * `return pith_error(PITH_EINVAL, "...", ...);`. */
int pith_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pith_clear_error(void);
const char *pith_status_name(int status);

#endif
