/* Optimizers over every trainable, unfrozen parameter of a graph.
 * SGD follows torch.optim.SGD (weight decay added to the gradient, momentum
 * buffer b = mu*b + g, Nesterov g + mu*b); AdamW follows torch.optim.AdamW
 * (decoupled decay w -= lr*wd*w, bias-corrected moments). */
#ifndef PITH_OPTIM_H
#define PITH_OPTIM_H

#include <stdint.h>

#include "graph.h"

typedef enum { PITH_OPTIM_SGD = 0, PITH_OPTIM_ADAMW = 1 } pith_optim_kind;

typedef struct pith_optim_config {
    pith_optim_kind kind;
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float weight_decay;
    float beta1, beta2, eps; /* AdamW */
} pith_optim_config;

/* Per-parameter state, in graph order (node, then parameter). */
typedef struct pith_optim_slot {
    pith_param *p;
    int node;
    float *m;   /* SGD momentum buffer, or Adam first moment */
    float *v;   /* Adam second moment, NULL for SGD */
} pith_optim_slot;

typedef struct pith_optim {
    pith_optim_config cfg;
    int64_t steps;          /* updates taken (Adam bias correction) */
    int n_slots;
    pith_optim_slot *slots;
} pith_optim;

pith_optim_config pith_optim_defaults(pith_optim_kind kind);
const char *pith_optim_name(pith_optim_kind kind);
int pith_optim_parse(const char *name, pith_optim_kind *kind);

int pith_optim_create(pith_optim **o, pith_graph *g, const pith_optim_config *cfg);
void pith_optim_free(pith_optim *o);
/* One update with learning rate lr. Returns an error if a gradient is not finite. */
int pith_optim_step(pith_optim *o, float lr);

#endif
