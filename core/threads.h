/* Thread count for OpenMP loops and OpenBLAS (the OpenMP build, one pool). */
#ifndef PITH_THREADS_H
#define PITH_THREADS_H

/* n <= 0: all cores. Returns the count in effect. */
int pith_set_threads(int n);
int pith_get_threads(void);

#endif
