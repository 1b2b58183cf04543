/* The model zoo: named architectures built as graphs. */
#ifndef PITH_ZOO_H
#define PITH_ZOO_H

#include "graph.h"

typedef struct pith_zoo_entry {
    const char *name;
    const char *about;
} pith_zoo_entry;

/* NULL-terminated list of models. */
extern const pith_zoo_entry pith_zoo[];

/* Builds `name` for inputs of shape (c, h, w) and `classes` outputs; weights
 * initialised as PyTorch does by default, from `seed`. */
int pith_zoo_build(const char *name, int c, int h, int w, int classes, uint64_t seed,
                   pith_graph **g);

#endif
