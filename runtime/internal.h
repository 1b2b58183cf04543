/* Shared by the runtime's files (not part of the API). */
#ifndef PITHRT_INTERNAL_H
#define PITHRT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "pithrt.h"

uint32_t pithrt_crc32(const uint8_t *p, size_t n);
/* Places every activation tensor in the arena; fills m->act_offset,
 * act_bytes, lower_bound and scratch_bytes. */
int pithrt_plan(pithrt_model *m);
/* Elements of a tensor. */
size_t pithrt_tensor_elems(const pithrt_tensor *t);
/* Bytes a tensor of this type and element count occupies. */
size_t pithrt_dtype_bytes(int dtype, size_t elems);
/* 1 if the op may write its output over its first input. */
int pithrt_op_inplace(const pithrt_op *op);

/* A tensor's dims as C x H x W (a vector of n is 1 x 1 x n). */
void pithrt_dims3(const pithrt_tensor *t, int32_t *d);
/* An int8 binary op's operands in the order the op applies them (a constant
 * first when the op says so), in an arena, and its output's dims. */
void pithrt_binary_s8_operands(const pithrt_model *m, const pithrt_op *o, const uint8_t *arena, pithrt_operand *first,
                               pithrt_operand *second, int32_t *yd);

#define PITHRT_ARENA_ALIGN 64u

#endif
