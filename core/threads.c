#include "threads.h"

#include <cblas.h>
#include <omp.h>

int pith_set_threads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    return n;
}

int pith_get_threads(void) { return omp_get_max_threads(); }
