/* Shared by the runtime's files (not part of the API). */
#ifndef PITHRT_INTERNAL_H
#define PITHRT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

#define PITHRT_ARENA_ALIGN 64u

#endif
